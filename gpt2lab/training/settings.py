"""Checks of training settings: each bad value gets one sentence naming the setting and what to give."""

from __future__ import annotations

from gpt2lab.errors import LabError
from gpt2lab.inputs import check_whole_number, is_number, shown


def check_whole(x, name: str, least: int) -> None:
    """Raise a :class:`LabError` unless ``x`` is a whole number of at least ``least``
    (:func:`gpt2lab.inputs.check_whole_number`) held as a Python int: a config is checked, not changed, and
    its numbers go on into JSON files and torch's generators, which take no numpy integer."""
    number = check_whole_number(x, name, minimum=least)
    if type(x) is not int:
        raise LabError(f"{name} must be a Python int, like {number}, not {shown(x)}: a training config is saved as JSON.")


def check_positive(x, name: str) -> None:
    """Raise a :class:`LabError` unless ``x`` is a number above 0."""
    if not (is_number(x) and x > 0):
        raise LabError(f"{name} must be a number above 0, not {x!r}.")


def check_fraction(x, name: str, upper_open: bool = False) -> None:
    """Raise a :class:`LabError` unless ``0 <= x <= 1`` (``< 1`` with ``upper_open``)."""
    if not (is_number(x) and 0 <= x and (x < 1 if upper_open else x <= 1)):
        upper = "just below 1 (such as 0.9)" if upper_open else "1"
        raise LabError(f"{name} must be a number from 0 to {upper}, not {x!r}.")
