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

from gpt2lab.errors import LabError
from gpt2lab.lab import Lab, pick_device
from gpt2lab.loading import EMBEDDED_NAME, HF_NAMES, load

# the model: GPT-2's stages
from gpt2lab.model.cache import KVCache
from gpt2lab.model.config import ModelConfig
from gpt2lab.model.names import BLOCK_STAGES, stage_names
from gpt2lab.model.trace import Trace

# text to ids and back
from gpt2lab.tokenizer.bpe import BPETokenizer, gpt2_tokenizer
from gpt2lab.tokenizer.bpe_training import train_bpe

# from logits to text
from gpt2lab.generation.beam import BeamResult, beam_search
from gpt2lab.generation.loop import GenerationResult, Step, generate
from gpt2lab.generation.stepper import Stepper
from gpt2lab.generation.sampling import SamplingSettings

# looking inside
from gpt2lab.analysis.attribution import direct_logit_attribution
from gpt2lab.analysis.logit_lens import LogitLens, logit_lens
from gpt2lab.analysis.patching import patch_residual
from gpt2lab.analysis.residual_stream import residual_contributions, residual_stream
from gpt2lab.analysis.surprisal import surprisal

# training
from gpt2lab.training.classify import ClassifyConfig, build_classifier, evaluate_classifier, train_classifier
from gpt2lab.training.finetune import FineTuneConfig, finetune_lm, save_finetuned
from gpt2lab.training.optim import OptimizerConfig

# views and front ends
from gpt2lab.apps.essay import write_essay
from gpt2lab.viz.presenter import display_mode, set_display_mode

__version__ = "0.1.0"

__all__ = [
    "BeamResult",
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
    "OptimizerConfig",
    "beam_search",
    "build_classifier",
    "direct_logit_attribution",
    "evaluate_classifier",
    "finetune_lm",
    "generate",
    "gpt2_tokenizer",
    "load",
    "logit_lens",
    "patch_residual",
    "pick_device",
    "residual_contributions",
    "residual_stream",
    "save_finetuned",
    "display_mode",
    "set_display_mode",
    "stage_names",
    "surprisal",
    "train_bpe",
    "train_classifier",
    "write_essay",
]
