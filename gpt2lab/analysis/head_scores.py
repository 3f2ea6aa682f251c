"""What each attention head does, measured: previous-token, first-token and induction scores.

Interpretability work on real GPT-2 found heads with recognisable jobs: *previous-token* heads (each
position reads the position just before it), heads that park their attention on the *first* token when
they have nothing better to do, and *induction* heads, which find an earlier occurrence of the current
token and read the token that came after it (``... A B ... A`` → look at ``B``), the basis of in-context
copying. Whether a particular model has them is a measurement, not a promise, so this module measures
them for the loaded model:

- previous-token score: the mean weight a query at position t puts on key t - 1 (t ≥ 1), over a text;
- first-token score: the mean weight a query puts on key 0 (t ≥ 1), over the same text;
- induction score: on random tokens repeated twice (``r + r``, each half L tokens long), the mean weight a
  query in the second half puts on the key just after its earlier copy (t - L + 1). Random tokens make
  the repeat the only way to predict anything, so only a head that copies scores well.

Every score is between 0 and 1: 1 means the head does that one thing with all its weight. A head that
spreads its weight evenly over ``n`` keys scores about 1/n.

    scores = head_scores(lab, "It is a truth universally acknowledged, that a single man")
    scores.strongest("induction")        # (layer, head, score) of the best induction head
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gpt2lab.errors import LabError
from gpt2lab.inputs import check_lab, check_seed, check_text, check_whole_number
from gpt2lab.model.names import block_stage

KINDS = ("previous_token", "first_token", "induction")


@dataclass(frozen=True)
class HeadScores:
    """Each head's three scores, as (n_layer, n_head) tensors on the lab's device."""

    previous_token: torch.Tensor  # (n_layer, n_head)  mean weight on the key just before the query
    first_token: torch.Tensor  # (n_layer, n_head)  mean weight on key 0
    induction: torch.Tensor  # (n_layer, n_head)  mean weight on the token after the query's earlier copy
    text_tokens: int  # length of the text the first two were measured on
    repeat_length: int  # L: the random half that is repeated for the induction score

    def of(self, kind: str) -> torch.Tensor:
        """The (n_layer, n_head) grid of one kind: ``"previous_token"``, ``"first_token"`` or ``"induction"``."""
        if kind not in KINDS:
            raise LabError(f"There is no head score called {kind!r}; use one of {', '.join(map(repr, KINDS))}.")
        return getattr(self, kind)

    def strongest(self, kind: str) -> tuple[int, int, float]:
        """The head that scores highest on ``kind``: ``(layer, head, score)``."""
        grid = self.of(kind)
        flat = int(grid.argmax())
        layer, head = divmod(flat, grid.shape[1])
        return layer, head, float(grid[layer, head])

    def table(self) -> list[tuple[str, int, int, float]]:
        """The strongest head of each kind, as rows ``(kind, layer, head, score)``."""
        return [(kind, *self.strongest(kind)) for kind in KINDS]


def diagonal_weight(pattern: torch.Tensor, offset: int) -> torch.Tensor:
    """Each head's mean weight on the key ``offset`` positions before the query (queries that have one).

    pattern: (n_head, T, T) → (n_head,). ``offset=1`` is the previous token.

    >>> p = torch.tensor([[[1.0, 0.0], [0.25, 0.75]]])   # one head, two tokens
    >>> diagonal_weight(p, 1)                            # query 1 puts 0.25 on key 0
    tensor([0.2500])
    """
    return pattern.diagonal(offset=-offset, dim1=-2, dim2=-1).mean(dim=-1)  # (n_head,)


def after_copy_weight(pattern: torch.Tensor, L: int) -> torch.Tensor:
    """On a sequence repeated twice (halves of L tokens), each head's mean weight from a second-half query
    at L + i on key i + 1, the token that followed the query's earlier copy.

    pattern: (n_head, 2L, 2L) → (n_head,).
    """
    second_half = pattern[:, L:, :]  # (n_head, L, 2L): row i is the query at position L + i
    return second_half.diagonal(offset=1, dim1=-2, dim2=-1).mean(dim=-1)  # key i + 1 of row i


def repeated_random_tokens(vocab_size: int, length: int, seed: int = 0) -> torch.Tensor:
    """``length`` random token ids, then the same ids again: (2 * length,). The last id is left out (in
    GPT-2 it is ``<|endoftext|>``)."""
    generator = torch.Generator().manual_seed(seed)
    half = torch.randint(0, vocab_size - 1, (length,), generator=generator)  # (L,)
    return torch.cat([half, half])  # (2L,)


def head_scores(lab, text: str, *, repeat_length: int = 50, seed: int = 0) -> HeadScores:
    """Measure every head's previous-token, first-token and induction score on the loaded model.

    ``text`` is the natural text for the first two scores; the induction score uses ``repeat_length``
    random tokens repeated twice (cut to fit the context window), drawn with ``seed``.
    """
    check_lab(lab)
    check_text(text)
    repeat_length = check_whole_number(repeat_length, "repeat_length", minimum=2)
    seed = check_seed(seed)
    n_layer = lab.config.n_layer
    patterns = [block_stage(layer, "attn.pattern") for layer in range(n_layer)]
    trace = lab.trace(text, keep=patterns)
    if len(trace.ids) < 2:
        raise LabError("Give a text of at least two tokens: the scores compare each token with the one before it.")
    previous = torch.stack([diagonal_weight(trace[name], 1) for name in patterns])  # (n_layer, n_head)
    first = torch.stack([trace[name][:, 1:, 0].mean(dim=-1) for name in patterns])  # (n_layer, n_head)

    L = max(2, min(repeat_length, lab.config.n_ctx // 2))
    repeated = lab.trace(repeated_random_tokens(lab.config.vocab_size, L, seed), keep=patterns)
    # a query at t = L + i in the second half has its copy at i; the token after the copy is key i + 1
    induction = torch.stack([after_copy_weight(repeated[name], L) for name in patterns])  # (n_layer, n_head)
    return HeadScores(previous, first, induction, len(trace.ids), L)


def even_spread_induction(L: int) -> float:
    """The induction score of a head that spreads its weight evenly over the keys it can see.

    On two halves of ``L`` tokens a second-half query at L + i sees L + i + 1 keys, so it puts
    1 / (L + i + 1) on the token after its copy. ``even_spread_induction(2) == (1/3 + 1/4) / 2``.
    """
    return sum(1 / (L + i + 1) for i in range(L)) / L


def even_spread_previous_token(T: int) -> float:
    """The previous-token score of a head that spreads its weight evenly, on a text of ``T`` tokens.

    The query at t (1 .. T - 1) sees t + 1 keys. ``even_spread_previous_token(3) == (1/2 + 1/3) / 2``.
    """
    return sum(1 / (t + 1) for t in range(1, T)) / (T - 1)
