"""Checkers for the exercises of ``notebooks/09_how_gpt2_learned.ipynb``.

Each checker takes the learner's answer (``None`` while unanswered) and what it is about, and returns a
:class:`~gpt2lab.exercises.checks.CheckResult`; a wrong answer is never an error.
"""

from __future__ import annotations

import math

import torch

from gpt2lab.exercises.checks import CheckResult, as_number, not_answered


def check_token_loss(trace, targets, position: int, answer) -> CheckResult:
    """Exercise 1: the loss at ``position``: minus the log-probability the model gave the true next token."""
    if answer is None:
        return not_answered("Set answer to one number: -log_softmax(trace.logits[position])[targets[position]].")
    answer = as_number(answer)
    if answer is None:
        return CheckResult(False, "Give one number (a float or a one-number tensor).")
    logp = torch.log_softmax(trace.logits[position].double(), -1)  # (vocab,)
    true_id = int(targets[position])
    expected = -logp[true_id].item()
    if abs(answer - expected) < 1e-3 * max(1.0, expected):
        return CheckResult(True, f"{expected:.3f} nats: the model gave the true next token a probability of "
                                 f"{math.exp(-expected):.2%}.")
    if abs(answer + expected) < 1e-3 * max(1.0, expected):
        return CheckResult(False, "Right size, wrong sign: the loss is MINUS the log-probability (a positive number).")
    if abs(answer - math.exp(-expected)) < 1e-4:
        return CheckResult(False, "That is the probability itself; the loss is minus its logarithm.")
    if abs(answer + logp[int(trace.ids[position])].item()) < 1e-3 * max(1.0, expected):
        return CheckResult(False, "That scores the token AT the position; the target is the NEXT one, targets[position].")
    return CheckResult(False, "Not yet: take the log-softmax of the logits at that position and read it at the target id.")


def check_uniform_loss(vocab_size: int, answer) -> CheckResult:
    """Exercise 2: the loss of a model that spreads its probability evenly over ``vocab_size`` tokens."""
    if answer is None:
        return not_answered("Set answer to one number: the loss (in nats) of a uniform guess over the vocabulary.")
    answer = as_number(answer)
    if answer is None:
        return CheckResult(False, "Give one number.")
    expected = math.log(vocab_size)
    if abs(answer - expected) < 1e-3:
        return CheckResult(True, f"log({vocab_size:,}) = {expected:.3f} nats, perplexity {vocab_size:,}: where an "
                                 "untrained model starts.")
    if abs(answer - vocab_size) < 0.5:
        return CheckResult(False, "That is the perplexity of the uniform guess; the loss is its logarithm.")
    if abs(answer - 1 / vocab_size) < 1e-6:
        return CheckResult(False, "That is the probability of each token; the loss is minus its logarithm.")
    return CheckResult(False, "Not yet: every token gets probability 1 / vocab_size; the loss is minus its log.")
