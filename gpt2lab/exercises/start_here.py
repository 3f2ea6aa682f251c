"""Checkers for the exercises of ``notebooks/00_start_here.ipynb``.

Each checker takes the learner's answer (``None`` while unanswered) and returns a
:class:`~gpt2lab.exercises.checks.CheckResult`; a wrong answer is never an error.
"""

from __future__ import annotations

import math
import re

from gpt2lab.exercises.checks import CheckResult, as_number, as_whole, checker, not_answered, rounding_hint, same_number

# The course, notebook by notebook: number -> (file stem, what it is about).
COURSE = {
    "00": ("00_start_here", "the essay generator, the whole picture and this map"),
    "01": ("01_tokenization", "text to token ids and back"),
    "02": ("02_embeddings", "ids to vectors: token and position embeddings"),
    "03": ("03_masked_self_attention", "how positions read each other"),
    "04": ("04_transformer_block", "attention + MLP + LayerNorm + residual stream"),
    "05": ("05_logits_and_sampling", "scores for the next token, and choosing one"),
    "06": ("06_autoregressive_generation", "one token at a time, the KV cache, when to stop"),
    "07": ("07_why_this_token", "why this token: surprise, attribution, ablation and patching"),
    "08": ("08_model_sizes", "small, medium, large, XL"),
    "09": ("09_how_gpt2_learned", "the next-token objective, cross-entropy, a small GPT-2 trained live"),
    "10": ("10_fine_tuning", "tasks by prompting alone, then adapting GPT-2 to a text and to a task"),
    "11": ("11_assemble_gpt2", "the capstone: write GPT-2's forward pass yourself"),
}


@checker
def check_prompt_length(lab, prompt: str, answer: int | None) -> CheckResult:
    """Exercise 1: how many tokens ``prompt`` is (``len(lab.encode(prompt))``)."""
    if answer is None:
        return not_answered("Set answer to an int: the number of token ids lab.encode gives for the prompt.")
    expected = len(lab.encode(prompt))
    answer = as_whole(answer)
    if answer is None:
        return CheckResult(False, "Give the number of tokens as a whole number, such as 7.")
    if answer == expected:
        return CheckResult(True, f"{expected} tokens for {len(prompt)} characters: the model reads tokens, not letters.")
    if answer == len(prompt):
        return CheckResult(False, "That is the number of characters; count the ids that lab.encode(prompt) returns.")
    if answer == len(prompt.split()):
        return CheckResult(False, "That is the number of words; a word can be one token or several (and spaces ride along).")
    return CheckResult(False, f"Try len(lab.encode({prompt!r})).")


@checker
def check_first_tokens_probability(essay, answer, n: int = 3) -> CheckResult:
    """Exercise 2: the chance of drawing the essay's first ``n`` tokens, in that order.

    Each token was drawn with probability ``step.prob`` given the tokens before it, so the chance of the
    whole run is the product of those probabilities (of the rounded ones the notebook prints, too), computed or
    typed to the digits :func:`~gpt2lab.exercises.checks.same_number` accepts.
    """
    if answer is None:
        return not_answered(f"Set answer to a number between 0 and 1: the chance that the first {n} tokens came out "
                            "exactly as they did.")
    value = as_number(answer)
    if value is None:
        return CheckResult(False, "Give one number between 0 and 1, such as 0.05.")
    probs = [step.prob for step in essay.steps[:n]]
    n = len(probs)
    expected = math.prod(probs)
    if same_number(answer, expected) or same_number(answer, math.prod(round(p, 3) for p in probs)):
        return CheckResult(True, f"{' x '.join(f'{p:.3f}' for p in probs)} = {expected:.4g}: each token is drawn given "
                                 "the ones before it, so the chances multiply. A whole essay is a product of hundreds "
                                 "of such numbers, which is why the same seed is needed to see it again.")
    if not 0 <= value <= 1:
        return CheckResult(False, f"A chance lies between 0 and 1; {value:g} does not.")
    if same_number(answer, sum(probs)) or same_number(answer, sum(probs) / n):
        return CheckResult(False, "Adding (or averaging) gives the chance of one OR another; this one needs the first "
                                  "AND the second AND the third, each given the ones before: multiply.")
    if any(same_number(answer, p) for p in probs):
        return CheckResult(False, "That is the chance of one token; the run needs all of them, one after another.")
    if hint := rounding_hint(answer, expected):
        return CheckResult(False, hint)
    return CheckResult(False, f"Multiply the probabilities of the first {n} steps: essay.steps[0].prob, "
                              f"essay.steps[1].prob, ...")


def notebook_number(answer) -> str | None:
    """The ONE notebook a learner's answer names, as its two-digit number; ``None`` if it names none, or several.

    A str may add the notebook's own words after its number (its file name, its title), but nothing else: "5.5",
    "5 or 6" and "notebook 5, 6" name no single notebook.

    >>> [notebook_number(a) for a in (5, "05", "5", "notebook 05", "Notebook 5", "05_logits_and_sampling", "five")]
    ['05', '05', '05', '05', '05', '05', None]
    >>> [notebook_number(a) for a in ("5.5", "5 or 6", "05, 06", "5.0", "05 · Logits and sampling")]
    [None, None, None, '05', '05']
    """
    if isinstance(answer, str):
        if re.fullmatch(r"\s*\d+(?:\.\d+)?\s*", answer):
            answer = float(answer)  # "5", " 05 ", "5.0" (and "5.5", which is no notebook) are read as numbers
        else:
            found = re.fullmatch(r"\s*(?:notebook|nb)?\s*#?\s*(\d{1,2})(?:[\s_.:·-](.*))?", answer,
                                 flags=re.IGNORECASE | re.DOTALL)
            if not found:
                return None
            key = f"{int(found.group(1)):02d}"
            rest = _words(found.group(2) or "")
            return key if key in COURSE and rest <= _words(" ".join(COURSE[key]) + " ipynb") else None
    whole = as_whole(answer)
    return f"{whole:02d}" if whole is not None and whole >= 0 else None


def _words(text: str) -> set[str]:
    """The lower-case words and numbers of ``text``: what may follow a notebook's number is its own words."""
    return set(re.findall(r"[a-z0-9]+", text.lower()))


@checker
def check_course_map(answer: str | int | None) -> CheckResult:
    """Exercise 3: which notebook explains how the next token is chosen from the model's scores? ("05")

    Accepts the number in any natural form: ``5``, ``"05"``, ``"notebook 5"``, ``"05_logits_and_sampling"``.
    """
    if answer is None:
        return not_answered('Set answer to a notebook number, like "03" or 3.')
    key = notebook_number(answer)
    if key == "05":
        return CheckResult(True, "Notebook 05: logits, softmax, temperature, top-k and top-p. Notebook 06 then runs the loop.")
    if key == "06":
        return CheckResult(False, "06 runs the loop one token after another; the choice of ONE token is explained just before.")
    if key in COURSE:
        return CheckResult(False, f"{key} is about {COURSE[key][1]}; look for the scores of the next token.")
    return CheckResult(False, f'Give one notebook number from the map, "00" to "{max(COURSE)}" (or 0 to '
                              f'{int(max(COURSE))}).')
