"""Checkers for the exercises of ``notebooks/05_logits_and_sampling.ipynb``.

Each checker takes the logits it is about (the last position's, shape (vocab,)) and the learner's answer
(``None`` while unanswered), and returns a :class:`~gpt2lab.exercises.checks.CheckResult`.
"""

from __future__ import annotations

import torch

from gpt2lab.generation.sampling import SamplingSettings, filter_distribution
from gpt2lab.exercises.checks import CheckResult, as_number, as_whole, checker, not_answered, rounding_hint, same_number


@checker
def check_temperature_probability(logits: torch.Tensor, temperature: float, answer: float | None) -> CheckResult:
    """Exercise 1: the probability of the most likely token at ``temperature``, computed by hand."""
    if answer is None:
        return not_answered("Set answer to a float: softmax(logits / temperature), then its largest value.")
    if as_number(answer) is None:  # a float, a NumPy scalar or a one-number tensor is a number
        return CheckResult(False, "Give one number, a probability between 0 and 1.")
    expected = float(torch.softmax(logits.float() / temperature, -1).max())
    plain = float(torch.softmax(logits.float(), -1).max())
    if same_number(answer, expected):
        return CheckResult(True, f"{expected:.4f} at temperature {temperature:g}, against {plain:.4f} at temperature 1: "
                                 f"{'sharper' if temperature < 1 else 'flatter'}.")
    if same_number(answer, plain):
        return CheckResult(False, "That is the probability at temperature 1; divide the logits by the temperature first.")
    if same_number(answer, float(torch.softmax(logits.float() * temperature, -1).max())):
        return CheckResult(False, "You multiplied by the temperature; divide by it.")
    if hint := rounding_hint(answer, expected):
        return CheckResult(False, hint)
    return CheckResult(False, "Compute torch.softmax(logits / temperature, dim=-1).max().")


@checker
def check_top_p_count(logits: torch.Tensor, top_p: float, answer: int | None) -> CheckResult:
    """Exercise 2: how many tokens survive top-p ``top_p`` (at temperature 1, no top-k)."""
    if answer is None:
        return not_answered("Set answer to an int: the number of tokens the nucleus keeps.")
    answer = as_whole(answer)
    if answer is None:
        return CheckResult(False, "Give the count as one whole number.")
    expected = filter_distribution(logits, SamplingSettings(top_p=top_p)).n_kept
    if answer == expected:
        return CheckResult(True, f"{expected} tokens hold at least {top_p:g} of the probability; the other "
                                 f"{logits.shape[-1] - expected:,} are cut.")
    if answer == expected - 1:
        return CheckResult(False, "One short: the token that carries the running total past top_p is kept too.")
    return CheckResult(False, "Sort the probabilities, add them up from the largest, and count the tokens "
                              "until the total reaches top_p (that last one included).")


def top_probability(logits: torch.Tensor, temperature: float) -> float:
    """The most likely token's probability at ``temperature``, for any temperature above 0, however extreme.

    The largest logit is subtracted BEFORE dividing: dividing first overflows to inf for a temperature near 0
    (1e-40 in float32), and softmax of inf - inf is NaN. After the subtraction the top logit is 0 at every
    temperature, and the others go towards -inf, which softmax turns into 0 (the greedy limit).
    """
    gaps = logits.double() - logits.double().max()  # (vocab,) 0 for the top token, <= 0 for the rest
    return float(torch.softmax(gaps / temperature, dim=-1).max())


def highest_temperature_above(logits: torch.Tensor, target: float) -> float | None:
    """The largest temperature at which the top token still gets more than ``target`` (the top probability only
    falls as the temperature rises, so halving the interval finds it); ``None`` if no temperature does, as when two
    tokens tie for the top."""
    if top_probability(logits, 1e-300) <= target:
        return None
    low, high = 1e-300, 1.0
    while top_probability(logits, high) > target:  # find a temperature that is too high
        low, high = high, high * 2
        if high > 1e300:
            return high
    for _ in range(200):  # on a log scale: the interval may span hundreds of powers of ten
        middle = (low * high) ** 0.5
        low, high = (middle, high) if top_probability(logits, middle) > target else (low, middle)
    return low


@checker
def check_sharp_temperature(logits: torch.Tensor, answer: float | None, target: float = 0.9) -> CheckResult:
    """Exercise 3: a temperature at which the most likely token gets more than ``target`` of the probability."""
    if answer is None:
        return not_answered(f"Set answer to a positive number: a temperature that gives the top token more than {target:g}.")
    answer = as_number(answer)
    if answer is None:
        return CheckResult(False, "Give the temperature as one number, such as 0.5.")
    if answer <= 0:
        return CheckResult(False, "Give a temperature above 0 (0 itself means greedy: no division, no distribution to "
                                  "speak of).")
    top = top_probability(logits, answer)
    highest = highest_temperature_above(logits, target)
    if highest is None:
        return CheckResult(False, f"No temperature gives one token more than {target:g} here: several tokens tie for the "
                                  "top, and they keep sharing it at every temperature.")
    if top > target:
        if answer < highest / 1000:
            return CheckResult(True, f"At temperature {answer:.3g} the top token has {top:.3f}: so close to 0 that it is "
                                     f"greedy decoding in all but name (anything below about {highest:.2g} already gives "
                                     f"more than {target:g}). Low temperatures make sampling safe but repetitive.")
        return CheckResult(True, f"At temperature {answer:.3g} the top token has {top:.3f}: nearly greedy. Low temperatures "
                                 "make sampling safe but repetitive.")
    if answer > 1e3:
        return CheckResult(False, f"At temperature {answer:.3g} every logit is divided by so much that the distribution is "
                                  f"nearly flat (the top token has {top:.2g}); go below 1, towards 0.")
    further = "much lower" if answer >= 1 else "lower still"
    return CheckResult(False, f"At temperature {answer:.3g} the top token has only {top:.3g}; try a {further} temperature.")
