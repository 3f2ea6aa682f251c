"""Views: figures and self-contained HTML for each stage. Each submodule is one view family."""

from . import token_chips
from . import embedding_plots
from . import size_plots
from . import figures
from . import attention_plots
from . import block_plots
from . import lens_views
from . import bertviz_views
from . import finetune_plots
from . import sampling_plots
