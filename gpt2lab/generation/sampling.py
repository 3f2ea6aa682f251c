"""From logits to the next token: penalties, temperature, top-k, top-p, min-p, renormalise, draw.

GPT-2 ends every position with one score (a logit) per vocabulary token. To write the next token we
take the scores of the LAST position only and reshape them, one visible step each, in the order and
with the arithmetic of Hugging Face ``transformers``' ``generate``. First the two processors that read
the text so far (``RepetitionPenaltyLogitsProcessor``, ``NoRepeatNGramLogitsProcessor``) change the raw
scores; then the warpers (``TemperatureLogitsWarper``, ``TopKLogitsWarper``, ``TopPLogitsWarper``,
``MinPLogitsWarper``) reshape them; cut tokens are set to ``-inf``, at least one is kept:

    logits (vocab,) -> repetition penalty -> no repeated n-gram          (these two need the context ids)
                    -> / temperature -> keep the top k -> keep the top-p nucleus -> min-p -> softmax -> draw

Greedy decoding (temperature 0) still applies the two processors, as ``generate(do_sample=False)`` does,
and then takes the argmax.

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

from dataclasses import dataclass

import torch

from gpt2lab.errors import LabError
from gpt2lab.inputs import check_seed, check_whole_number, is_number, shown

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
    repetition_penalty: float = 1.0  # a token already in the text: logit / penalty (or * penalty if negative); 1.0: off
    no_repeat_ngram_size: int = 0  # forbid any token that would repeat an n-gram of this size already in the text; 0: off
    min_p: float = 0.0  # cut tokens less likely than min_p times the most likely one (after top-p); 0: off

    def __post_init__(self):
        check_temperature(self.temperature)
        check_top_p(self.top_p)
        check_repetition_penalty(self.repetition_penalty)
        check_min_p(self.min_p)
        # whole numbers are stored as plain ints (a numpy or one-element tensor integer is accepted too);
        # object.__setattr__ because the dataclass is frozen
        object.__setattr__(self, "top_k", check_top_k(self.top_k))
        object.__setattr__(self, "no_repeat_ngram_size", check_no_repeat_ngram_size(self.no_repeat_ngram_size))
        object.__setattr__(self, "max_new_tokens", check_max_new_tokens(self.max_new_tokens))
        object.__setattr__(self, "seed", None if self.seed is None else check_seed(self.seed, " (or None for a random seed)"))

    @property
    def greedy(self) -> bool:
        """Temperature 0: always take the most likely token."""
        return self.temperature == 0

    @property
    def needs_context(self) -> bool:
        """True when a stage reads the text so far (the repetition penalty or the n-gram ban is on)."""
        return self.repetition_penalty != 1.0 or self.no_repeat_ngram_size > 0

    def describe(self) -> str:
        """The settings in words: ``"temperature 0.7, top-k 40, top-p 0.9"``."""
        penalties = []
        if self.repetition_penalty != 1.0:
            penalties.append(f"repetition penalty {self.repetition_penalty:g}")
        if self.no_repeat_ngram_size > 0:
            penalties.append(f"no repeated {self.no_repeat_ngram_size}-gram")
        if self.greedy:
            return ", ".join(["greedy (temperature 0)"] + penalties)
        parts = penalties + [f"temperature {self.temperature:g}"]
        if self.top_k is not None:
            parts.append(f"top-k {self.top_k}")
        if self.top_p < 1.0:
            parts.append(f"top-p {self.top_p:g}")
        if self.min_p > 0:
            parts.append(f"min-p {self.min_p:g}")
        return ", ".join(parts)

    def to_dict(self) -> dict:
        """The settings as plain JSON values (a saved session stores them)."""
        return dict(self.__dict__)


# --- checks: one clear sentence for each mistake a learner can make ---------------------------------------


def check_temperature(temperature) -> None:
    if not is_number(temperature) or temperature < 0:
        raise LabError(f"temperature must be a number of 0 or more (0 means greedy), not {temperature!r}.")


def check_top_k(top_k) -> int | None:
    return None if top_k is None else check_whole_number(top_k, "top_k", minimum=1, note=" (or None for no top-k cut)")


def check_top_p(top_p) -> None:
    if not is_number(top_p) or not 0 < top_p <= 1:
        raise LabError(f"top_p must be a number above 0 and at most 1 (1 keeps every token), not {top_p!r}.")


def check_repetition_penalty(penalty) -> None:
    if not is_number(penalty) or penalty <= 0:
        raise LabError(f"repetition_penalty must be a number above 0 (1.0 is off, above 1 discourages repeats), not {penalty!r}.")


def check_no_repeat_ngram_size(size) -> int:
    return check_whole_number(size, "no_repeat_ngram_size", minimum=0, note=" (0 is off)")


def check_min_p(min_p) -> None:
    if not is_number(min_p) or not 0 <= min_p <= 1:
        raise LabError(f"min_p must be a number from 0 to 1 (0 is off), not {min_p!r}.")


def check_max_new_tokens(max_new_tokens) -> int:
    return check_whole_number(max_new_tokens, "max_new_tokens", minimum=1)


def check_settings(value):
    """Sampling settings: None (the defaults) or a :class:`SamplingSettings`."""
    if value is not None and not isinstance(value, SamplingSettings):
        raise LabError(f"settings must be a SamplingSettings, like SamplingSettings(temperature=0.8), not {shown(value)}.")
    return value


def check_prompt(prompt) -> None:
    """A prompt must be a non-empty text (the model needs at least one token to continue)."""
    if not isinstance(prompt, str):
        raise LabError(f"The prompt must be a text (a str), not {type(prompt).__name__}.")
    if prompt == "":
        raise LabError("The prompt is empty: type at least one word for the model to continue.")


def check_typed_prompt(prompt) -> None:
    """A prompt a person typed (a widget, the essay's command line or web page): :func:`check_prompt`'s rules,
    and not only spaces, which a model can continue but nobody means to type."""
    check_prompt(prompt)
    if not prompt.strip():
        raise LabError("The prompt is only spaces: type at least one word for the model to continue.")


# --- the steps, one function each --------------------------------------------------------------------------


def last_position_logits(logits: torch.Tensor) -> torch.Tensor:
    """The scores for the NEXT token: the last row of a (T, vocab) logits matrix.

    Every position predicts the token after it, but only the last one predicts a token we do not have yet.
    """
    return logits[-1]  # (vocab,)


def apply_repetition_penalty(logits: torch.Tensor, context_ids, penalty: float) -> torch.Tensor:
    """Make every token already in the text less likely (``RepetitionPenaltyLogitsProcessor``).

    A seen token's logit is divided by ``penalty`` when positive and multiplied by it when negative, so a
    penalty above 1 always lowers it. Tokens never seen keep their logit.

    >>> apply_repetition_penalty(torch.tensor([2.0, -1.0, 3.0]), [0, 1], 2.0).tolist()
    [1.0, -2.0, 3.0]
    """
    if penalty == 1.0 or len(context_ids) == 0:
        return logits
    seen = torch.zeros(logits.shape[-1], dtype=torch.bool, device=logits.device)  # (vocab,)
    seen[torch.as_tensor(list(context_ids), dtype=torch.long, device=logits.device)] = True
    penalised = torch.where(logits < 0, logits * penalty, logits / penalty)  # (vocab,)
    return torch.where(seen, penalised, logits)  # (vocab,)


def banned_ngram_tokens(context_ids, n: int) -> list[int]:
    """The tokens that would complete an n-gram already in the text (``NoRepeatNGramLogitsProcessor``).

    The last ``n - 1`` tokens are the start of the next n-gram; every token that followed that same start
    earlier is banned.

    >>> banned_ngram_tokens([5, 6, 7, 5, 6], 3)   # "5 6" was followed by 7 before: 7 is banned
    [7]
    """
    ids = list(context_ids)
    if n <= 0 or len(ids) + 1 < n:
        return []
    start = tuple(ids[len(ids) + 1 - n :])
    return [ids[i + n - 1] for i in range(len(ids) - n + 1) if tuple(ids[i : i + n - 1]) == start]


def no_repeat_ngram_filter(logits: torch.Tensor, context_ids, n: int) -> torch.Tensor:
    """Set to -inf every token that would repeat an n-gram of the text (``NoRepeatNGramLogitsProcessor``).

    >>> no_repeat_ngram_filter(torch.zeros(8), [5, 6, 7, 5, 6], 3).tolist()[7]
    -inf
    """
    banned = banned_ngram_tokens(context_ids, n)
    if not banned:
        return logits
    out = logits.clone()
    out[torch.tensor(banned, dtype=torch.long, device=logits.device)] = FILTER_VALUE
    return out  # (vocab,)


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


def min_p_filter(logits: torch.Tensor, min_p: float) -> torch.Tensor:
    """Cut every token less likely than ``min_p`` times the most likely one (``MinPLogitsWarper``).

    The bar moves with the model's confidence: a sure model keeps few tokens, an unsure one many.

    >>> torch.softmax(torch.tensor([2.0, 1.0, 0.0]), -1)  # 0.090 < 0.2 * 0.665, 0.245 is not
    tensor([0.6652, 0.2447, 0.0900])
    >>> min_p_filter(torch.tensor([2.0, 1.0, 0.0]), 0.2).tolist()
    [2.0, 1.0, -inf]
    """
    if min_p <= 0:
        return logits
    probs = torch.softmax(logits, dim=-1)  # (vocab,)
    cut = probs < min_p * probs.amax(dim=-1, keepdim=True)  # (vocab,)
    cut[torch.topk(probs, MIN_TOKENS_TO_KEEP, dim=-1).indices] = False  # the most likely token always stays
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
    scaled_logits: torch.Tensor  # (vocab,)  processed logits / temperature
    after_top_k: torch.Tensor  # (vocab,)  scaled logits, -inf outside the top k
    after_top_p: torch.Tensor  # (vocab,)  ... and -inf outside the nucleus
    filtered: torch.Tensor  # (vocab,)  what the token is drawn from: renormalised, 0 for every cut token
    settings: SamplingSettings
    after_penalty: torch.Tensor | None = None  # (vocab,)  raw logits after the repetition penalty (None: = logits)
    after_ngram: torch.Tensor | None = None  # (vocab,)  ... and -inf for tokens that repeat an n-gram (None: = after_penalty)
    after_min_p: torch.Tensor | None = None  # (vocab,)  after top-p, -inf below the min-p bar (None: = after_top_p)

    @property
    def processed(self) -> torch.Tensor:
        """(vocab,) the raw logits after the two processors that read the text (what greedy takes the argmax of)."""
        if self.after_ngram is not None:
            return self.after_ngram
        return self.logits if self.after_penalty is None else self.after_penalty

    def stages(self) -> list[tuple[str, torch.Tensor]]:
        """Every stage's logits (vocab,), in transformers' order, each named as the pipeline view shows it."""
        penalty = self.logits if self.after_penalty is None else self.after_penalty
        out = [("raw logits", self.logits), ("repetition penalty", penalty), ("no repeated n-gram", self.processed)]
        if self.settings.greedy:
            return out
        min_p = self.after_top_p if self.after_min_p is None else self.after_min_p
        return out + [("temperature", self.scaled_logits), ("top-k", self.after_top_k), ("top-p", self.after_top_p),
                      ("min-p", min_p)]

    def stage_changes(self) -> list[tuple[str, int, int]]:
        """For each stage after the raw logits: (name, tokens it cut, tokens whose logit it changed otherwise).

        Temperature changes every kept logit but keeps their order; it is listed like any other stage.
        """
        rows, stages = [], self.stages()
        for (_, before), (name, after) in zip(stages, stages[1:]):
            cut = torch.isfinite(before) & ~torch.isfinite(after)  # (vocab,)
            both = torch.isfinite(before) & torch.isfinite(after)
            changed = both & (before != after)
            rows.append((name, int(cut.sum()), int(changed.sum())))
        return rows

    @property
    def kept(self) -> torch.Tensor:
        """(vocab,) bool: the tokens that survive every filter (for greedy: only the argmax)."""
        return self.filtered > 0

    @property
    def n_kept(self) -> int:
        return int(self.kept.sum())


def filter_distribution(logits: torch.Tensor, settings: SamplingSettings, context_ids=None) -> Distribution:
    """Run every stage on one position's logits (vocab,): the repetition penalty and the n-gram ban (they
    read ``context_ids``, the whole text so far: prompt and generated tokens), then temperature, top-k,
    top-p, min-p and renormalisation.

    For greedy settings (temperature 0) the filtered distribution puts probability 1 on the argmax of the
    processed logits.
    """
    if settings.needs_context and context_ids is None:
        raise LabError("The repetition penalty and the n-gram ban read the text so far: pass context_ids.")
    context_ids = [] if context_ids is None else [int(i) for i in context_ids]
    logits = logits.float()
    probs = renormalise(logits)  # (vocab,)
    penalised = apply_repetition_penalty(logits, context_ids, settings.repetition_penalty)  # (vocab,)
    processed = no_repeat_ngram_filter(penalised, context_ids, settings.no_repeat_ngram_size)  # (vocab,)
    if not torch.isfinite(processed).any():
        raise LabError("The n-gram ban forbids every token here: use a larger no_repeat_ngram_size or 0 (off).")
    if settings.greedy:
        filtered = torch.zeros_like(probs)
        filtered[greedy_choice(processed)] = 1.0
        return Distribution(logits, probs, processed, processed, processed, filtered, settings,
                            after_penalty=penalised, after_ngram=processed, after_min_p=processed)
    scaled = apply_temperature(processed, settings.temperature)  # (vocab,)
    after_k = top_k_filter(scaled, settings.top_k)  # (vocab,)
    after_p = top_p_filter(after_k, settings.top_p)  # (vocab,)
    after_min_p = min_p_filter(after_p, settings.min_p)  # (vocab,)
    return Distribution(logits, probs, scaled, after_k, after_p, renormalise(after_min_p), settings,
                        after_penalty=penalised, after_ngram=processed, after_min_p=after_min_p)


def choose(dist: Distribution, generator: torch.Generator) -> int:
    """The next token: the argmax of the processed logits when greedy, else one draw from the filtered distribution."""
    if dist.settings.greedy:
        return greedy_choice(dist.processed)
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
