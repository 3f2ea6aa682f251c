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
    positions = torch.arange(start, start + length, device=wpe.device)  # (T,)
    return wpe[positions]  # (T, d_model)  a lookup by position, just like the token lookup


def nearest_tokens(wte: torch.Tensor, token_id: int, k: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` tokens whose embeddings point most nearly the same way as ``token_id``'s (itself excluded).

    Similarity is the cosine of the angle between embedding vectors, from -1 to 1.
    Returns (ids, similarities), each (k,), most similar first.

    >>> nearest_tokens(torch.tensor([[1., 0.], [0., 1.], [1., 0.1]]), 0, k=1)
    (tensor([2]), tensor([0.9950]))
    """
    unit = wte / wte.norm(dim=-1, keepdim=True)  # (vocab_size, d_model)  every row of length 1
    similarity = unit @ unit[token_id]  # (vocab_size,)
    similarity[token_id] = float("-inf")  # a token is always most similar to itself
    top = similarity.topk(k)
    return top.indices, top.values


def cosine_similarity_matrix(vectors: torch.Tensor) -> torch.Tensor:
    """Cosine similarity between every pair of rows. vectors: (N, d). Returns (N, N).

    >>> cosine_similarity_matrix(torch.tensor([[1., 0.], [0., 2.]]))
    tensor([[1., 0.],
            [0., 1.]])
    """
    unit = vectors / vectors.norm(dim=-1, keepdim=True)  # (N, d)
    return unit @ unit.T  # (N, N)
