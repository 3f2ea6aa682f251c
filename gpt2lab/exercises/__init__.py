"""Checkers for the exercises at the end of each notebook. Each submodule serves one notebook."""

from gpt2lab.exercises import checks, tokenization
from gpt2lab.exercises import embeddings
from gpt2lab.exercises import model_sizes
from gpt2lab.exercises import attention
from gpt2lab.exercises import transformer_block
from gpt2lab.exercises import fine_tuning
from gpt2lab.exercises import start_here
from gpt2lab.exercises import sampling
from gpt2lab.exercises import generation
from gpt2lab.exercises import how_gpt2_learned
from gpt2lab.exercises import capstone
from gpt2lab.exercises import why_this_token
