"""Surprisal: how expected each token of a text was, given the tokens before it.

At every position GPT-2 gives a probability to every possible next token. Reading a text, we can ask
what probability the model gave to the token that really came next: a high probability means "as
expected", a low one "surprising". The rank says the same on a scale that does not depend on how spread
the distribution is (1 = the model's favourite). GLTR (Gehrmann, Strobelt and Rush, 2019) colours each
token by rank bucket: top 10, top 100, top 1,000, beyond.

The text's *perplexity* is exp(mean negative log-likelihood) over every token after the first: the number
of equally likely tokens the model was choosing between, on average. It equals exp of Hugging Face's loss.
The first token has no surprisal: nothing came before it to predict it from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from gpt2lab.errors import LabError

RANK_BUCKETS = (10, 100, 1000)  # GLTR's buckets: rank <= 10, <= 100, <= 1000, and beyond


@dataclass(frozen=True)
class Surprisal:
    """Every token of a text after the first, with what the model expected at its position."""

    model: str  # which model read the text (lab.name)
    ids: torch.Tensor  # (T,)  the text's token ids
    tokens: list[str]  # (T,)  their display strings
    probs: torch.Tensor  # (T - 1,)  probability the model gave token t + 1, reading tokens 0..t
    ranks: torch.Tensor  # (T - 1,)  its rank among all tokens (1 = the model's favourite)
    top_ids: torch.Tensor  # (T - 1, k)  the k most probable tokens at each of those positions
    top_probs: torch.Tensor  # (T - 1, k)  ... and their probabilities
    top_tokens: list[list[str]]  # (T - 1, k)  ... and how they read
    perplexity: float  # exp(mean negative log-likelihood of tokens 1..T-1)

    @property
    def surprisal_bits(self) -> torch.Tensor:
        """(T - 1,): -log2 p, the surprise of each token in bits (1 bit = a coin toss)."""
        return -torch.log2(self.probs)

    def buckets(self) -> list[int]:
        """Each token's GLTR bucket: 0 for rank <= 10, 1 for <= 100, 2 for <= 1000, 3 beyond."""
        return [rank_bucket(int(r)) for r in self.ranks]

    def __repr__(self) -> str:
        return f"Surprisal({self.model!r}: {len(self.tokens)} tokens, perplexity {self.perplexity:.2f})"


def rank_bucket(rank: int) -> int:
    """0 for rank 1-10, 1 for 11-100, 2 for 101-1,000, 3 beyond (GLTR's four colours).

    >>> [rank_bucket(r) for r in (1, 10, 11, 1000, 1001)]
    [0, 0, 1, 2, 3]
    """
    return sum(rank > limit for limit in RANK_BUCKETS)


def token_ranks(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """The rank of ``ids[t]`` among ``logits[t]``: 1 + how many tokens scored strictly higher.

    logits: (T, vocab); ids: (T,). Returns (T,) long.

    >>> token_ranks(torch.tensor([[0.1, 3.0, 2.0]]), torch.tensor([2]))
    tensor([2])
    """
    chosen = logits.gather(-1, ids[:, None])  # (T, 1)
    return (logits > chosen).sum(dim=-1) + 1  # (T,)


def surprisal(lab, text_or_ids, top_k: int = 5) -> Surprisal:
    """Read a text with the lab's model and report, for every token after the first, how expected it was.

    >>> s = lab.surprisal("It is a truth universally acknowledged")   # doctest: +SKIP
    >>> s.probs[0], s.ranks[0], s.perplexity                             # doctest: +SKIP
    """
    ids = lab.to_ids(text_or_ids)
    if len(ids) < 2:
        raise LabError("Surprisal needs at least two tokens: the first one has nothing before it to be predicted from.")
    if not 1 <= int(top_k) <= lab.config.vocab_size:
        raise LabError(f"top_k must be between 1 and {lab.config.vocab_size:,}.")
    logits = lab.trace(ids, keep=["logits"]).logits[:-1].float()  # (T - 1, vocab): position t predicts token t + 1
    following = ids[1:].to(logits.device)  # (T - 1,)
    log_probs = torch.log_softmax(logits, dim=-1)  # (T - 1, vocab)
    chosen_log_probs = log_probs.gather(-1, following[:, None])[:, 0]  # (T - 1,)
    top_log_probs, top_ids = log_probs.topk(int(top_k), dim=-1)  # 2 x (T - 1, k)
    return Surprisal(
        model=lab.name,
        ids=ids,
        tokens=lab.token_strings(ids),
        probs=chosen_log_probs.exp(),
        ranks=token_ranks(logits, following),
        top_ids=top_ids,
        top_probs=top_log_probs.exp(),
        top_tokens=[lab.token_strings(row) for row in top_ids.tolist()],
        perplexity=math.exp(-chosen_log_probs.mean().item()),
    )
