"""Views: figures and self-contained HTML for each stage. Each submodule is one view family."""

from . import token_chips
from . import embedding_plots
from . import size_plots
