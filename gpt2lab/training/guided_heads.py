"""Guide a head toward a job: an extra loss on its attention pattern, for the first steps of a run.

The kit's embedded model is small and saw little text, so the heads interpretability work finds in GPT-2 (a
*previous-token* head, an *induction* head reading the token after an earlier copy of the current one) do not
form in it on their own within a CPU budget. Its training took a shortcut, said in its model card: for the first
steps, one head of block 0 is nudged to look at the previous token and one head of block 1 at the token after
the current token's earlier copy, by adding to the loss the cross-entropy between that head's pattern and the
position it should read. Then the nudge stops and training goes on on the language-modelling loss alone:
the heads stay only if the model uses them (the repeated spans of :mod:`gpt2lab.training.copying` reward it).

    >>> pattern = torch.tensor([[[[1.0, 0.0, 0.0], [0.9, 0.1, 0.0], [0.1, 0.8, 0.1]]]])   # (B=1, n_head=1, 3, 3)
    >>> round(guide_loss(pattern, HeadGuide(0, 0, "previous_token"), None).item(), 3)        # -(ln 0.9 + ln 0.8)/2
    0.164
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gpt2lab.errors import LabError

GUIDE_KINDS = ("previous_token", "induction")


@dataclass(frozen=True)
class HeadGuide:
    """Which head to guide, and toward what: ``HeadGuide(0, 3, "previous_token")``."""

    layer: int  # the block
    head: int  # the head within it
    kind: str  # "previous_token" (key t - 1) or "induction" (the key after the query's earlier copy)

    @classmethod
    def parse(cls, text: str) -> list["HeadGuide"]:
        """``"0.3:previous_token,1.2:induction"`` -> two guides (layer.head:kind, comma-separated)."""
        guides = []
        for item in filter(None, (part.strip() for part in text.split(","))):
            try:
                where, kind = item.split(":")
                layer, head = (int(v) for v in where.split("."))
            except ValueError:
                raise LabError(f"{item!r} is not a head guide; write layer.head:kind, like 0.3:previous_token.") from None
            if kind not in GUIDE_KINDS:
                raise LabError(f"{kind!r} is not a kind of guide; use one of {', '.join(GUIDE_KINDS)}.")
            guides.append(cls(layer, head, kind))
        return guides


def target_keys(guide: HeadGuide, T: int, copy_of: torch.Tensor | None) -> torch.Tensor:
    """The key each query should read, (B or 1, T), -1 where the guide has nothing to say.

    ``copy_of`` (B, T): for each position in a repeated span, the position of its earlier copy (-1 elsewhere);
    the induction target is the position after that copy.
    """
    if guide.kind == "previous_token":
        keys = torch.arange(T) - 1  # (T,): query t reads t - 1; query 0 has none (-1)
        return keys[None, :]  # (1, T)
    if copy_of is None:
        return torch.full((1, T), -1)
    return torch.where(copy_of >= 0, copy_of + 1, -1)  # (B, T)


def guide_loss(pattern: torch.Tensor, guide: HeadGuide, copy_of: torch.Tensor | None) -> torch.Tensor:
    """Mean cross-entropy between a head's pattern (B, n_head, T, T) and its target keys (0 if it has none)."""
    B, _, T, _ = pattern.shape
    keys = target_keys(guide, T, copy_of).expand(B, T).to(pattern.device)  # (B, T)
    valid = keys >= 0
    if not valid.any():
        return pattern.sum() * 0.0
    weights = pattern[:, guide.head]  # (B, T, T)
    picked = weights.gather(-1, keys.clamp_min(0)[..., None])[..., 0]  # (B, T): weight on the target key
    return -(picked[valid] + 1e-9).log().mean()
