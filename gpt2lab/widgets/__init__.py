"""Interactive views built from core ipywidgets only. Each submodule is one widget."""

from gpt2lab.widgets import tokenizer_widget
from gpt2lab.widgets import attention_explorer
from gpt2lab.widgets import loss_curve_widget
from gpt2lab.widgets import controls
from gpt2lab.widgets import stepper_widget
from gpt2lab.widgets import sampling_lab
from gpt2lab.widgets import essay_widget
