"""LayerNorm: centre each vector, scale it to unit variance, then apply a learned scale and shift.

GPT-2 is a *pre-LN* transformer: each block normalises its input before attention and before the MLP,
and one final LayerNorm sits after the last block.

:func:`normalise` is LayerNorm itself, keeping each step; :func:`layer_norm` (what the forward pass calls)
is its output, and :func:`layer_norm_steps` (what a figure shows of one position) is all of it. One
computation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class LayerNormSteps:
    """Every intermediate of LayerNorm applied to one or more vectors."""

    x: torch.Tensor  # (..., d)  the input, e.g. one position of the residual stream
    mean: torch.Tensor  # (..., 1)  its mean over the d numbers
    std: torch.Tensor  # (..., 1)  its standard deviation, sqrt(variance + eps)
    centred: torch.Tensor  # (..., d)  x - mean: now the numbers average 0
    normalised: torch.Tensor  # (..., d)  centred / std: mean 0 and variance 1 (up to eps)
    output: torch.Tensor  # (..., d)  normalised * weight + bias: what the next layer reads


def normalise(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float) -> LayerNormSteps:
    """LayerNorm of ``x`` over its last axis, keeping each step: the one computation of LayerNorm.

    The variance is the biased one (divide by d, not d - 1), as in ``torch.nn.LayerNorm`` and GPT-2.

    >>> s = normalise(torch.tensor([1., 3.]), torch.ones(2), torch.zeros(2), eps=0.0)
    >>> s.mean, s.centred, s.normalised
    (tensor([2.]), tensor([-1.,  1.]), tensor([-1.,  1.]))
    """
    mean = x.mean(dim=-1, keepdim=True)  # (..., 1)
    var = x.var(dim=-1, keepdim=True, unbiased=False)  # (..., 1)
    std = torch.sqrt(var + eps)  # (..., 1)
    centred = x - mean  # (..., d)
    normalised = centred / std  # (..., d)  each row: mean 0, variance 1
    return LayerNormSteps(x, mean, std, centred, normalised, normalised * weight + bias)


@torch.no_grad()  # numbers to look at, not to train: the learned weight and bias carry no gradient here
def layer_norm_steps(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float) -> LayerNormSteps:
    """:func:`normalise` for a learner to look at: every step, as plain tensors; ``.output`` equals
    :func:`layer_norm` (the same computation)."""
    return normalise(x, weight, bias, eps)


def layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float) -> torch.Tensor:
    """Normalise each row of ``x`` over its last axis, then scale by ``weight`` and shift by ``bias``.

    x: (T, d_model). Returns (T, d_model). The variance is the biased one (divide by d, not d - 1),
    as in ``torch.nn.LayerNorm``.

    >>> layer_norm(torch.tensor([[1., 3.]]), torch.ones(2), torch.zeros(2), eps=0.0)
    tensor([[-1.,  1.]])
    """
    return normalise(x, weight, bias, eps).output  # (T, d_model)
