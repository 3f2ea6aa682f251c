"""What every exercise checker returns: passed or not, and one sentence that helps.

A wrong answer is not an error: checkers return a :class:`CheckResult` (shown as one line in a
notebook) instead of raising, so a notebook with unanswered exercises still runs top to bottom.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

import torch

from gpt2lab.inputs import check_tensor


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


def not_answered(hint: str) -> CheckResult:
    """The result for an answer still left as ``None``."""
    return CheckResult(False, hint, answered=False)


def answer_tensor(answer, expected: torch.Tensor) -> torch.Tensor:
    """The learner's answer as a tensor like ``expected`` (its dtype and device); an answer that is not
    numbers at all (a text, a dict) is a LabError sentence, not a traceback from torch."""
    return check_tensor(answer, "answer").detach().to(dtype=expected.dtype, device=expected.device)
