"""Stage 1: from token ids to vectors.

GPT-2 looks up one learned vector per token id and adds one learned vector per position. The position
vectors are parameters trained with the rest of the model, not the fixed sine/cosine encodings of the
original Transformer paper.
"""

from __future__ import annotations

import torch


def token_embedding(ids: torch.Tensor, wte: torch.Tensor) -> torch.Tensor:
    """Row ``ids[t]`` of the token embedding matrix for every position t.

    ids: (T,) token ids; wte: (vocab_size, d_model). Returns (T, d_model).

    >>> token_embedding(torch.tensor([2, 0]), torch.tensor([[0., 1.], [2., 3.], [4., 5.]]))
    tensor([[4., 5.],
            [0., 1.]])
    """
    return wte[ids]  # (T, d_model)


def position_embedding(start: int, length: int, wpe: torch.Tensor) -> torch.Tensor:
    """Rows ``start .. start+length-1`` of the learned position embedding matrix.

    ``start`` is 0 for a fresh sequence, or the number of tokens already in the KV cache.
    wpe: (n_ctx, d_model). Returns (length, d_model).

    >>> position_embedding(1, 2, torch.tensor([[0., 0.], [1., 1.], [2., 2.]]))
    tensor([[1., 1.],
            [2., 2.]])
    """
    return wpe[start : start + length]  # (T, d_model)
