"""Interactive views built from core ipywidgets only. Each submodule is one widget."""

from . import tokenizer_widget
from . import attention_explorer
from . import loss_curve_widget
