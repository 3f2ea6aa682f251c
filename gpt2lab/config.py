"""The shape of a GPT-2 model, as one small dataclass.

Hugging Face's ``GPT2Config`` carries dozens of fields; the forward pass of this kit needs only these.
``ModelConfig.from_hf`` reads them off a ``GPT2Config`` and refuses the few options that change the
arithmetic in ways the course does not teach (so a learner is never shown numbers that differ from GPT-2).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import LabError


@dataclass(frozen=True)
class ModelConfig:
    n_layer: int  # number of transformer blocks (12 for GPT-2 small)
    n_head: int  # attention heads per block (12 for GPT-2 small)
    d_model: int  # width of the residual stream (768 for GPT-2 small)
    n_ctx: int  # context window: the most tokens the model can see at once (1,024 for GPT-2)
    vocab_size: int  # number of tokens the model knows (50,257 for GPT-2)
    layer_norm_eps: float = 1e-5  # added to the variance inside every LayerNorm, so we never divide by 0
    activation: str = "gelu_new"  # the MLP's non-linearity: GPT-2 uses the tanh approximation of GELU

    @property
    def d_head(self) -> int:
        """Width of one attention head: the residual stream is split evenly across heads."""
        return self.d_model // self.n_head

    @property
    def d_mlp(self) -> int:
        """Width of the MLP's hidden layer: four times the residual stream in every GPT-2."""
        return 4 * self.d_model

    @classmethod
    def from_hf(cls, hf_config) -> "ModelConfig":
        """Read the fields the forward pass needs from a ``transformers.GPT2Config``."""
        unsupported = {
            "scale_attn_weights": (getattr(hf_config, "scale_attn_weights", True), True),
            "scale_attn_by_inverse_layer_idx": (getattr(hf_config, "scale_attn_by_inverse_layer_idx", False), False),
            "reorder_and_upcast_attn": (getattr(hf_config, "reorder_and_upcast_attn", False), False),
        }
        for field, (value, gpt2_value) in unsupported.items():
            if value != gpt2_value:
                raise LabError(f"This model sets {field}={value}, which GPT-2 does not; gpt2lab only traces GPT-2's own arithmetic.")
        n_inner = getattr(hf_config, "n_inner", None)
        if n_inner not in (None, 4 * hf_config.n_embd):
            raise LabError(f"This model's MLP is {n_inner} wide, not 4 x {hf_config.n_embd} as in GPT-2; gpt2lab only traces GPT-2's shape.")
        if hf_config.activation_function not in ACTIVATIONS:
            raise LabError(
                f"This model uses the activation {hf_config.activation_function!r}; gpt2lab knows {', '.join(ACTIVATIONS)}."
            )
        return cls(
            n_layer=hf_config.n_layer,
            n_head=hf_config.n_head,
            d_model=hf_config.n_embd,
            n_ctx=hf_config.n_positions,
            vocab_size=hf_config.vocab_size,
            layer_norm_eps=hf_config.layer_norm_epsilon,
            activation=hf_config.activation_function,
        )


# The activations the MLP stage implements (see mlp.py); GPT-2 and distilgpt2 both use "gelu_new".
ACTIVATIONS = ("gelu_new", "gelu")
