"""Checkers for the exercises of ``notebooks/02_embeddings.ipynb``.

Each checker takes the learner's answer (``None`` while unanswered) and the lab, and returns a
:class:`~gpt2lab.exercises.checks.CheckResult`; a wrong answer is never an error.
"""

from __future__ import annotations

import torch

from gpt2lab.exercises.checks import answer_tensor, CheckResult, not_answered


def check_embedding_row(lab, word: str, answer: int | None) -> CheckResult:
    """Exercise 1: the row of the token embedding matrix that ``word`` (one token) reads."""
    if answer is None:
        return not_answered("Set answer to a row number (an int): the token id of the word.")
    ids = lab.encode(word)
    if len(ids) != 1:
        return CheckResult(False, f"{word!r} is {len(ids)} tokens in this tokenizer; pick a word that is one token.")
    if answer == ids[0]:
        return CheckResult(True, f"Row {answer}: a token's id is simply its row in the embedding matrix.")
    return CheckResult(False, "Not that row; the row number is the token's id, which lab.encode gives you.")


def check_block0_input(lab, trace, position: int, answer: torch.Tensor | None) -> CheckResult:
    """Exercise 2: the vector entering block 0 at ``position``, computed from ``lab.weights`` by hand."""
    if answer is None:
        return not_answered("Set answer to a tensor of shape (d_model,), built from lab.weights.")
    expected = trace["blocks.0.resid_pre"][position]
    answer = answer_tensor(answer, expected)
    if answer.shape != expected.shape:
        return CheckResult(False, f"Your tensor has shape {tuple(answer.shape)}; it should be one vector of {expected.shape[0]} numbers.")
    if torch.allclose(answer, expected, atol=1e-6):
        return CheckResult(True, "Exactly what the trace records: token embedding row + position embedding row.")
    if torch.allclose(answer, trace["embed"][position], atol=1e-6):
        return CheckResult(False, "That is only the token embedding; add the position embedding of that position.")
    return CheckResult(False, "Not yet: take the token's row of token_embedding and add row `position` of position_embedding.")


def check_position_parameters(lab, answer: int | None) -> CheckResult:
    """Exercise 3: how many numbers the learned position embeddings of this model hold."""
    if answer is None:
        return not_answered("Set answer to an int: the number of parameters in the position embedding matrix.")
    expected = lab.config.n_ctx * lab.config.d_model
    if answer == expected:
        return CheckResult(True, f"{lab.config.n_ctx} positions x {lab.config.d_model} dimensions = {expected:,}: one learned vector per position.")
    return CheckResult(False, "Not yet: it is one row per position in the context window, d_model numbers per row.")
