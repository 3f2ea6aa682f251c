"""Checkers for the exercises of ``notebooks/01_tokenization.ipynb``.

Each checker takes the learner's answer (``None`` while unanswered) and returns a
:class:`~gpt2lab.exercises.checks.CheckResult`; it never raises for a wrong answer. The answers are
checked against GPT-2's real tokenizer, shipped with gpt2lab.
"""

from __future__ import annotations

from gpt2lab.tokenizer.bpe import BPETokenizer, gpt2_tokenizer
from gpt2lab.exercises.checks import NOT_TEXT, CheckResult, checker, is_text, not_answered

FIRST_MERGE_TEXT = " strawberry"  # exercise 2's pre-token: its first merge is not its first pair
EXPENSIVE_MAX_CHARS = 10  # exercise 3: at most this many characters ...
EXPENSIVE_MIN_TOKENS = 10  # ... for at least this many tokens


@checker
def check_space_inside_token(word: str | None, tokenizer: BPETokenizer | None = None) -> CheckResult:
    """Exercise 1: a word that is ONE token after a space, but two or more tokens with no space before it.

    For example ``"elephant"``: ``" elephant"`` is one token, ``"elephant"`` is two (``"ele"``, ``"phant"``).
    """
    if word is None:
        return not_answered("Set word to a str, such as \"house\", and run the cell again.")
    if not isinstance(word, str) or not word.strip() or any(c.isspace() for c in word):
        return CheckResult(False, "Give one word as a str, with no spaces in it.")
    if not is_text(word):
        return CheckResult(False, NOT_TEXT)
    tok = tokenizer or gpt2_tokenizer()
    with_space, without = len(tok.encode(" " + word)), len(tok.encode(word))
    if with_space == 1 and without >= 2:
        return CheckResult(True, f"' {word}' is 1 token but '{word}' is {without}: in web text most words "
                                 "follow a space, so the spaced form was merged into one token.")
    return CheckResult(False, f"' {word}' is {with_space} token(s) and '{word}' is {without}; try a longer, "
                              "common English word written in lower case.")


@checker
def check_first_merge(pair: tuple[str, str] | None, text: str = FIRST_MERGE_TEXT,
                      tokenizer: BPETokenizer | None = None) -> CheckResult:
    """Exercise 2: the first pair merged in ``text``, in printable form, e.g. ``("Ġ", "s")``.

    The first merge is the pair of neighbours with the lowest rank, wherever it is in the word.
    """
    if pair is None:
        return not_answered("Set pair to two strings in printable form, like (\"Ġ\", \"s\").")
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
        return CheckResult(False, "Give the pair as a tuple of two strings, like (\"Ġ\", \"s\").")
    tok = tokenizer or gpt2_tokenizer()
    merges = tok.encode_and_show_work(text).pieces[0].merges
    first = merges[0]
    pair = tuple(pair)
    if pair == first.pair:
        return CheckResult(True, f"{first.pair[0]} + {first.pair[1]} has rank {first.rank}, the lowest of "
                                 f"all neighbouring pairs in {text!r}, so it merges first.")
    if " " in "".join(pair):
        return CheckResult(False, "Write the space as Ġ, as merges.txt does.")
    rank = tok.ranks.get(pair)
    if rank is None:
        return CheckResult(False, f"{pair} is not in merges.txt at all; look up each neighbouring pair in tok.ranks.")
    return CheckResult(False, f"{pair} has rank {rank}; some other neighbouring pair has a lower one.")


@checker
def check_expensive_text(text: str | None, tokenizer: BPETokenizer | None = None) -> CheckResult:
    """Exercise 3: a text of at most 10 characters that costs at least 10 tokens."""
    if text is None:
        return not_answered("Set text to a str and run the cell again.")
    if not isinstance(text, str):
        return CheckResult(False, "Give the text as a str.")
    if not is_text(text):
        return CheckResult(False, NOT_TEXT)
    tok = tokenizer or gpt2_tokenizer()
    n_tokens = len(tok.encode(text, allow_special=False))
    if len(text) > EXPENSIVE_MAX_CHARS:
        return CheckResult(False, f"That is {len(text)} characters; use at most {EXPENSIVE_MAX_CHARS}.")
    if n_tokens >= EXPENSIVE_MIN_TOKENS:
        return CheckResult(True, f"{len(text)} characters, {len(text.encode('utf-8'))} bytes, {n_tokens} tokens: "
                                 "characters that were rare in GPT-2's training text stay split into bytes.")
    return CheckResult(False, f"{len(text)} character(s) cost only {n_tokens} token(s); which characters take "
                              "several bytes and were rare in English web text?")
