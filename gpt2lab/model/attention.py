"""Masked multi-head self-attention, one visible step per function.

For every position, each head asks a question (the query q), every position offers a label (the key k)
and a message (the value v). The score of query t for key s is their dot product divided by
sqrt(d_head); the causal mask forbids looking at later positions; softmax turns each row of scores into
weights that sum to 1 (the *pattern*); each head's output z is the weighted sum of values. The heads are
concatenated and projected back to the residual stream.

Axes: T is the number of positions computed in this call, T_all the number of positions attended to
(T_all = T for a fresh sequence; with a KV cache, T_all = positions cached + T).
"""

from __future__ import annotations

import torch

from gpt2lab.model.linear import linear


def split_heads(x: torch.Tensor, n_head: int) -> torch.Tensor:
    """Cut the last axis into ``n_head`` equal slices, one per head.

    x: (..., T, d_model). Returns (..., n_head, T, d_head) with d_head = d_model // n_head.

    >>> split_heads(torch.arange(4.).reshape(1, 4), n_head=2)
    tensor([[[0., 1.]],
    <BLANKLINE>
            [[2., 3.]]])
    """
    *batch, T, d_model = x.shape
    return x.view(*batch, T, n_head, d_model // n_head).transpose(-3, -2)  # (..., n_head, T, d_head)


def merge_heads(z: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`split_heads`: put the heads side by side again.

    z: (..., n_head, T, d_head). Returns (..., T, n_head * d_head).
    """
    *batch, n_head, T, d_head = z.shape
    return z.transpose(-3, -2).reshape(*batch, T, n_head * d_head)  # (..., T, d_model)


def query_key_value(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, n_head: int):
    """Project the normalised residual stream to queries, keys and values, split into heads.

    GPT-2 keeps the three projections in one (d_model, 3 * d_model) matrix: columns [0, d) make q,
    [d, 2d) make k and [2d, 3d) make v. x: (..., T, d_model). Returns q, k, v, each (..., n_head, T, d_head).
    """
    qkv = linear(x, weight, bias)  # (T, 3 * d_model)
    q, k, v = qkv.split(x.shape[-1], dim=-1)  # 3 x (T, d_model)
    return split_heads(q, n_head), split_heads(k, n_head), split_heads(v, n_head)


def attention_scores(q: torch.Tensor, k: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    """How well each query matches each key: ``q @ k.T / sqrt(d_head)``, before any mask.

    Dividing by sqrt(d_head) keeps the scores' spread independent of the head width, so softmax does not
    saturate. q: (..., n_head, T, d_head); k: (..., n_head, T_all, d_head). Returns (..., n_head, T, T_all).
    ``scale`` replaces 1/sqrt(d_head) for checkpoints that scale otherwise (see
    :meth:`~gpt2lab.model.config.ModelConfig.attention_scale`).

    >>> attention_scores(torch.tensor([[[1., 1.]]]), torch.tensor([[[2., 0.], [1., 1.]]]))
    tensor([[[1.4142, 1.4142]]])
    """
    if scale is None:
        scale = q.shape[-1] ** -0.5  # 1 / sqrt(d_head), written as Hugging Face writes it
    return torch.matmul(q, k.transpose(-1, -2)) * scale  # (..., n_head, T, T_all)


def causal_mask(T: int, T_all: int, device=None) -> torch.Tensor:
    """True where a query may NOT look: at keys later than itself.

    The T queries are the last T of the T_all positions, so query t sits at position T_all - T + t.

    >>> causal_mask(3, 3).int()
    tensor([[0, 1, 1],
            [0, 0, 1],
            [0, 0, 0]], dtype=torch.int32)
    """
    query_pos = torch.arange(T_all - T, T_all, device=device)[:, None]  # (T, 1)
    key_pos = torch.arange(T_all, device=device)[None, :]  # (1, T_all)
    return key_pos > query_pos  # (T, T_all)


def apply_causal_mask(scores: torch.Tensor) -> torch.Tensor:
    """Set every score above the diagonal to -inf, so softmax gives those keys exactly zero weight.

    scores: (..., T, T_all). Returns the same shape.
    """
    T, T_all = scores.shape[-2:]
    if T == 1:  # one new position (a generation step with the KV cache) may look at every position
        return scores
    return scores.masked_fill(causal_mask(T, T_all, scores.device), float("-inf"))


def attention_pattern(scores: torch.Tensor) -> torch.Tensor:
    """Mask the scores causally and softmax each row: the weights each query gives to each key.

    scores: (..., n_head, T, T_all). Returns the same shape; every row sums to 1, every cell above the
    diagonal is exactly 0.
    """
    return torch.softmax(apply_causal_mask(scores), dim=-1)  # (n_head, T, T_all)


def weighted_values(pattern: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Each query's mix of values: ``pattern @ v``.

    pattern: (..., n_head, T, T_all); v: (..., n_head, T_all, d_head). Returns z, (..., n_head, T, d_head).
    """
    return torch.matmul(pattern, v)  # (n_head, T, d_head)


def output_projection(z: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Concatenate the heads and project them back onto the residual stream.

    z: (..., n_head, T, d_head); weight: (d_model, d_model). Returns (..., T, d_model).
    """
    return linear(merge_heads(z), weight, bias)  # (T, d_model)
