"""LayerNorm: centre each vector, scale it to unit variance, then apply a learned scale and shift.

GPT-2 is a *pre-LN* transformer: each block normalises its input before attention and before the MLP,
and one final LayerNorm sits after the last block.
"""

from __future__ import annotations

import torch


def layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float) -> torch.Tensor:
    """Normalise each row of ``x`` over its last axis, then scale by ``weight`` and shift by ``bias``.

    x: (T, d_model). Returns (T, d_model). The variance is the biased one (divide by d, not d - 1),
    as in ``torch.nn.LayerNorm``.

    >>> layer_norm(torch.tensor([[1., 3.]]), torch.ones(2), torch.zeros(2), eps=0.0)
    tensor([[-1.,  1.]])
    """
    mean = x.mean(dim=-1, keepdim=True)  # (T, 1)
    var = x.var(dim=-1, keepdim=True, unbiased=False)  # (T, 1)
    x_hat = (x - mean) / torch.sqrt(var + eps)  # (T, d_model)  each row: mean 0, variance 1
    return x_hat * weight + bias  # (T, d_model)
