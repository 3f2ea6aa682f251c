"""Interactive views built from core ipywidgets only. Each submodule is one widget."""

from . import tokenizer_widget
from . import attention_explorer
from . import loss_curve_widget
from . import controls
from . import stepper_widget
from . import sampling_lab
from . import essay_widget
