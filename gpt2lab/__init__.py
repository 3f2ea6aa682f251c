"""gpt2lab: GPT-2, stage by stage, in plain PyTorch, equal to Hugging Face ``transformers``.

    lab = gpt2lab.load()                # real GPT-2 when it can be had, else the embedded model
    trace = lab.trace("The cat sat")    # every stage of the forward pass, by name
    trace["blocks.0.attn.pattern"]      # (n_head, T, T)

Axis glossary (used in every shape comment):
    T          positions computed in this call (the tokens of the input)
    T_all      positions attended to: T, plus those already in a KV cache
    d_model    width of the residual stream (768 in GPT-2 small)
    n_head     attention heads per block; d_head = d_model // n_head
    d_mlp      width of the MLP's hidden layer, 4 * d_model
    vocab_size tokens the model knows (50,257 in GPT-2)
    n_ctx      the context window: most positions the model can see (1,024 in GPT-2)
"""

from .bpe_training import train_bpe
from .cache import KVCache
from .classify import ClassifyConfig, build_classifier, evaluate_classifier, train_classifier
from .config import ModelConfig
from .errors import LabError
from .essay import write_essay
from .finetune import FineTuneConfig, finetune_lm, save_finetuned
from .generation import GenerationResult, Step, Stepper, generate
from .lab import Lab, pick_device
from .loading import EMBEDDED_NAME, HF_NAMES, load
from .logit_lens import LogitLens, logit_lens
from .names import BLOCK_STAGES, stage_names
from .presenter import display_mode, set_display_mode
from .residual_stream import residual_contributions, residual_stream
from .sampling import SamplingSettings
from .tokenizer import BPETokenizer, gpt2_tokenizer
from .trace import Trace

__version__ = "0.1.0"

__all__ = [
    "GenerationResult",
    "SamplingSettings",
    "Step",
    "Stepper",
    "LogitLens",
    "ClassifyConfig",
    "FineTuneConfig",
    "BPETokenizer",
    "BLOCK_STAGES",
    "EMBEDDED_NAME",
    "HF_NAMES",
    "KVCache",
    "Lab",
    "LabError",
    "ModelConfig",
    "Trace",
    "build_classifier",
    "evaluate_classifier",
    "finetune_lm",
    "generate",
    "gpt2_tokenizer",
    "load",
    "logit_lens",
    "pick_device",
    "residual_contributions",
    "residual_stream",
    "save_finetuned",
    "display_mode",
    "set_display_mode",
    "stage_names",
    "train_bpe",
    "train_classifier",
    "write_essay",
]
