"""Checkers for the exercises at the end of each notebook. Each submodule serves one notebook."""

from . import checks, tokenization
from . import embeddings
from . import model_sizes
from . import attention
from . import transformer_block
from . import fine_tuning
from . import start_here
from . import sampling
from . import generation
