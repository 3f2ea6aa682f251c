"""The affine map every GPT-2 projection uses: ``x @ weight + bias``."""

from __future__ import annotations

import torch


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``x @ weight + bias`` with GPT-2's (d_in, d_out) weight layout.

    x: (..., T, d_in); weight: (d_in, d_out); bias: (d_out,). Returns (..., T, d_out).
    ``torch.addmm`` computes exactly this in one call, as Hugging Face's ``Conv1D`` does; a batch of
    sequences is flattened into one tall matrix first, as ``Conv1D`` does too.

    >>> linear(torch.tensor([[1., 2.]]), torch.tensor([[1., 0., 1.], [0., 1., 1.]]), torch.tensor([0., 0., 10.]))
    tensor([[ 1.,  2., 13.]])
    """
    if x.dim() == 2:
        return torch.addmm(bias, x, weight)  # (T, d_out)
    flat = torch.addmm(bias, x.reshape(-1, x.shape[-1]), weight)  # (B * T, d_out)
    return flat.view(*x.shape[:-1], weight.shape[-1])  # (..., T, d_out)
