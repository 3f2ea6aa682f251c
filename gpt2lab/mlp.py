"""The MLP of each block: widen four times, apply GELU, narrow back.

Attention moves information between positions; the MLP then works on each position on its own.
"""

from __future__ import annotations

import math

import torch

from .linear import linear


def gelu_new(x: torch.Tensor) -> torch.Tensor:
    """GELU in the tanh approximation that GPT-2 was trained with (Hugging Face calls it "gelu_new").

    0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3))). Close to ReLU for large |x|, smooth near 0.

    >>> gelu_new(torch.tensor([0.0, 3.0]))
    tensor([0.0000, 2.9964])
    """
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def gelu(x: torch.Tensor) -> torch.Tensor:
    """The exact GELU, x * Phi(x), with Phi the standard normal's CDF (for configs that ask for "gelu")."""
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


ACTIVATION_FUNCTIONS = {"gelu_new": gelu_new, "gelu": gelu}


def mlp_hidden(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """The MLP's first layer, before the non-linearity. x: (T, d_model). Returns (T, d_mlp)."""
    return linear(x, weight, bias)  # (T, d_mlp)


def mlp_output(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """The MLP's second layer, back to the residual width. h: (T, d_mlp). Returns (T, d_model)."""
    return linear(h, weight, bias)  # (T, d_model)
