"""Checkers for the exercises of ``notebooks/03_masked_self_attention.ipynb``.

Each checker takes the learner's answer (``None`` while unanswered) and the trace it is about, and returns a
:class:`~gpt2lab.exercises.checks.CheckResult`; a wrong answer is never an error. The expected answers come
from the trace, i.e. from GPT-2's own forward pass.
"""

from __future__ import annotations

import torch

from gpt2lab.exercises.checks import CheckResult, as_vector, as_whole, checker, not_answered


@checker
def check_masked_count(trace, answer: int | None) -> CheckResult:
    """Exercise 1: how many weights of ONE head's pattern, for this trace, are exactly zero because of the mask."""
    if answer is None:
        return not_answered("Set answer to an int: the number of cells above the diagonal of one head's pattern.")
    T = len(trace.tokens)
    expected = T * (T - 1) // 2
    answer = as_whole(answer)
    if answer is None:
        return CheckResult(False, "Give the count as one whole number, such as 10.")
    if answer == expected:
        return CheckResult(True, f"{T} tokens: {T} x {T} = {T * T} cells, of which {expected} lie above the diagonal; "
                                 "each is a key later than its query, so its weight is exactly 0.")
    if answer == T * (T + 1) // 2:
        return CheckResult(False, "That counts the cells a query MAY look at (on and below the diagonal); count the others.")
    if answer == T * T:
        return CheckResult(False, "That is every cell of the pattern; only those above the diagonal are masked.")
    return CheckResult(False, f"The pattern is {T} x {T}; count the cells where the key comes after the query.")


@checker
def check_head_output(trace, layer: int, head: int, position: int, answer: torch.Tensor | None) -> CheckResult:
    """Exercise 2: head ``head``'s output z at ``position`` in block ``layer``, from its pattern and values."""
    if answer is None:
        return not_answered("Set answer to a tensor of shape (d_head,): the pattern's row times the values.")
    expected = trace["attn.z", layer][head, position]
    answer = as_vector(answer, expected)
    if answer is None:
        return CheckResult(False, "Give a tensor of numbers, such as pattern_row @ v.")
    if answer.shape != expected.shape:
        return CheckResult(False, f"Your tensor has shape {tuple(answer.shape)}; z of one head at one position has "
                                  f"{expected.shape[0]} numbers (d_head).")
    scale = max(1.0, expected.abs().max().item())
    if torch.allclose(answer, expected, atol=1e-5 * scale, rtol=0):
        return CheckResult(True, "Exactly the trace's attn.z: a weighted average of the value vectors, "
                                 "weighted by the query's row of the pattern.")
    if torch.allclose(answer, trace["attn.v", layer][head, position], atol=1e-5 * scale, rtol=0):
        return CheckResult(False, "That is only this token's own value; mix ALL the values, weighted by the pattern's row.")
    return CheckResult(False, "Take row `position` of the head's pattern and multiply it with the head's values (pattern_row @ v).")


@checker
def check_most_attended(trace, layer: int, head: int, position: int, answer: int | None) -> CheckResult:
    """Exercise 3: the position of the key that query ``position`` gives the most weight, in that layer and head."""
    if answer is None:
        return not_answered("Set answer to an int: the position (0, 1, 2, ...) of the key with the tallest bar.")
    row = trace["attn.pattern", layer][head, position]  # (T_all,)
    best = int(row.argmax())
    answer = as_whole(answer)  # an int, or the 0-d tensor that pattern[...].argmax() returns
    if answer is None:
        return CheckResult(False, "Give the key's position as one whole number, such as 0 for the first token.")
    if answer == best:
        return CheckResult(True, f"Position {best} ({trace.tokens[best]!r}) gets {row[best].item():.0%} of the weight.")
    if not 0 <= answer < len(row):
        return CheckResult(False, f"Give a position between 0 and {position}.")
    if answer > position:
        return CheckResult(False, f"Position {answer} comes after the query: the mask gives it weight 0. Look at or before {position}.")
    return CheckResult(False, f"Position {answer} gets {row[answer].item():.0%}; another key gets more. "
                              "The explorer's 'one query' view shows every bar.")
