"""From logits to the next token: temperature, top-k, top-p, renormalise, draw.

GPT-2 ends every position with one score (a logit) per vocabulary token. To write the next token we
take the scores of the LAST position only and reshape them, one visible step each, in the order and
with the arithmetic of Hugging Face ``transformers``' ``generate`` (``TemperatureLogitsWarper``, then
``TopKLogitsWarper``, then ``TopPLogitsWarper``, cut tokens set to ``-inf``, at least one kept):

    logits (vocab,) -> / temperature -> keep the top k -> keep the top-p nucleus -> softmax -> draw

A cut token's logit becomes ``-inf``, so softmax gives it probability exactly 0: that softmax *is* the
renormalisation (the kept probabilities are scaled up to sum to 1 again).

Temperature 0 means greedy decoding: always the most likely token (``argmax``), no draw at all.
The draw uses an explicit ``torch.Generator``: the same seed gives the same tokens, and nothing here
touches torch's global random state.

>>> settings = SamplingSettings(temperature=0.7, top_k=40, top_p=0.9, seed=0)
>>> dist = filter_distribution(torch.tensor([2.0, 1.0, 0.1]), settings)
>>> [round(p, 3) for p in dist.filtered.tolist()]   # 0.1 is outside the 0.9 nucleus: cut
[0.807, 0.193, 0.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from gpt2lab.errors import LabError

FILTER_VALUE = float("-inf")  # what a cut token's logit becomes, as in transformers
MIN_TOKENS_TO_KEEP = 1  # top-k and top-p always keep at least this many tokens, as in transformers


@dataclass(frozen=True)
class SamplingSettings:
    """How the next token is chosen. Checked when made: a bad value raises one clear :class:`LabError`.

    >>> SamplingSettings(top_k=0)
    Traceback (most recent call last):
    ...
    gpt2lab.errors.LabError: top_k must be a whole number of at least 1 (or None for no top-k cut), not 0.
    """

    temperature: float = 1.0  # divides the logits; below 1 sharpens, above 1 flattens; 0 means greedy
    top_k: int | None = None  # keep only the k most likely tokens (None: no top-k cut)
    top_p: float = 1.0  # keep the most likely tokens whose probabilities add up to p (1.0: no cut)
    max_new_tokens: int = 40  # stop after this many new tokens
    seed: int | None = 0  # seeds the draw's torch.Generator (None: a fresh random seed)

    def __post_init__(self):
        check_temperature(self.temperature)
        check_top_k(self.top_k)
        check_top_p(self.top_p)
        check_max_new_tokens(self.max_new_tokens)
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0):
            raise LabError(f"seed must be a whole number of 0 or more (or None for a random seed), not {self.seed!r}.")

    @property
    def greedy(self) -> bool:
        """Temperature 0: always take the most likely token."""
        return self.temperature == 0

    def describe(self) -> str:
        """The settings in words: ``"temperature 0.7, top-k 40, top-p 0.9"``."""
        if self.greedy:
            return "greedy (temperature 0)"
        parts = [f"temperature {self.temperature:g}"]
        if self.top_k is not None:
            parts.append(f"top-k {self.top_k}")
        if self.top_p < 1.0:
            parts.append(f"top-p {self.top_p:g}")
        return ", ".join(parts)


# --- checks: one clear sentence for each mistake a learner can make ---------------------------------------


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def check_temperature(temperature) -> None:
    if not _is_number(temperature) or temperature < 0:
        raise LabError(f"temperature must be a number of 0 or more (0 means greedy), not {temperature!r}.")


def check_top_k(top_k) -> None:
    if top_k is None:
        return
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise LabError(f"top_k must be a whole number of at least 1 (or None for no top-k cut), not {top_k!r}.")


def check_top_p(top_p) -> None:
    if not _is_number(top_p) or not 0 < top_p <= 1:
        raise LabError(f"top_p must be a number above 0 and at most 1 (1 keeps every token), not {top_p!r}.")


def check_max_new_tokens(max_new_tokens) -> None:
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise LabError(f"max_new_tokens must be a whole number of at least 1, not {max_new_tokens!r}.")


def check_prompt(prompt) -> None:
    """A prompt must be a non-empty text (the model needs at least one token to continue)."""
    if not isinstance(prompt, str):
        raise LabError(f"The prompt must be a text (a str), not {type(prompt).__name__}.")
    if prompt == "":
        raise LabError("The prompt is empty: type at least one word for the model to continue.")


# --- the steps, one function each --------------------------------------------------------------------------


def last_position_logits(logits: torch.Tensor) -> torch.Tensor:
    """The scores for the NEXT token: the last row of a (T, vocab) logits matrix.

    Every position predicts the token after it, but only the last one predicts a token we do not have yet.
    """
    return logits[-1]  # (vocab,)


def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Divide the logits by the temperature (``TemperatureLogitsWarper``).

    Softmax only sees differences between logits, so dividing by 0.5 doubles every gap (sharper) and
    dividing by 2 halves it (flatter). Temperature 0 is greedy and handled by :func:`greedy_choice`;
    here it leaves the logits as they are.

    >>> apply_temperature(torch.tensor([2.0, 1.0]), 0.5).tolist()
    [4.0, 2.0]
    """
    if temperature == 0 or temperature == 1.0:
        return logits
    return logits / temperature  # (vocab,)


def top_k_filter(logits: torch.Tensor, top_k: int | None) -> torch.Tensor:
    """Keep the ``top_k`` highest logits, set the rest to -inf (``TopKLogitsWarper``).

    A token tied with the k-th highest is kept too, exactly as transformers does.

    >>> top_k_filter(torch.tensor([3.0, 1.0, 2.0]), 2).tolist()
    [3.0, -inf, 2.0]
    """
    if top_k is None:
        return logits
    k = min(max(top_k, MIN_TOKENS_TO_KEEP), logits.shape[-1])
    kth_highest = torch.topk(logits, k).values[..., -1, None]  # (1,)
    return logits.masked_fill(logits < kth_highest, FILTER_VALUE)  # (vocab,)


def top_p_filter(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the nucleus: cut the least likely tokens that together hold at most ``1 - top_p`` (``TopPLogitsWarper``).

    Sort from least to most likely, add up probabilities, and cut every token while the running total is
    still at most ``1 - top_p``. What is left is the smallest set of most likely tokens holding at least
    ``top_p``; the most likely token always stays.

    >>> torch.softmax(torch.tensor([2.0, 1.0, 0.0]), -1)  # the tail token holds 0.09 <= 1 - 0.7
    tensor([0.6652, 0.2447, 0.0900])
    >>> top_p_filter(torch.tensor([2.0, 1.0, 0.0]), 0.7).tolist()
    [2.0, 1.0, -inf]
    """
    if top_p >= 1.0:
        return logits
    sorted_logits, sorted_ids = torch.sort(logits, descending=False)  # least likely first
    cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)  # (vocab,)  running total from the tail
    cut_sorted = cumulative <= (1 - top_p)
    cut_sorted[..., -MIN_TOKENS_TO_KEEP:] = False  # the most likely token(s) always stay
    cut = cut_sorted.scatter(-1, sorted_ids, cut_sorted)  # back to vocabulary order
    return logits.masked_fill(cut, FILTER_VALUE)  # (vocab,)


def renormalise(logits: torch.Tensor) -> torch.Tensor:
    """Softmax: probabilities that sum to 1; a -inf logit (a cut token) gets exactly 0."""
    return torch.softmax(logits, dim=-1)  # (vocab,)


def greedy_choice(logits: torch.Tensor) -> int:
    """The most likely token (the first one, if several tie), as ``generate(do_sample=False)`` takes it."""
    return int(torch.argmax(logits, dim=-1))


def draw(probs: torch.Tensor, generator: torch.Generator) -> int:
    """Draw one token id from ``probs`` (vocab,) with an explicit, seeded generator.

    ``torch.multinomial`` is what transformers uses too, so with ``torch.manual_seed(seed)`` it draws the
    same tokens as ``make_generator(seed)`` does here.
    """
    return int(torch.multinomial(probs.detach().cpu(), num_samples=1, generator=generator))  # drawn on the CPU: the same seed gives the same token on any device


def make_generator(seed: int | None) -> torch.Generator:
    """A CPU ``torch.Generator`` for the draws: seeded with ``seed``, or randomly when ``seed`` is None."""
    generator = torch.Generator(device="cpu")
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    return generator


# --- the whole pipeline, showing its work --------------------------------------------------------------------


@dataclass
class Distribution:
    """Every stage of turning one position's logits into the distribution the next token is drawn from."""

    logits: torch.Tensor  # (vocab,)  raw scores of the last position
    probs: torch.Tensor  # (vocab,)  softmax of the raw logits: the model's own belief (temperature 1)
    scaled_logits: torch.Tensor  # (vocab,)  logits / temperature
    after_top_k: torch.Tensor  # (vocab,)  scaled logits, -inf outside the top k
    after_top_p: torch.Tensor  # (vocab,)  ... and -inf outside the nucleus
    filtered: torch.Tensor  # (vocab,)  what the token is drawn from: renormalised, 0 for every cut token
    settings: SamplingSettings

    @property
    def kept(self) -> torch.Tensor:
        """(vocab,) bool: the tokens that survive every filter (for greedy: only the argmax)."""
        return self.filtered > 0

    @property
    def n_kept(self) -> int:
        return int(self.kept.sum())


def filter_distribution(logits: torch.Tensor, settings: SamplingSettings) -> Distribution:
    """Run temperature, top-k, top-p and renormalisation on one position's logits (vocab,).

    For greedy settings (temperature 0) the filtered distribution puts probability 1 on the argmax.
    """
    logits = logits.float()
    probs = renormalise(logits)  # (vocab,)
    if settings.greedy:
        filtered = torch.zeros_like(probs)
        filtered[greedy_choice(logits)] = 1.0
        return Distribution(logits, probs, logits, logits, logits, filtered, settings)
    scaled = apply_temperature(logits, settings.temperature)  # (vocab,)
    after_k = top_k_filter(scaled, settings.top_k)  # (vocab,)
    after_p = top_p_filter(after_k, settings.top_p)  # (vocab,)
    return Distribution(logits, probs, scaled, after_k, after_p, renormalise(after_p), settings)


def choose(dist: Distribution, generator: torch.Generator) -> int:
    """The next token: the argmax when greedy, else one draw from the filtered distribution."""
    if dist.settings.greedy:
        return greedy_choice(dist.logits)
    return draw(dist.filtered, generator)


def rank_of(probs: torch.Tensor, token_id: int) -> int:
    """1 for the most likely token, 2 for the next ... (ties share the better rank).

    >>> rank_of(torch.tensor([0.1, 0.6, 0.3]), 2)
    2
    """
    return int((probs > probs[token_id]).sum()) + 1


@dataclass(frozen=True)
class Candidate:
    """One token that survived the filters."""

    token: str  # how it reads
    id: int  # its id
    prob: float  # its probability in the filtered distribution (what it was drawn with)
    cumulative: float  # the filtered probability of this token and every more likely one
    raw_prob: float  # its probability before any filter (temperature 1)


def kept_candidates(dist: Distribution, token_strings, limit: int | None = None) -> list[Candidate]:
    """The kept tokens, most likely first (at most ``limit``), with running totals.

    ``token_strings(ids)`` turns ids into display strings (``lab.token_strings``).
    """
    n = dist.n_kept if limit is None else min(dist.n_kept, limit)
    probs, ids = torch.topk(dist.filtered, n)  # (n,) each, most likely first
    cumulative = probs.cumsum(0)  # (n,)
    ids_list = ids.tolist()
    tokens = token_strings(ids_list)
    return [
        Candidate(token=t, id=i, prob=float(p), cumulative=float(c), raw_prob=float(dist.probs[i]))
        for t, i, p, c in zip(tokens, ids_list, probs.tolist(), cumulative.tolist())
    ]


# --- several settings on the same logits ------------------------------------------------------------------

# The sampling lab's five settings: the same logits, five ways of choosing (labels as shown).
LAB_SETTINGS = (
    ("greedy", SamplingSettings(temperature=0)),
    ("temperature 0.7", SamplingSettings(temperature=0.7)),
    ("temperature 1.5", SamplingSettings(temperature=1.5)),
    ("top-k 40", SamplingSettings(top_k=40)),
    ("top-p 0.9", SamplingSettings(top_p=0.9)),
)


def compare_settings(logits: torch.Tensor, settings=LAB_SETTINGS) -> list[tuple[str, Distribution]]:
    """The same logits (vocab,) filtered under each ``(label, SamplingSettings)``: which tokens survive, how likely."""
    return [(label, filter_distribution(logits, s)) for label, s in settings]


def entropy_bits(probs: torch.Tensor) -> float:
    """Entropy in bits: 0 when one token is certain, log2(n) when n tokens are equally likely.

    ``2 ** entropy_bits(p)`` reads as "the model is choosing between about this many tokens".

    >>> entropy_bits(torch.tensor([0.25, 0.25, 0.25, 0.25, 0.0]))
    2.0
    """
    p = probs[probs > 0]
    return float(-(p * torch.log2(p)).sum())
