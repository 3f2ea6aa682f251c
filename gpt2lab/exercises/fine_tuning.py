"""Checkers for the exercises of ``notebooks/10_fine_tuning.ipynb``.

Each checker takes the learner's answer (``None`` while unanswered) and the objects the notebook built,
and returns a :class:`~gpt2lab.exercises.checks.CheckResult`; it never raises for a wrong answer.
"""

from __future__ import annotations

import math
import re

import torch

from gpt2lab.training.classify import Classifier, LabelledData, last_token_positions
from gpt2lab.exercises.checks import (NOT_TEXT, CheckResult, as_number, as_wholes, checker, is_text, not_answered,
                                      rounding_hint, same_number)


def normalised_sentence(text: str) -> str:
    """A sentence reduced to its lower-case words: case, spaces and punctuation do not make a sentence new.

    >>> normalised_sentence("  The ship sank.  ") == normalised_sentence("the ship   SANK")
    True
    """
    return " ".join(re.findall(r"[\w']+", text.lower()))


@checker
def check_loss_per_character(answer, loss: float, n_tokens: int, n_chars: int) -> CheckResult:
    """Exercise 1: a loss of ``loss`` nats per token, over a text of ``n_tokens`` tokens and ``n_chars`` characters,
    as nats per character (within 1%, or typed to the digits :func:`~gpt2lab.exercises.checks.same_number` accepts):
    the total, ``loss * n_tokens``, spread over the characters instead."""
    if answer is None:
        return not_answered("Set answer to one number: nats per character.")
    value = as_number(answer)  # a float, a NumPy scalar or a 0-d tensor
    if value is None:
        return CheckResult(False, "Give the loss per character as one number, such as 1.2.")
    right = loss * n_tokens / n_chars
    close = lambda a, b: same_number(a, b, rel_tol=0.01)  # noqa: E731  (the loss it starts from is printed rounded)
    if close(answer, right):
        return CheckResult(True, f"{loss:.3f} nats x {n_tokens:,} tokens / {n_chars:,} characters = {right:.3f} nats per "
                                 "character: a measure that no longer depends on how long the tokens are, so models "
                                 "with different tokenizers can be compared on it.")
    if close(answer, loss * n_chars / n_tokens):
        return CheckResult(False, "Upside down: the total loss is loss x tokens; spread it over the characters (divide by "
                                  "them).")
    if close(answer, loss):
        return CheckResult(False, "That is the loss per token; a token here is several characters long.")
    if close(answer, math.exp(loss)) or close(answer, math.exp(right)):
        return CheckResult(False, "That is a perplexity; the question asks for the loss, in nats.")
    if hint := rounding_hint(answer, right):
        return CheckResult(False, hint)
    return CheckResult(False, "Multiply the loss per token by the number of tokens (the whole text's loss), then divide "
                              "by the number of characters.")


@checker
def check_last_token_positions(answer, input_ids: torch.Tensor, pad_id: int) -> CheckResult:
    """Exercise 2: for each row of a right-padded batch, the position the classifier reads."""
    if answer is None:
        return not_answered("Set answer to a list with one position per sentence, such as [3, 7].")
    right = last_token_positions(torch.as_tensor(input_ids), pad_id).tolist()
    given = as_wholes(answer)
    if given is None:
        return CheckResult(False, "Give a list of whole numbers, one position per sentence, such as [3, 7].")
    if given == right:
        return CheckResult(True, f"{right}: each sentence's last real token, the only position whose hidden state "
                                 "has attended to the whole sentence; the pads after it are ignored.")
    if len(given) != len(right):
        return CheckResult(False, f"The batch has {len(right)} sentences; give {len(right)} positions.")
    if given == [r + 1 for r in right]:
        return CheckResult(False, "Those are the sentence lengths; positions count from 0, so the last real token is one less.")
    if all(g == input_ids.shape[1] - 1 for g in given):
        return CheckResult(False, "That is the last column for every row, a pad for the shorter sentences; find the last token that is not a pad.")
    return CheckResult(False, f"Look for the rightmost token in each row that is not the pad id {pad_id}.")


@checker
def check_own_sentence(sentence: str | None, label: str | None, clf: Classifier, data: LabelledData) -> CheckResult:
    """Exercise 3: a sentence of the learner's own (not in the dataset) that ``clf`` puts in class ``label``."""
    if sentence is None or label is None:
        return not_answered("Set sentence to a str and label to one of the classes, then run the cell again.")
    if not isinstance(sentence, str) or len(sentence.split()) < 3:
        return CheckResult(False, "Write a sentence of at least three words, as a str.")
    if not is_text(sentence):
        return CheckResult(False, NOT_TEXT)
    if not isinstance(label, str) or label not in clf.classes:
        return CheckResult(False, f"label must be one of {', '.join(clf.classes)}.")
    known = {normalised_sentence(ex.text) for ex in data.train + data.test}
    if normalised_sentence(sentence) in known:
        return CheckResult(False, "That sentence is in the dataset; write one of your own.")
    probs = clf.probabilities([sentence])[0]
    predicted = clf.classes[int(probs.argmax())]
    if predicted == label:
        return CheckResult(True, f"The classifier says {predicted} ({probs.max().item():.0%} sure) for a sentence it has never seen.")
    return CheckResult(False, f"The classifier says {predicted} ({probs.max().item():.0%}), not {label}; "
                              f"try words that are typical of {label} sentences.")
