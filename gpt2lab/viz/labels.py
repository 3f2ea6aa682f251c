"""How a token is written in every view: one place for the rule, used by every figure, table and widget.

A token's text can hold what a picture cannot show as it is: spaces and newlines (invisible) and control
characters (invisible, or garbage). :func:`token_label` makes both visible: ``" a\\n"`` -> ``"·a↵"``, and
``"\\x03"`` -> ``"<03>"``. HTML views escape the label (``html.escape``); figures draw it as it is, since
every :class:`~gpt2lab.viz.figures.LabFigure` draws its text literally (a ``$`` is a dollar sign there,
never the start of matplotlib's mathematics, so ``"$$x$$"`` is safe everywhere).

Pieces of a character (an emoji is 4 bytes, often split over tokens) arrive already written as
``"[😀 1-2/4]"`` by :func:`gpt2lab.tokenizer.bpe.describe_bytes`.
"""

from __future__ import annotations

import unicodedata

# how whitespace is drawn, so that a token's spaces and newlines can be seen
VISIBLE = {" ": "·", "\n": "↵", "\t": "⇥", "\r": "␍"}


def token_label(token: str) -> str:
    """A token with its whitespace and control characters made visible: ``token_label(" the\\n") == "·the↵"``.

    >>> token_label(" $a\\x03b")
    '·$a<03>b'
    """
    out = []
    for char in token:
        if char in VISIBLE:
            out.append(VISIBLE[char])
        elif unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):  # invisible: show its code point
            out.append(f"<{ord(char):02X}>")
        else:
            out.append(char)
    return "".join(out)


def quoted_token(token: str) -> str:
    """A token in quotes for a title: ``quoted_token(" cat") == "'·cat'"``."""
    return f"'{token_label(token)}'"


def short_label(token: str, width: int = 14) -> str:
    """:func:`token_label` cut to ``width`` characters with an ellipsis, so long tokens do not crowd an
    axis or a table: ``short_label(" acknowledgement", 8) == "·acknow…"``."""
    label = token_label(token)
    return label if len(label) <= width else label[: width - 1] + "…"


def plural(n: int, word: str) -> str:
    """A count with its noun, in the right number: ``plural(1, "token") == "1 token"``,
    ``plural(8192, "token") == "8,192 tokens"``."""
    return f"{n:,} {word}{'s' * (n != 1)}"


def share_label(p: float) -> str:
    """A probability as a short percentage that never reads 0% for a token that can still be drawn:
    ``share_label(0.256) == "26%"``, ``share_label(0.003) == "<1%"``, ``share_label(0.0) == "0%"``."""
    if 0 < p < 0.005:
        return "<1%"
    return f"{p:.0%}"
