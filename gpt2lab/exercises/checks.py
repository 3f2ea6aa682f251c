"""What every exercise checker returns: passed or not, and one sentence that helps.

A wrong answer is not an error: checkers return a :class:`CheckResult` (shown as one line in a
notebook) instead of raising, so a notebook with unanswered exercises still runs top to bottom.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from decimal import Decimal
from html import escape


@dataclass(frozen=True)
class CheckResult:
    """The verdict on one answer. ``bool(result)`` is ``result.passed``."""

    passed: bool
    message: str  # one or two sentences: why it is right, or a hint towards the answer
    answered: bool = True  # False while the exercise still holds its placeholder (None)

    def __bool__(self) -> bool:
        return self.passed

    @property
    def verdict(self) -> str:
        if not self.answered:
            return "Not answered yet"
        return "Correct" if self.passed else "Not yet"

    def __repr__(self) -> str:
        return f"{self.verdict}: {self.message}"

    def _repr_html_(self) -> str:
        colour = "#1b5e20" if self.passed else ("#555555" if not self.answered else "#8a1c1c")
        mark = "✔" if self.passed else ("…" if not self.answered else "✘")
        return (f'<div style="border-left:4px solid {colour};padding:2px 8px;color:inherit">'
                f'<b style="color:{colour}">{mark} {self.verdict}:</b> {escape(self.message)}</div>')


def checker(check):
    """Make ``check`` an exercise checker that never raises: whatever the learner's answer, a verdict comes back.

    Each checker reads the kinds of answer it expects (and the usual wrong kinds) itself and says what to give
    instead; this is only the net under it, for an answer nobody foresaw. It turns the error into a "Not yet"
    that names it in one line, so a notebook with an odd answer still runs top to bottom.
    """

    @functools.wraps(check)
    def checked(*args, **kwargs) -> CheckResult:
        try:
            return check(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - a learner's answer must end in a verdict, never a traceback
            what = str(error).splitlines()[0] if str(error) else type(error).__name__
            return CheckResult(False, f"This answer could not be checked ({type(error).__name__}: {what}); give the "
                                      "kind of answer the comment in the cell asks for.")

    return checked


NOT_TEXT = ("That str holds a lone surrogate (such as \"\\ud83e\"), half of a character that UTF-8 cannot store; "
            "type or paste the whole character instead.")


def is_text(text: str) -> bool:
    """Whether ``text`` can be stored as UTF-8, as every text GPT-2 reads must be (a lone surrogate cannot)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def not_answered(hint: str) -> CheckResult:
    """The result for an answer still left as ``None``."""
    return CheckResult(False, hint, answered=False)


def as_number(answer) -> float | None:
    """A learner's one-number answer as a Python float, whatever natural type it came in; ``None`` if it is not one.

    Accepts ints, floats, NumPy scalars and 0-d (or one-element) arrays, and one-element tensors with or
    without gradients on any device. Booleans, strings, NaN and anything with several numbers are not
    numbers here.

    >>> import numpy as np, torch
    >>> [as_number(a) for a in (3, 2.5, np.float32(0.5), torch.tensor(7), torch.tensor([1.5], requires_grad=True))]
    [3.0, 2.5, 0.5, 7.0, 1.5]
    >>> [as_number(a) for a in (True, "3", float("nan"), torch.ones(2), None)]
    [None, None, None, None, None]
    """
    import numpy as np
    import torch

    if answer is None or isinstance(answer, (bool, np.bool_, str, bytes)):
        return None
    if isinstance(answer, torch.Tensor):
        if answer.numel() != 1 or answer.dtype == torch.bool or answer.is_complex():
            return None
        value = float(answer.detach().cpu().reshape(()).item())
    elif isinstance(answer, np.ndarray):
        if answer.size != 1 or answer.dtype == bool or not np.issubdtype(answer.dtype, np.number):
            return None
        value = float(answer.reshape(()))
    elif isinstance(answer, (int, float, np.integer, np.floating)):
        value = float(answer)
    else:
        return None
    return value if math.isfinite(value) else None


MIN_DIGITS = 2  # a typed number needs at least this many significant digits to say which number it is
TYPED_DIGITS = 6  # a number with more significant digits than this was computed, not typed


def same_number(answer, expected: float, *, rel_tol: float = 1e-4, abs_tol: float = 0.0) -> bool:
    """Whether a learner's number is ``expected``: the course's one rule for a number a learner computes or types.

    A computed number passes when it equals ``expected`` within ``rel_tol`` / ``abs_tol`` (float rounding, as in
    :func:`math.isclose`); a typed one when it is ``expected`` rounded to the significant digits it shows, at least
    :data:`MIN_DIGITS` of them (see :func:`typed_digits`). For 0.5093, 0.51, 0.509 and 0.5093 pass, 0.5 does not.

    >>> [same_number(a, 0.5093) for a in (0.51, 0.509, 0.5093, 0.50930001, 0.5, 0.508, 0.52, "0.51")]
    [True, True, True, True, False, False, False, False]
    >>> [same_number(a, 0.02384) for a in (0.024, 0.0238, 0.02384, 0.02, 0.023)]
    [True, True, True, False, False]
    """
    value = as_number(answer)
    if value is None:
        return False
    if math.isclose(value, expected, rel_tol=rel_tol, abs_tol=abs_tol):
        return True
    typed = typed_digits(answer)
    return typed is not None and typed[1] >= MIN_DIGITS and _within_half_a_unit(typed[0], expected)


def typed_digits(answer) -> tuple[Decimal, int] | None:
    """A learner's number as the shortest decimal that gives it back in its own precision, and its significant digits.

    A float keeps no trace of how it was typed, so its digits are those of its shortest repr: 0.509 has 3,
    ``np.float32(0.509)`` and ``torch.tensor(0.509)`` too (float32's shortest), and 0.50 has 1 (it is 0.5).

    >>> [typed_digits(a)[1] for a in (0.509, 0.024, 0.50, 1200.0, 30, 2.5e-05)]
    [3, 2, 1, 5, 2, 2]
    """
    import numpy as np
    import torch

    if as_number(answer) is None:
        return None
    if isinstance(answer, torch.Tensor):
        value = answer.detach().cpu().reshape(())
        answer = np.float32(value.float().item()) if value.dtype == torch.bfloat16 else value.numpy()[()]
    elif isinstance(answer, np.ndarray):
        answer = answer.reshape(())[()]
    if isinstance(answer, (int, np.integer)):
        text = str(int(answer))
    elif isinstance(answer, np.floating):
        text = str(answer)  # NumPy prints the shortest text that gives back the number in its own precision
    else:
        text = repr(float(answer))
    number = Decimal(text)
    return number, max(1, len(number.as_tuple().digits))


def _within_half_a_unit(number: Decimal, expected: float, units: float = 0.5) -> bool:
    """Whether ``number`` is within ``units`` of a unit in its last digit of ``expected`` (0.5: a rounding of it)."""
    unit = Decimal(1).scaleb(number.as_tuple().exponent)
    return abs(number - Decimal(expected)) <= unit * Decimal(units)


def rounding_hint(answer, expected: float) -> str | None:
    """For a typed number that is near ``expected`` but not it rounded: one sentence on the digits to give; else ``None``.

    "Near" is within a unit of its last digit, or 1% of ``expected``; a number with more digits than
    :data:`TYPED_DIGITS` was computed, and a computed number that is off needs a hint about the method instead.

    >>> rounding_hint(0.5, 0.5093)[:40]
    '0.5 has 1 significant digit, too few to '
    >>> rounding_hint(0.508, 0.5093)[:40]
    'Close, but 0.508 is not the answer round'
    >>> [rounding_hint(a, 0.5093) for a in (0.7, 0.50812345678, 0.509)]
    [None, None, None]
    """
    typed = typed_digits(answer)
    if typed is None or same_number(answer, expected):
        return None
    number, digits = typed
    near = _within_half_a_unit(number, expected, units=1.0) or abs(number - Decimal(expected)) <= abs(Decimal(expected)) / 100
    if not near or digits > TYPED_DIGITS:
        return None
    if digits < MIN_DIGITS:
        return (f"{number} has {digits} significant digit, too few to tell the answer from its neighbours: give at least "
                f"{MIN_DIGITS}, rounded from your unrounded result (a float keeps no trailing zeros: 0.50 is 0.5).")
    return (f"Close, but {number} is not the answer rounded to {digits} significant digits: round your unrounded "
            f"result again (to {MIN_DIGITS} digits or more), or give it whole.")


def as_whole(answer) -> int | None:
    """A learner's whole-number answer (a count, a position, a row) as an int, in any natural type; else ``None``.

    ``3``, ``np.int64(3)``, ``torch.tensor(3)`` (e.g. from ``.argmax()``) and ``3.0`` are all 3; ``3.5`` is not whole.

    >>> import torch
    >>> [as_whole(a) for a in (3, torch.tensor([0.1, 0.9]).argmax(), 2.0, 2.5, False)]
    [3, 1, 2, None, None]
    """
    value = as_number(answer)
    if value is None or value != int(value):
        return None
    return int(value)


def as_vector(answer, like):
    """A learner's tensor answer as a detached tensor with ``like``'s dtype and device (lists and arrays too); else ``None``."""
    import torch

    if answer is None:
        return None
    try:
        if isinstance(answer, torch.Tensor):
            return answer.detach().to(dtype=like.dtype, device=like.device)
        return torch.as_tensor(answer, dtype=like.dtype, device=like.device)
    except (TypeError, ValueError, RuntimeError):
        return None


def as_wholes(answer) -> list[int] | None:
    """A learner's list of whole numbers (a list, a tuple, a 1-D tensor or array) as a list of ints; else ``None``.

    Each element is read as :func:`as_whole` reads it, so ``[3, np.int64(1)]`` and ``torch.tensor([3, 1])`` are
    both ``[3, 1]``; a str (even ``"31"``), a bool or a non-whole number anywhere makes it ``None``.

    >>> import torch
    >>> [as_wholes(a) for a in ([3, 1], (2.0, 0), torch.tensor([4, 5]), "31", [1.5, 2], 7)]
    [[3, 1], [2, 0], [4, 5], None, None, None]
    """
    import numpy as np
    import torch

    if isinstance(answer, (torch.Tensor, np.ndarray)):
        if answer.ndim != 1:
            return None
        answer = list(answer)
    if not isinstance(answer, (list, tuple)):
        return None
    values = [as_whole(a) for a in answer]
    return None if any(v is None for v in values) else values


def as_head(answer) -> tuple[int, int] | None:
    """A learner's attention head as (layer, head); ``None`` if the answer names no single head.

    A pair of whole numbers is (layer, head), in that order, as is a str of two bare numbers ("1.3", the course's
    layer.head, or "1, 3"). A labelled str is read by its labels, in any order and case: L, layer or block for
    the layer, H or head for the head ("L1 H3", "H3 L1", "l1h3", "head 3 of layer 1").

    >>> [as_head(a) for a in ((1, 3), "L1 H3", "H3 L1", "head 3 of layer 1", "L1H3", "1.3", "block 1, head 3")]
    [(1, 3), (1, 3), (1, 3), (1, 3), (1, 3), (1, 3), (1, 3)]
    >>> [as_head(a) for a in ("L1 H3 or L2 H0", "layer 1", "L1 3", "1.3.2", 1.3)]
    [None, None, None, None, None]
    """
    import re

    if not isinstance(answer, str):
        pair = as_wholes(answer)
        return (pair[0], pair[1]) if pair is not None and len(pair) == 2 else None
    text = answer.lower()
    numbers = re.findall(r"\d+", text)
    layers = re.findall(r"(?<![a-z])(?:layer|block|l)\s*[#:=]?\s*(\d+)", text)
    heads = re.findall(r"(?<![a-z])(?:head|h)\s*[#:=]?\s*(\d+)", text)
    if len(numbers) != 2:
        return None
    if layers or heads:  # labelled: each number by its label, whatever the order
        return (int(layers[0]), int(heads[0])) if len(layers) == len(heads) == 1 else None
    return (int(numbers[0]), int(numbers[1])) if re.fullmatch(r"[\s(\[]*\d+\s*[.,;\s]\s*\d+[\s)\]]*", text) else None
