"""LayerNorm, one step at a time, for one vector: centre, scale to unit variance, then scale and shift.

:func:`gpt2lab.layernorm.layer_norm` computes all of it in one call; :func:`layer_norm_steps` keeps each
step, so a figure can show what LayerNorm does to the numbers of one position.
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


@torch.no_grad()  # numbers to look at, not to train: the learned weight and bias carry no gradient here
def layer_norm_steps(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float) -> LayerNormSteps:
    """LayerNorm of ``x`` over its last axis, keeping each step; ``.output`` equals ``layer_norm(...)``.

    >>> s = layer_norm_steps(torch.tensor([1., 3.]), torch.ones(2), torch.zeros(2), eps=0.0)
    >>> s.mean, s.centred, s.normalised
    (tensor([2.]), tensor([-1.,  1.]), tensor([-1.,  1.]))
    """
    mean = x.mean(dim=-1, keepdim=True)  # (..., 1)
    centred = x - mean  # (..., d)
    # the biased variance (divide by d), as torch.nn.LayerNorm and GPT-2 use
    std = torch.sqrt(centred.pow(2).mean(dim=-1, keepdim=True) + eps)  # (..., 1)
    normalised = centred / std  # (..., d)
    return LayerNormSteps(x, mean, std, centred, normalised, normalised * weight + bias)
