"""The MLP of each block: widen four times, apply GELU, narrow back.

Attention moves information between positions; the MLP then works on each position on its own.
"""

from __future__ import annotations

import math

import torch

from gpt2lab.model.linear import linear


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


# Every activation Hugging Face's GPT2Config accepts in ``activation_function`` (transformers' ACT2FN),
# each written out as the formula it computes. GPT-2 and distilgpt2 use "gelu_new"; a lecturer's own
# checkpoint may use another, and the trace then shows exactly that one. ("prelu" and "xielu" carry
# learned parameters of their own, which GPT-2's MLP has no place for: those are refused.)
ACTIVATION_FUNCTIONS = {
    "gelu_new": gelu_new,
    "gelu": gelu,
    "gelu_python": gelu,
    "gelu_pytorch_tanh": gelu_new,  # the same tanh approximation, as PyTorch's F.gelu(approximate="tanh")
    "gelu_python_tanh": gelu_new,
    "gelu_accurate": gelu_new,
    "gelu_fast": lambda x: 0.5 * x * (1.0 + torch.tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x))),
    "gelu_10": lambda x: torch.clip(gelu(x), -10, 10),
    "quick_gelu": lambda x: x * torch.sigmoid(1.702 * x),
    "relu": torch.relu,
    "relu2": lambda x: torch.square(torch.relu(x)),
    "relu6": lambda x: torch.clamp(x, 0.0, 6.0),
    "leaky_relu": lambda x: torch.where(x >= 0, x, 0.01 * x),
    "silu": lambda x: x * torch.sigmoid(x),
    "swish": lambda x: x * torch.sigmoid(x),
    "hardswish": lambda x: x * torch.clamp(x + 3.0, 0.0, 6.0) / 6.0,
    "mish": lambda x: x * torch.tanh(torch.nn.functional.softplus(x)),
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "sqrtsoftplus": lambda x: torch.nn.functional.softplus(x).sqrt(),
    "laplace": lambda x: 0.5 * (1.0 + torch.erf((x - 0.707107) / (0.282095 * math.sqrt(2.0)))),
    "linear": lambda x: x,
}


def mlp_hidden(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """The MLP's first layer, before the non-linearity. x: (..., T, d_model). Returns (..., T, d_mlp)."""
    return linear(x, weight, bias)  # (T, d_mlp)


def mlp_output(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """The MLP's second layer, back to the residual width. h: (..., T, d_mlp). Returns (..., T, d_model)."""
    return linear(h, weight, bias)  # (T, d_model)
