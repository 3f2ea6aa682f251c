"""Checkers for the exercises of ``notebooks/05_logits_and_sampling.ipynb``.

Each checker takes the logits it is about (the last position's, shape (vocab,)) and the learner's answer
(``None`` while unanswered), and returns a :class:`~gpt2lab.exercises.checks.CheckResult`.
"""

from __future__ import annotations

import torch

from gpt2lab.generation.sampling import SamplingSettings, filter_distribution
from gpt2lab.exercises.checks import CheckResult, as_number, as_whole, not_answered


def check_temperature_probability(logits: torch.Tensor, temperature: float, answer: float | None) -> CheckResult:
    """Exercise 1: the probability of the most likely token at ``temperature``, computed by hand."""
    if answer is None:
        return not_answered("Set answer to a float: softmax(logits / temperature), then its largest value.")
    answer = as_number(answer)  # a float, a NumPy scalar or a one-number tensor
    if answer is None:
        return CheckResult(False, "Give one number, a probability between 0 and 1.")
    expected = float(torch.softmax(logits.float() / temperature, -1).max())
    plain = float(torch.softmax(logits.float(), -1).max())
    if abs(answer - expected) < 1e-4:
        return CheckResult(True, f"{expected:.4f} at temperature {temperature:g}, against {plain:.4f} at temperature 1: "
                                 f"{'sharper' if temperature < 1 else 'flatter'}.")
    if abs(answer - plain) < 1e-4:
        return CheckResult(False, "That is the probability at temperature 1; divide the logits by the temperature first.")
    if abs(answer - float(torch.softmax(logits.float() * temperature, -1).max())) < 1e-4:
        return CheckResult(False, "You multiplied by the temperature; divide by it.")
    return CheckResult(False, "Not yet: torch.softmax(logits / temperature, dim=-1).max().")


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
    return CheckResult(False, "Not yet: sort the probabilities, add them up from the largest, and count the tokens "
                              "until the total reaches top_p (that last one included).")


def check_sharp_temperature(logits: torch.Tensor, answer: float | None, target: float = 0.9) -> CheckResult:
    """Exercise 3: a temperature at which the most likely token gets more than ``target`` of the probability."""
    if answer is None:
        return not_answered(f"Set answer to a positive number: a temperature that gives the top token more than {target:g}.")
    answer = as_number(answer)
    if answer is None or answer <= 0:
        return CheckResult(False, "Give a temperature above 0 (0 is greedy: no distribution to speak of).")
    top = float(torch.softmax(logits.float() / answer, -1).max())
    if top > target:
        return CheckResult(True, f"At temperature {answer:g} the top token has {top:.3f}: nearly greedy. Low temperatures "
                                 "make sampling safe but repetitive.")
    hint = "lower" if answer >= 1 or top < target else "a bit lower"
    return CheckResult(False, f"At temperature {answer:g} the top token has only {top:.3f}; try a {hint} temperature.")
