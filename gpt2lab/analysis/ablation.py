"""Ablation: switch heads off and see how the next-token distribution changes.

``lab.trace(text, ablate_heads=[(layer, head), ...])`` runs the forward pass with those heads' outputs
zeroed (or replaced by their mean over the sequence, ``ablation="mean"``; see
:func:`gpt2lab.model.forward.ablate_heads`). :func:`ablation_effect` compares the last position's
next-token distribution with and without them: the tokens the model liked most either way, their
probabilities before and after, and the KL divergence between the two distributions (0 = no change).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gpt2lab.errors import LabError


@dataclass(frozen=True)
class AblationEffect:
    """The next-token distribution at one position, with all heads and with some switched off."""

    heads: list[tuple[int, int]]  # the heads switched off, (layer, head)
    ablation: str  # "zero" or "mean"
    position: int  # the position whose next token is predicted
    ids: list[int]  # the tokens shown: the top ones before, then any new top ones after
    tokens: list[str]  # how they read
    before: torch.Tensor  # (len(ids),)  their probabilities with every head
    after: torch.Tensor  # (len(ids),)  ... with the heads switched off
    kl: float  # KL(before || after) over the whole vocabulary, in nats

    def __repr__(self) -> str:
        return f"AblationEffect({self.heads} {self.ablation}-ablated: KL {self.kl:.4f} nats)"


def next_token_probs(trace, position: int = -1) -> torch.Tensor:
    """(vocab,): the softmax of the logits at one position of a trace."""
    return torch.softmax(trace.logits[position].float(), dim=-1)


@torch.no_grad()
def ablation_effect(lab, text_or_ids, heads, ablation: str = "zero", k: int = 8, position: int = -1) -> AblationEffect:
    """How switching ``heads`` off changes what the model predicts after ``position`` (the last, by default)."""
    ids = lab.to_ids(text_or_ids)
    if not -len(ids) <= int(position) < len(ids):
        raise LabError(f"Position {position} is outside this text of {len(ids)} tokens.")
    heads = [tuple(int(v) for v in pair) for pair in heads] if heads else []
    before = next_token_probs(lab.trace(ids, keep=["logits"]), position)  # (vocab,)
    after = next_token_probs(lab.trace(ids, keep=["logits"], ablate_heads=heads, ablation=ablation), position)  # (vocab,)
    shown = before.topk(k).indices.tolist()
    shown += [i for i in after.topk(k).indices.tolist() if i not in shown][: max(0, k // 2)]
    kl = float((before * (before.clamp_min(1e-30).log() - after.clamp_min(1e-30).log())).sum())
    return AblationEffect(heads=heads, ablation=ablation, position=int(position) % len(ids), ids=shown,
                          tokens=lab.token_strings(shown), before=before[shown].cpu(), after=after[shown].cpu(), kl=kl)
