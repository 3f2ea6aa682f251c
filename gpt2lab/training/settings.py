"""Checks of training settings: each bad value gets one sentence naming the setting and what to give."""

from __future__ import annotations

import math

from gpt2lab.errors import LabError


def is_number(x) -> bool:
    """A real, finite number (not a bool): ``is_number(0.5)`` is True, ``is_number(float("nan"))`` False."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def check_whole(x, name: str, least: int) -> None:
    """Raise a :class:`LabError` unless ``x`` is a whole number of at least ``least``."""
    if isinstance(x, bool) or not isinstance(x, int) or x < least:
        raise LabError(f"{name} must be a whole number of at least {least}, not {x!r}.")


def check_positive(x, name: str) -> None:
    """Raise a :class:`LabError` unless ``x`` is a number above 0."""
    if not (is_number(x) and x > 0):
        raise LabError(f"{name} must be a number above 0, not {x!r}.")


def check_fraction(x, name: str, upper_open: bool = False) -> None:
    """Raise a :class:`LabError` unless ``0 <= x <= 1`` (``< 1`` with ``upper_open``)."""
    if not (is_number(x) and 0 <= x and (x < 1 if upper_open else x <= 1)):
        upper = "just below 1 (such as 0.9)" if upper_open else "1"
        raise LabError(f"{name} must be a number from 0 to {upper}, not {x!r}.")
