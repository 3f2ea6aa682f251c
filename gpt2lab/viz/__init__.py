"""Views: figures and self-contained HTML for each stage. Each submodule is one view family."""

from gpt2lab.viz import token_chips
from gpt2lab.viz import embedding_plots
from gpt2lab.viz import size_plots
from gpt2lab.viz import figures
from gpt2lab.viz import attention_plots
from gpt2lab.viz import block_plots
from gpt2lab.viz import lens_views
from gpt2lab.viz import bertviz_views
from gpt2lab.viz import finetune_plots
from gpt2lab.viz import sampling_plots
