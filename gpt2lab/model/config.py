"""The shape of a GPT-2 model, as one small dataclass.

Hugging Face's ``GPT2Config`` carries dozens of fields; the forward pass of this kit needs only these.
``ModelConfig.from_hf`` reads them off a ``GPT2Config``: the options a lecturer's own checkpoint may set
(another MLP width or activation, other attention scaling, an untied logits head) are traced exactly, and
the few that GPT-2's stages have no place for are refused in one sentence that names the option.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpt2lab.errors import LabError
from gpt2lab.model.mlp import ACTIVATION_FUNCTIONS


@dataclass(frozen=True)
class ModelConfig:
    n_layer: int  # number of transformer blocks (12 for GPT-2 small)
    n_head: int  # attention heads per block (12 for GPT-2 small)
    d_model: int  # width of the residual stream (768 for GPT-2 small)
    n_ctx: int  # context window: the most tokens the model can see at once (1,024 for GPT-2)
    vocab_size: int  # number of tokens the model knows (50,257 for GPT-2)
    layer_norm_eps: float = 1e-5  # added to the variance inside every LayerNorm, so we never divide by 0
    activation: str = "gelu_new"  # the MLP's non-linearity: GPT-2 uses the tanh approximation of GELU
    n_inner: int | None = None  # the MLP's hidden width, when a checkpoint sets one; GPT-2: None, i.e. 4 * d_model
    scale_attn_weights: bool = True  # divide attention scores by sqrt(d_head), as GPT-2 does
    scale_attn_by_inverse_layer_idx: bool = False  # also divide block i's scores by i + 1 (some later GPT-2 variants)
    reorder_and_upcast_attn: bool = False  # compute the scores in float32 even for fp16 weights (Mistral's GPT-2s)
    tie_word_embeddings: bool = True  # the logits head is the token embedding (GPT-2), or a matrix of its own
    embd_pdrop: float = 0.1  # dropout on the embeddings' sum, when training
    attn_pdrop: float = 0.1  # dropout on the attention pattern, when training
    resid_pdrop: float = 0.1  # dropout on each sub-layer's output before it joins the stream, when training

    @property
    def d_head(self) -> int:
        """Width of one attention head: the residual stream is split evenly across heads."""
        return self.d_model // self.n_head

    @property
    def d_mlp(self) -> int:
        """Width of the MLP's hidden layer: four times the residual stream in every GPT-2."""
        return self.n_inner if self.n_inner is not None else 4 * self.d_model

    def attention_scale(self, layer: int) -> float:
        """What block ``layer`` multiplies q·k by: 1/sqrt(d_head) in GPT-2 (Hugging Face's arithmetic)."""
        scale = self.d_head**-0.5 if self.scale_attn_weights else 1.0
        if self.scale_attn_by_inverse_layer_idx:
            scale /= float(layer + 1)
        return scale

    @classmethod
    def from_hf(cls, hf_config) -> "ModelConfig":
        """Read the fields the forward pass needs from a ``transformers.GPT2Config``.

        Every option GPT2Config offers that changes GPT-2's arithmetic is either read here and traced
        exactly, or refused with a sentence that names it; nothing is traced wrong in silence.
        """
        if hf_config.activation_function not in ACTIVATIONS:
            known = ", ".join(ACTIVATIONS)
            raise LabError(f"This model sets activation_function={hf_config.activation_function!r}, which gpt2lab cannot "
                           f"trace (it knows {known}); choose one of those for the checkpoint.")
        if getattr(hf_config, "add_cross_attention", False):
            raise LabError("This model sets add_cross_attention=True (an encoder-decoder GPT-2); gpt2lab traces "
                           "decoder-only GPT-2, so load a checkpoint without cross-attention.")
        if hf_config.n_embd % hf_config.n_head:
            raise LabError(f"This model's width n_embd={hf_config.n_embd} does not split into n_head={hf_config.n_head} "
                           "equal heads; a GPT-2 needs n_embd divisible by n_head.")
        n_inner = getattr(hf_config, "n_inner", None)
        return cls(
            n_layer=hf_config.n_layer,
            n_head=hf_config.n_head,
            d_model=hf_config.n_embd,
            n_ctx=hf_config.n_positions,
            vocab_size=hf_config.vocab_size,
            layer_norm_eps=hf_config.layer_norm_epsilon,
            activation=hf_config.activation_function,
            n_inner=None if n_inner in (None, 4 * hf_config.n_embd) else int(n_inner),
            scale_attn_weights=bool(getattr(hf_config, "scale_attn_weights", True)),
            scale_attn_by_inverse_layer_idx=bool(getattr(hf_config, "scale_attn_by_inverse_layer_idx", False)),
            reorder_and_upcast_attn=bool(getattr(hf_config, "reorder_and_upcast_attn", False)),
            tie_word_embeddings=bool(getattr(hf_config, "tie_word_embeddings", True)),
            embd_pdrop=float(getattr(hf_config, "embd_pdrop", 0.1)),
            attn_pdrop=float(getattr(hf_config, "attn_pdrop", 0.1)),
            resid_pdrop=float(getattr(hf_config, "resid_pdrop", 0.1)),
        )


# The activations the MLP stage implements (see mlp.py); GPT-2 and distilgpt2 both use "gelu_new".
ACTIVATIONS = tuple(ACTIVATION_FUNCTIONS)
