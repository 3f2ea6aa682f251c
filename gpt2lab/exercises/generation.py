"""Checkers for the exercises of ``notebooks/06_autoregressive_generation.ipynb``.

Each checker takes the learner's answer (``None`` while unanswered) and what it is about, and returns a
:class:`~gpt2lab.exercises.checks.CheckResult`; a wrong answer is never an error.
"""

from __future__ import annotations

from gpt2lab.generation.loop import positions_computed
from gpt2lab.generation.stopping import STOPPED_AT_END_OF_TEXT
from gpt2lab.exercises.checks import CheckResult, as_whole, checker, not_answered


def cache_numbers_per_position(cache) -> int:
    """How many numbers a KV cache keeps for one position: a key and a value of d_head numbers, per head, per block."""
    return 2 * sum(keys.shape[0] * keys.shape[2] for keys in cache.keys)  # each (n_head, n_ctx, d_head)


@checker
def check_cache_after_next_step(stepper, answer: int | None) -> CheckResult:
    """Exercise 1: how many numbers the KV cache will hold for the positions it has read, right after the next step.

    The next step reads every token not read yet (the newest one, at least), so afterwards the cache holds all
    ``len(stepper.ids)`` positions, each with :func:`cache_numbers_per_position` numbers.
    """
    if answer is None:
        return not_answered("Set answer to an int: positions read after the next step, times the numbers the cache "
                            "keeps for each position.")
    if stepper.stop_reason is not None:
        return CheckResult(False, f"This stepper has stopped ({stepper.stop_reason}), so there is no next step; run the "
                                  "cells of section 1 again, or make a new Stepper.")
    answer = as_whole(answer)
    if answer is None:
        return CheckResult(False, "Give the count as one whole number (an int).")
    per_position, n_layer = cache_numbers_per_position(stepper.cache), len(stepper.cache.keys)
    positions = len(stepper.ids)
    expected = positions * per_position
    if answer == expected:
        return CheckResult(True, f"{positions} positions x {per_position:,} numbers = {expected:,}: the step reads the newest "
                                 "token, so every token of the text is then in the cache; the token it writes waits for "
                                 "the step after.")
    if answer in (positions, positions - 1, positions + 1):
        return CheckResult(False, "That counts positions; each position keeps a key and a value per head and per block: "
                                  "multiply by the numbers per position.")
    if answer == stepper.cache.length * per_position:
        return CheckResult(False, "That is the cache NOW; the next step reads the newest token, so one more position (at "
                                  "least) is stored.")
    if answer == (positions + 1) * per_position:
        return CheckResult(False, "One position too many: the token the next step writes is not read until the step after.")
    if answer * 2 == expected:
        return CheckResult(False, "Half of it: each position keeps a key AND a value.")
    if answer * n_layer == expected:
        return CheckResult(False, "That is one block's share; every block keeps its own keys and values.")
    return CheckResult(False, f"The text will have {positions} positions read; each keeps a key and a value of d_head "
                              "numbers, for every head of every block.")


@checker
def check_positions_without_cache(prompt_length: int, n_new: int, answer: int | None) -> CheckResult:
    """Exercise 2: positions computed to write ``n_new`` tokens after ``prompt_length`` tokens WITHOUT a cache."""
    if answer is None:
        return not_answered("Set answer to an int: add up the length of the text read at every step.")
    answer = as_whole(answer)
    if answer is None:
        return CheckResult(False, "Give the number of positions as an int.")
    expected = positions_computed(prompt_length, n_new, cache=False)
    cached = positions_computed(prompt_length, n_new, cache=True)
    if answer == expected:
        return CheckResult(True, f"{expected:,} positions, against {cached:,} with the cache: the cost grows with the "
                                 "square of the length without it, and linearly with it.")
    if answer == cached:
        return CheckResult(False, "That is the count WITH the cache; without it, each step reads the whole text again.")
    if answer == positions_computed(prompt_length, n_new + 1, cache=False):
        return CheckResult(False, "One step too many: the last token written is never read.")
    return CheckResult(False, f"Step 1 reads {prompt_length} positions, step 2 reads {prompt_length + 1}, ... "
                              f"up to step {n_new}.")


@checker
def check_forced_end(stepper, answer: str | None) -> CheckResult:
    """Exercise 3: force <|endoftext|> with the stepper, then give its stop reason."""
    if answer is None:
        return not_answered("Set answer to the stop reason (a str) after forcing the end-of-text token.")
    if stepper.stop_reason != STOPPED_AT_END_OF_TEXT:
        return CheckResult(False, "The stepper has not stopped at the end of text yet; force it first with "
                                  "stepper.step(token_id=end_of_text_id(lab)) or stepper.branch(end_of_text_id(lab)).")
    if not isinstance(answer, str):
        return CheckResult(False, "Give the stop reason as a str: the value of stepper.stop_reason.")
    if answer == STOPPED_AT_END_OF_TEXT:
        return CheckResult(True, "The model, or you, wrote <|endoftext|>: the document is over, so generation stops "
                                 "(and the token itself is not shown in the text).")
    return CheckResult(False, f"Look at stepper.stop_reason; {answer!r} is not it.")
