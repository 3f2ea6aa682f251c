"""Checkers for the exercises of ``notebooks/07_why_this_token.ipynb``.

Each checker takes the learner's answer (``None`` while unanswered) and what it is about, and returns a
:class:`~gpt2lab.exercises.checks.CheckResult`; a wrong answer is never an error.
"""

from __future__ import annotations

import torch

from gpt2lab.exercises.checks import (CheckResult, as_head, as_number, as_whole, checker, not_answered, rounding_hint,
                                      same_number)


@checker
def check_probability_by_hand(lab, text: str, position: int, answer) -> CheckResult:
    """Exercise 1: the probability the model gave token ``position`` of ``text``, from the logits alone."""
    if answer is None:
        return not_answered("Set answer to a number between 0 and 1: softmax the logits of the position BEFORE it.")
    ids = lab.to_ids(text)
    logits = lab.trace(ids, keep=["logits"]).logits.float()  # (T, vocab)
    expected = float(torch.softmax(logits[position - 1], dim=-1)[ids[position]])
    if as_number(answer) is None:
        return CheckResult(False, "Give one number (a float, or a one-element tensor).")
    if same_number(answer, expected, abs_tol=1e-7):
        return CheckResult(True, f"p = {expected:.4g}: the softmax of the logits at position {position - 1}, read at the id "
                                 f"of the token that really came next. That is exactly what lab.surprisal reports.")
    same_position = float(torch.softmax(logits[position], dim=-1)[ids[position]])
    if same_number(answer, same_position, abs_tol=1e-7):
        return CheckResult(False, f"Those are the logits AT position {position}: they predict the token after it. "
                                  f"Use the position before.")
    if hint := rounding_hint(answer, expected):
        return CheckResult(False, hint)
    return CheckResult(False, "Take trace.logits[position - 1], softmax it, and read it at ids[position].")


@checker
def check_top_head(attribution, answer) -> CheckResult:
    """Exercise 2: the head with the largest positive direct share of the logit in ``attribution``."""
    if answer is None:
        return not_answered('Set answer to a head, as (layer, head) or a label like "L1 H3" or "1.3".')
    head = as_head(answer)
    if head is None:
        return CheckResult(False, 'Give ONE head as (layer, head), like (1, 3), or as a label like "L1 H3" or "1.3" '
                                  '(layer.head).')
    grid = attribution.head_grid()  # (n_layer, n_head)
    best = divmod(int(grid.argmax()), grid.shape[1])
    if head == best:
        return CheckResult(True, f"L{best[0]} H{best[1]} adds {float(grid[best]):+.3f} to the logit of "
                                 f"{attribution.token!r} directly: more than any other head.")
    if not isinstance(answer, str) and head[::-1] == best:
        return CheckResult(False, f"Swapped? A pair is read as (layer, head): ({head[0]}, {head[1]}) is L{head[0]} H{head[1]}, "
                                  "so give the layer first (or label each number, with L and H).")
    if not (0 <= head[0] < grid.shape[0] and 0 <= head[1] < grid.shape[1]):
        return CheckResult(False, f"This model has layers 0 to {grid.shape[0] - 1} and heads 0 to {grid.shape[1] - 1}.")
    if head == divmod(int(grid.abs().argmax()), grid.shape[1]):
        return CheckResult(False, "That head has the largest share by size, but it pushes the token DOWN; look for the largest positive one.")
    return CheckResult(False, f"L{head[0]} H{head[1]} adds {float(grid[head]):+.3f}; another head adds more. Try attribution.head_grid().")


@checker
def check_patching_peak(result, answer) -> CheckResult:
    """Exercise 3: in the patching grid's first row (the embeddings), the position that recovers the most."""
    if answer is None:
        return not_answered("Set answer to a position (an int), or to the clean token at that position.")
    row = result.recovered[0]  # (T,)
    differ = [t for t, (c, k) in enumerate(zip(result.clean_tokens, result.corrupted_tokens)) if c != k]
    best = max(differ, key=lambda t: float(row[t])) if differ else int(row.argmax())  # only these can change anything
    if isinstance(answer, str):
        matches = [t for t, token in enumerate(result.clean_tokens) if token == answer]
        if not matches:
            return CheckResult(False, f"{answer!r} is not one of the clean prompt's tokens; give a position or a token.")
        position = best if best in matches else matches[0]
    else:
        position = as_whole(answer)
        if position is None:
            return CheckResult(False, "Give a position (an int) or a token of the clean prompt.")
        if not 0 <= position < len(result.clean_tokens):
            return CheckResult(False, f"The prompts have {len(result.clean_tokens)} tokens: give a position from 0 to "
                                      f"{len(result.clean_tokens) - 1}.")
    if position == best:
        return CheckResult(True, f"Position {best}: in the embeddings, only where the two prompts differ can patching change "
                                 f"anything; there the clean token recovers {float(row[best]):.2f} of the difference.")
    if result.clean_tokens[position] == result.corrupted_tokens[position]:
        return CheckResult(False, "The two prompts have the same token there, so their embeddings are identical: patching it changes nothing.")
    return CheckResult(False, f"Position {position} recovers {float(row[position]):.2f}; another recovers more.")
