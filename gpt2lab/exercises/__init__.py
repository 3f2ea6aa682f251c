"""Checkers for the exercises at the end of each notebook. Each submodule serves one notebook."""

from . import checks, tokenization
