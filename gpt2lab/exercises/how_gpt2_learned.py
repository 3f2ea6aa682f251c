"""Checkers for the exercises of ``notebooks/09_how_gpt2_learned.ipynb``.

Each checker takes the learner's answer (``None`` while unanswered) and what it is about, and returns a
:class:`~gpt2lab.exercises.checks.CheckResult`; a wrong answer is never an error.
"""

from __future__ import annotations

import math

import torch

from gpt2lab.exercises.checks import CheckResult, as_number, checker, not_answered, rounding_hint, same_number


@checker
def check_token_loss(trace, targets, position: int, answer) -> CheckResult:
    """Exercise 1: the loss at ``position``: minus the log-probability the model gave the true next token."""
    if answer is None:
        return not_answered("Set answer to one number: -log_softmax(trace.logits[position])[targets[position]].")
    if as_number(answer) is None:
        return CheckResult(False, "Give one number (a float or a one-number tensor).")
    logp = torch.log_softmax(trace.logits[position].double(), -1)  # (vocab,)
    true_id = int(targets[position])
    expected = -logp[true_id].item()
    if same_number(answer, expected):
        return CheckResult(True, f"{expected:.3f} nats: the model gave the true next token a probability of "
                                 f"{math.exp(-expected):.2%}.")
    if same_number(answer, -expected):
        return CheckResult(False, "Right size, wrong sign: the loss is MINUS the log-probability (a positive number).")
    if same_number(answer, math.exp(-expected)):
        return CheckResult(False, "That is the probability itself; the loss is minus its logarithm.")
    if same_number(answer, -logp[int(trace.ids[position])].item()):
        return CheckResult(False, "That scores the token AT the position; the target is the NEXT one, targets[position].")
    if hint := rounding_hint(answer, expected):
        return CheckResult(False, hint)
    return CheckResult(False, "Take the log-softmax of the logits at that position and read it at the target id.")


@checker
def check_typical_probability(trace, targets, answer) -> CheckResult:
    """Exercise 2: the probability the model typically gave the true next token: exp(-loss), one over the perplexity.

    The loss is the mean of minus the log-probabilities, so exp(-loss) is their geometric mean: the one
    probability that, given to every true next token, would score the same loss.
    """
    if answer is None:
        return not_answered("Set answer to one number between 0 and 1, computed from the mean loss.")
    value = as_number(answer)
    if value is None:
        return CheckResult(False, "Give one number between 0 and 1 (a float or a one-number tensor).")
    logp = torch.log_softmax(trace.logits.double(), -1)  # (T, vocab)
    true_logp = logp[torch.arange(len(targets), device=logp.device), torch.as_tensor(targets).to(logp.device)]  # (T,)
    loss = -true_logp.mean().item()
    expected = math.exp(-loss)
    if same_number(answer, expected):
        return CheckResult(True, f"exp(-{loss:.3f}) = {expected:.4f}, one over the perplexity {math.exp(loss):.1f}: the "
                                 "loss averages log-probabilities, so undoing the log gives their geometric mean.")
    if same_number(answer, math.exp(loss)):
        return CheckResult(False, "That is the perplexity, exp(+loss); the probability is one over it.")
    if same_number(answer, true_logp.exp().mean().item()):
        return CheckResult(False, "That is the plain average of the probabilities; the loss averages their LOGARITHMS, "
                                  "so undo the log of the mean loss: exp(-loss).")
    if same_number(answer, loss):
        return CheckResult(False, "That is the loss itself; turn it back into a probability with exp(-loss).")
    if not 0 <= value <= 1:
        return CheckResult(False, f"A probability lies between 0 and 1; {value:g} does not.")
    if hint := rounding_hint(answer, expected):
        return CheckResult(False, hint)
    return CheckResult(False, "The loss is minus the mean log-probability: undo the minus and the log.")
