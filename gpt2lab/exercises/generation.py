"""Checkers for the exercises of ``notebooks/06_autoregressive_generation.ipynb``.

Each checker takes the learner's answer (``None`` while unanswered) and what it is about, and returns a
:class:`~gpt2lab.exercises.checks.CheckResult`; a wrong answer is never an error.
"""

from __future__ import annotations

from gpt2lab.generation.loop import positions_computed
from gpt2lab.generation.stopping import STOPPED_AT_END_OF_TEXT
from gpt2lab.exercises.checks import CheckResult, as_whole, not_answered


def _whole(answer) -> bool:
    return as_whole(answer) is not None


def check_cache_length(stepper, answer: int | None) -> CheckResult:
    """Exercise 1: how many positions the stepper's KV cache holds right now."""
    if answer is None:
        return not_answered("Set answer to an int: the number of positions whose keys and values are cached.")
    if not _whole(answer):
        return CheckResult(False, "Give the number of positions as an int.")
    answer = as_whole(answer)
    expected, total = stepper.cache.length, len(stepper.ids)
    if answer == expected:
        return CheckResult(True, f"{expected} of the {total} tokens: the newest token has not been read yet; the next "
                                 "step reads it (one position) and predicts the one after.")
    if answer == total:
        return CheckResult(False, "That counts every token; has the newest one been read by the model yet?")
    return CheckResult(False, f"Not yet: the text has {total} tokens; which of them has the model already read?")


def check_positions_without_cache(prompt_length: int, n_new: int, answer: int | None) -> CheckResult:
    """Exercise 2: positions computed to write ``n_new`` tokens after ``prompt_length`` tokens WITHOUT a cache."""
    if answer is None:
        return not_answered("Set answer to an int: add up the length of the text read at every step.")
    if not _whole(answer):
        return CheckResult(False, "Give the number of positions as an int.")
    answer = as_whole(answer)
    expected = positions_computed(prompt_length, n_new, cache=False)
    cached = positions_computed(prompt_length, n_new, cache=True)
    if answer == expected:
        return CheckResult(True, f"{expected:,} positions, against {cached:,} with the cache: the cost grows with the "
                                 "square of the length without it, and linearly with it.")
    if answer == cached:
        return CheckResult(False, "That is the count WITH the cache; without it, each step reads the whole text again.")
    if answer == positions_computed(prompt_length, n_new + 1, cache=False):
        return CheckResult(False, "One step too many: the last token written is never read.")
    return CheckResult(False, f"Not yet: step 1 reads {prompt_length} positions, step 2 reads {prompt_length + 1}, ... "
                              f"up to step {n_new}.")


def check_forced_end(stepper, answer: str | None) -> CheckResult:
    """Exercise 3: force <|endoftext|> with the stepper, then give its stop reason."""
    if answer is None:
        return not_answered("Set answer to the stop reason (a str) after forcing the end-of-text token.")
    if stepper.stop_reason != STOPPED_AT_END_OF_TEXT:
        return CheckResult(False, "The stepper has not stopped at the end of text yet; use stepper.branch(eos) first.")
    if answer == STOPPED_AT_END_OF_TEXT:
        return CheckResult(True, "The model, or you, wrote <|endoftext|>: the document is over, so generation stops "
                                 "(and the token itself is not shown in the text).")
    return CheckResult(False, f"Look at stepper.stop_reason; {answer!r} is not it.")
