"""Checking what a learner hands to gpt2lab: one helper per kind of input, for the entry points.

A mistake (``lab.trace(None)``, ``top_k=2.5``, a 2-D tensor where token ids are expected) is answered
with one :class:`~gpt2lab.errors.LabError` sentence that says what to give instead, before any work is
done, never with a traceback from deep inside torch or transformers.

    >>> check_whole_number(3, "top_k", minimum=1)
    3
    >>> check_whole_number(2.5, "top_k", minimum=1)
    Traceback (most recent call last):
    ...
    gpt2lab.errors.LabError: top_k must be a whole number of at least 1, not 2.5.
    >>> token_ids([464, 3290], vocab_size=50257).tolist()
    [464, 3290]
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable

import torch

from gpt2lab.errors import LabError

IDS_EXAMPLE = "a flat list of whole numbers, like [464, 3290]"  # how every message shows what token ids look like


def first_line(error: BaseException) -> str:
    """An error's message cut to one short line without a final period, to quote inside a sentence."""
    text = (str(error).strip().splitlines() or [type(error).__name__])[0].rstrip(".")
    return text if len(text) <= 160 else text[:157] + "..."


def explained(function):
    """Decorate a drawing function so that arguments it cannot use end in one :class:`LabError` sentence,
    not in a traceback from numpy or matplotlib (a safety net under the function's own checks)."""
    import functools

    @functools.wraps(function)
    def checked(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except LabError:
            raise
        except (TypeError, ValueError, IndexError, KeyError, AttributeError, RuntimeError) as error:
            raise LabError(f"{function.__name__} cannot draw what it was given ({first_line(error)}); "
                           f"check its arguments' types and shapes with help({function.__name__}).") from error

    return checked


def shown(value) -> str:
    """A value as a message shows it: short, and by its type when it is big."""
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    text = repr(value)
    return text if len(text) <= 40 else f"a {type(value).__name__}"


def whole_number(value) -> int | None:
    """``value`` as a Python int if it is a whole number (int, numpy integer, one-element integer
    tensor), else None. True and False are not numbers here."""
    if isinstance(value, bool) or (isinstance(value, torch.Tensor) and value.dtype == torch.bool):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def is_number(x) -> bool:
    """A real, finite number (not a bool): ``is_number(0.5)`` is True, ``is_number(float("nan"))`` False."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def check_whole_number(value, name: str, *, minimum: int | None = None, maximum: int | None = None,
                       note: str = "") -> int:
    """A whole number within ``[minimum, maximum]``, as an int; else one sentence naming ``name``.

    ``note`` goes after the range, to say what a value means: ``" (0 is off)"``.

    >>> check_whole_number(-1, "no_repeat_ngram_size", minimum=0, note=" (0 is off)")
    Traceback (most recent call last):
    ...
    gpt2lab.errors.LabError: no_repeat_ngram_size must be a whole number of at least 0 (0 is off), not -1.
    """
    number = whole_number(value)
    bounds = ("" if minimum is None and maximum is None
              else f" from {minimum:,} to {maximum:,}" if minimum is not None and maximum is not None
              else f" of at least {minimum:,}" if minimum is not None else f" of at most {maximum:,}")
    if number is None or (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise LabError(f"{name} must be a whole number{bounds}{note}, not {shown(value)}.")
    return number


MAX_SEED = 2**64 - 1  # torch.Generator.manual_seed takes seeds from 0 to 2**64 - 1


def check_seed(value, note: str = "") -> int:
    """A seed a ``torch.Generator`` can use (0 to 2**64 - 1), as an int.

    >>> check_seed(2**64)
    Traceback (most recent call last):
    ...
    gpt2lab.errors.LabError: seed must be a whole number from 0 to 18,446,744,073,709,551,615, not 18446744073709551616.
    """
    return check_whole_number(value, "seed", minimum=0, maximum=MAX_SEED, note=note)


def check_text(value, what: str = "The text") -> str:
    """A str (may be empty: callers that need a token say so themselves)."""
    if not isinstance(value, str):
        raise LabError(f"{what} must be a str, like 'The cat sat', not {shown(value)}.")
    return value


def check_token_id(value, vocab_size: int, what: str = "A token id") -> int:
    """One token id of this model's vocabulary, as an int."""
    number = whole_number(value)
    if number is None or not 0 <= number < vocab_size:
        raise LabError(f"{what} must be a token id from 0 to {vocab_size - 1:,} (a whole number in this model's vocabulary), not {shown(value)}.")
    return number


def token_ids(value, vocab_size: int, *, allow_empty: bool = False) -> torch.Tensor:
    """Token ids (a list, tuple, range, 1-D integer tensor or array) as a (T,) long tensor on the CPU.

    Every id must lie in the vocabulary: an id outside it would index past the embedding table.
    """
    if isinstance(value, torch.Tensor):
        if value.dtype.is_floating_point or value.dtype.is_complex or value.dtype == torch.bool or value.dim() != 1:
            raise LabError(f"Token ids must be {IDS_EXAMPLE} (or a 1-D integer tensor), not {shown(value)}.")
        ids = value.detach().to("cpu", torch.long)
    else:
        if isinstance(value, (str, bytes)) or not isinstance(value, Iterable) and not hasattr(value, "__array__"):
            raise LabError(f"Token ids must be {IDS_EXAMPLE}, not {shown(value)}.")
        if hasattr(value, "__array__") and not isinstance(value, (list, tuple, range)):
            return token_ids(_from_array(value), vocab_size, allow_empty=allow_empty)
        numbers = [whole_number(v) for v in value]
        if any(n is None for n in numbers):
            bad = next(v for v, n in zip(value, numbers) if n is None)
            raise LabError(f"Token ids must be {IDS_EXAMPLE}; {shown(bad)} is not a whole number.")
        outside = [n for n in numbers if not 0 <= n < vocab_size]  # checked before torch sees a huge number
        if outside:
            raise LabError(f"Token id {outside[0]} is outside this model's vocabulary (ids 0 to {vocab_size - 1:,}); use an id in that range.")
        ids = torch.tensor(numbers, dtype=torch.long)
    if not allow_empty and ids.numel() == 0:
        raise LabError("The input is empty: give at least one token.")
    bad = ids[(ids < 0) | (ids >= vocab_size)]
    if len(bad):
        raise LabError(f"Token id {bad[0].item()} is outside this model's vocabulary (ids 0 to {vocab_size - 1:,}); use an id in that range.")
    return ids


def _from_array(value) -> torch.Tensor:
    try:
        return torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError):
        raise LabError(f"Token ids must be {IDS_EXAMPLE}, not {shown(value)}.") from None


def check_tensor(value, name: str, ndim: int | None = None) -> torch.Tensor:
    """A tensor (a nested list of numbers is turned into one) with ``ndim`` axes if given."""
    if not isinstance(value, torch.Tensor):
        try:
            if isinstance(value, (str, bytes)) or value is None:
                raise TypeError
            value = torch.as_tensor(value, dtype=torch.float32)
        except (TypeError, ValueError, RuntimeError):
            raise LabError(f"{name} must be a tensor of numbers, not {shown(value)}.") from None
    if ndim is not None and value.dim() != ndim:
        raise LabError(f"{name} must be a tensor with {ndim} axes, not {shown(value)}.")
    return value


def check_lab(value):
    """A loaded model: what ``gpt2lab.load()`` returns (anything that can hand over its ``text_model()``).

    Checked by what a lab can do, not by importing :class:`~gpt2lab.lab.Lab`: this module sits below the lab.
    """
    if not callable(getattr(value, "text_model", None)) or not hasattr(value, "weights"):
        raise LabError(f"Give a loaded model first, like lab = gpt2lab.load(), not {shown(value)}.")
    return value


def check_trace(value):
    """A :class:`~gpt2lab.model.trace.Trace` (what ``lab.trace(text)`` returns)."""
    from gpt2lab.model.trace import Trace

    if not isinstance(value, Trace):
        raise LabError(f"Give a trace, like trace = lab.trace('The cat sat'), not {shown(value)}.")
    return value


def check_options(given: Iterable[str], allowed: Iterable[str], where: str) -> None:
    """Keyword arguments a function passes on: each must be one it knows."""
    allowed = sorted(allowed)
    unknown = [name for name in given if name not in allowed]
    if unknown:
        raise LabError(f"{where} has no option {unknown[0]!r}; use one of {', '.join(allowed)}.")


def check_stage_patterns(keep) -> tuple[str, ...] | None:
    """``keep`` for a trace: None (every stage), one name or glob, or a list of them."""
    if keep is None:
        return None
    if isinstance(keep, str):
        return (keep,)
    patterns = tuple(keep) if isinstance(keep, Iterable) else None
    if patterns is None or not all(isinstance(k, str) for k in patterns):
        raise LabError(f"keep must be stage names or globs, like ['blocks.*.attn.pattern'], not {shown(keep)}.")
    return patterns
