"""Checkers for the exercises of ``notebooks/02_embeddings.ipynb``.

Each checker takes the learner's answer (``None`` while unanswered) and the lab, and returns a
:class:`~gpt2lab.exercises.checks.CheckResult`; a wrong answer is never an error.
"""

from __future__ import annotations

import torch

from gpt2lab.exercises.checks import CheckResult, as_vector, as_whole, as_wholes, checker, not_answered


def token_and_position_rows(lab, text: str, token: str) -> tuple[int, int, int]:
    """Where ``token`` (one token) first and next appears in ``text``: (its id, first position, second position)."""
    ids, token_ids = lab.encode(text), lab.encode(token)
    if len(token_ids) != 1:
        raise ValueError(f"{token!r} is {len(token_ids)} tokens for this model; the exercise needs one token.")
    places = [t for t, i in enumerate(ids) if i == token_ids[0]]
    if len(places) < 2:
        raise ValueError(f"{token!r} appears {len(places)} time(s) in {text!r}; the exercise needs it twice.")
    return token_ids[0], places[0], places[1]


@checker
def check_repeated_token_rows(lab, text: str, token: str, answer) -> CheckResult:
    """Exercise 1: the rows of the token and of the position embedding that the SECOND ``token`` of ``text`` reads.

    The answer is a pair ``(token_row, position_row)``: the token's id, and its place in the text (from 0).
    """
    if answer is None:
        return not_answered("Set answer to a pair of ints, (token_row, position_row).")
    token_id, first, second = token_and_position_rows(lab, text, token)
    pair = as_wholes(answer)
    if pair is None or len(pair) != 2:
        if as_whole(answer) == token_id:
            return CheckResult(False, "That is the token embedding's row; give the position embedding's row too, "
                                      "as a pair (token_row, position_row).")
        return CheckResult(False, "Give two whole numbers as a pair, (token_row, position_row).")
    given = tuple(pair)
    if given == (token_id, second):
        return CheckResult(True, f"Row {token_id} of the token embedding, the same row as the first {token!r} "
                                 f"(position {first}) reads, and row {second} of the position embedding: the same token "
                                 "enters block 0 as two different vectors, one for each place.")
    if given == (second, token_id):
        return CheckResult(False, "Swapped: the token embedding's row first, then the position embedding's.")
    if given == (token_id, first):
        return CheckResult(False, f"Position {first} is where the FIRST {token!r} sits; the second one sits later.")
    if given == (token_id, second + 1):
        return CheckResult(False, "Positions count from 0: the first token is at position 0.")
    if given[1] == token_id:
        return CheckResult(False, "The position embedding's row is the token's place in the text (counting from 0), "
                                  "not its id.")
    if given[0] != token_id:
        return CheckResult(False, f"The token embedding's row is the token's id, the same for every copy of {token!r}: "
                                  "lab.encode gives it.")
    return CheckResult(False, "The position embedding's row is where the token sits in lab.encode(text), counting from 0.")


@checker
def check_block0_input(lab, trace, position: int, answer: torch.Tensor | None) -> CheckResult:
    """Exercise 2: the vector entering block 0 at ``position``, computed from ``lab.weights`` by hand."""
    if answer is None:
        return not_answered("Set answer to a tensor of shape (d_model,), built from lab.weights.")
    expected = trace["blocks.0.resid_pre"][position]
    answer = as_vector(answer, expected)
    if answer is None:
        return CheckResult(False, "Give a tensor of numbers, built from lab.weights.")
    if answer.shape != expected.shape:
        return CheckResult(False, f"Your tensor has shape {tuple(answer.shape)}; it should be one vector of {expected.shape[0]} numbers.")
    if torch.allclose(answer, expected, atol=1e-6):
        return CheckResult(True, "Exactly what the trace records: token embedding row + position embedding row.")
    if torch.allclose(answer, trace["embed"][position], atol=1e-6):
        return CheckResult(False, "That is only the token embedding; add the position embedding of that position.")
    return CheckResult(False, "Take the token's row of token_embedding and add row `position` of position_embedding.")


@checker
def check_position_parameters(lab, answer: int | None) -> CheckResult:
    """Exercise 3: how many numbers the learned position embeddings of this model hold."""
    if answer is None:
        return not_answered("Set answer to an int: the number of parameters in the position embedding matrix.")
    c = lab.config
    expected = c.n_ctx * c.d_model
    answer = as_whole(answer)
    if answer is None:
        return CheckResult(False, "Give the count as one whole number.")
    if answer == expected:
        return CheckResult(True, f"{c.n_ctx} positions x {c.d_model} dimensions = {expected:,}: one learned vector per position.")
    if answer == c.n_ctx:
        return CheckResult(False, f"That is the number of rows; each row holds d_model = {c.d_model} numbers.")
    if answer == c.vocab_size * c.d_model:
        return CheckResult(False, "That is the token embedding (one row per token); count the position embedding's rows.")
    return CheckResult(False, "It is one row per position in the context window, d_model numbers per row.")
