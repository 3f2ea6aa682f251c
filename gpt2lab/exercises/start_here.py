"""Checkers for the exercises of ``notebooks/00_start_here.ipynb``.

Each checker takes the learner's answer (``None`` while unanswered) and returns a
:class:`~gpt2lab.exercises.checks.CheckResult`; a wrong answer is never an error.
"""

from __future__ import annotations

from gpt2lab.exercises.checks import CheckResult, as_whole, not_answered

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
    "10": ("10_fine_tuning", "adapting GPT-2 to a text and to a task"),
    "11": ("11_assemble_gpt2", "the capstone: write GPT-2's forward pass yourself"),
}


def check_prompt_length(lab, prompt: str, answer: int | None) -> CheckResult:
    """Exercise 1: how many tokens ``prompt`` is (``len(lab.encode(prompt))``)."""
    if answer is None:
        return not_answered("Set answer to an int: the number of token ids lab.encode gives for the prompt.")
    expected = len(lab.encode(prompt))
    answer = as_whole(answer)
    if answer is None:
        return CheckResult(False, "Give the number of tokens as a whole number.")
    if answer == expected:
        return CheckResult(True, f"{expected} tokens for {len(prompt)} characters: the model reads tokens, not letters.")
    if answer == len(prompt):
        return CheckResult(False, "That is the number of characters; count the ids that lab.encode(prompt) returns.")
    if answer == len(prompt.split()):
        return CheckResult(False, "That is the number of words; a word can be one token or several (and spaces ride along).")
    return CheckResult(False, f"Not yet: try len(lab.encode({prompt!r})).")


def check_greedy_and_seeds(answer: bool | None) -> CheckResult:
    """Exercise 2: at temperature 0, do two different seeds give two different essays? (No.)"""
    if answer is None:
        return not_answered("Set answer to True or False, after trying two seeds at temperature 0.")
    if not isinstance(answer, bool):
        return CheckResult(False, "Answer with True or False.")
    if answer is False:
        return CheckResult(True, "Right: temperature 0 is greedy, always the most likely token, so nothing is drawn "
                                 "and the seed never matters.")
    return CheckResult(False, "Try it: at temperature 0 the widget takes the most likely token every time; does the seed "
                              "play any part?")


def check_course_map(answer: str | int | None) -> CheckResult:
    """Exercise 3: which notebook explains how the next token is chosen from the model's scores? ("05")"""
    if answer is None:
        return not_answered('Set answer to a notebook number, like "03".')
    key = f"{int(answer):02d}" if isinstance(answer, int) and not isinstance(answer, bool) else str(answer).strip()[:2]
    if key == "05":
        return CheckResult(True, "Notebook 05: logits, softmax, temperature, top-k and top-p. Notebook 06 then runs the loop.")
    if key == "06":
        return CheckResult(False, "06 runs the loop one token after another; the choice of ONE token is explained just before.")
    if key in COURSE:
        return CheckResult(False, f"{key} is about {COURSE[key][1]}; look for the scores of the next token.")
    return CheckResult(False, f'Give a notebook number from "00" to "{max(COURSE)}".')
