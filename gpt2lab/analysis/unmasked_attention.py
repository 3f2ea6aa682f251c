"""Unmasked (BERT-style) attention: the same scores, softmaxed without the causal mask.

GPT-2 predicts the next token, so position t may only read positions 0..t: the causal mask sets every
score above the diagonal to -inf before softmax. An encoder such as BERT reads the whole input at once and
uses no mask, so every query spreads its weight over keys before AND after it. Applying both to the same
scores shows exactly what the mask takes away.

    scores = trace["blocks.0.attn.scores"]          # (n_head, T, T)
    causal = trace["blocks.0.attn.pattern"]         # what GPT-2 computes
    both_ways = unmasked_pattern(scores)            # what it would be without the mask
"""

from __future__ import annotations

import torch

from gpt2lab.model.attention import causal_mask


def unmasked_pattern(scores: torch.Tensor) -> torch.Tensor:
    """Softmax each row of the scores with no mask: every query may look at every key.

    scores: (n_head, T, T_all). Returns (n_head, T, T_all); rows sum to 1, and nothing is forced to 0.

    >>> unmasked_pattern(torch.zeros(1, 2, 2))
    tensor([[[0.5000, 0.5000],
             [0.5000, 0.5000]]])
    """
    return torch.softmax(scores, dim=-1)  # (n_head, T, T_all)


def weight_on_future(pattern: torch.Tensor) -> torch.Tensor:
    """How much of each query's weight goes to keys after it (0 for every row of a causal pattern).

    pattern: (n_head, T, T_all). Returns (n_head, T).

    >>> weight_on_future(torch.tensor([[[0.25, 0.75], [0.5, 0.5]]]))
    tensor([[0.7500, 0.0000]])
    """
    T, T_all = pattern.shape[-2:]
    future = causal_mask(T, T_all, pattern.device)  # (T, T_all)  True at keys after the query
    return (pattern * future).sum(dim=-1)  # (n_head, T)
