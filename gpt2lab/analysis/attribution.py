"""Direct logit attribution: which parts of the network wrote the logit of one token, at one position.

The residual stream at the end is a sum (see :mod:`gpt2lab.analysis.residual_stream`):

    resid = embeddings + sum over blocks of (sum over heads of head_out + attn bias + mlp_out)

where each head's output is its z through its own slice of the output projection,
``z_h @ W_O[h * d_head:(h + 1) * d_head]``, and the projection's bias (one per block, shared by the heads)
is counted once per block as "attn bias". The logit of a token is ``ln_final(resid) @ unembedding[token]``.
LayerNorm is not linear, but with its scale *frozen* at the value it had at this position (divide by that
position's standard deviation) it is: each term is centred (its own mean subtracted), divided by the
std, multiplied by the LayerNorm weight and dotted with the token's unembedding row. The terms' shares
plus the LayerNorm bias's share (``ln_f.bias @ unembedding[token]``) add up to the logit exactly.

"Direct" means only the path straight to the logits: a head that changes what later heads do gets no
credit here for that (ablation and patching measure the total effect).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gpt2lab.errors import LabError
from gpt2lab.model.names import block_stage


@dataclass(frozen=True)
class LogitAttribution:
    """One token's logit at one position, split into the direct shares of the network's parts."""

    position: int  # the position read (index into the trace)
    token_id: int  # the token whose logit is split
    token: str  # how it reads
    labels: list[str]  # "embeddings", "L0 H0", ..., "L0 attn bias", "L0 MLP", ...
    kinds: list[str]  # "embeddings", "head", "attn bias" or "mlp", for each label
    layers: list[int | None]  # the block of each part (None for the embeddings)
    heads: list[int | None]  # the head of each part (None unless it is a head)
    shares: torch.Tensor  # (n_parts,)  each part's direct share of the logit
    ln_bias_share: float  # the final LayerNorm bias's share: ln_f.bias @ unembedding[token_id]
    logit: float  # the logit itself, as the forward pass computed it

    def total(self) -> float:
        """Sum of every share and the LayerNorm bias's share: equals :attr:`logit` up to float rounding."""
        return float(self.shares.double().sum()) + self.ln_bias_share

    def top(self, k: int = 10) -> list[tuple[str, float]]:
        """The ``k`` parts with the largest shares by size (positive or negative), largest first."""
        order = self.shares.abs().argsort(descending=True)[:k]
        return [(self.labels[i], float(self.shares[i])) for i in order.tolist()]

    def head_grid(self) -> torch.Tensor:
        """(n_layer, n_head): the heads' shares as a layer x head table."""
        n_layer = max(l for l in self.layers if l is not None) + 1
        n_head = max(h for h in self.heads if h is not None) + 1
        grid = torch.zeros(n_layer, n_head)
        for layer, head, share in zip(self.layers, self.heads, self.shares.tolist()):
            if head is not None:
                grid[layer, head] = share
        return grid

    def __repr__(self) -> str:
        best = ", ".join(f"{label} {share:+.2f}" for label, share in self.top(3))
        return f"LogitAttribution(position {self.position}, {self.token!r}: logit {self.logit:.3f}; top {best})"


def head_outputs(z: torch.Tensor, out_weight: torch.Tensor) -> torch.Tensor:
    """What each head writes to the stream: its z through its slice of the output projection (no bias).

    z: (n_head, T, d_head); out_weight: (d_model, d_model), rows h * d_head ... (h + 1) * d_head belong to
    head h. Returns (n_head, T, d_model); summed over heads, plus the bias, it is attn_out.
    """
    n_head, T, d_head = z.shape
    w = out_weight.view(n_head, d_head, -1)  # (n_head, d_head, d_model)
    return torch.matmul(z, w)  # (n_head, T, d_model)


@torch.no_grad()
def direct_logit_attribution(lab, trace, position: int, token_id: int) -> LogitAttribution:
    """Split the logit of ``token_id`` at ``position`` of a full ``trace`` into the direct shares of the
    embeddings, every head of every block, every block's attention bias and every MLP.

    >>> attribution = direct_logit_attribution(lab, lab.trace("The cat sat on the"), -1, lab.encode(" mat")[0])  # doctest: +SKIP
    >>> attribution.top(3)                                                                                       # doctest: +SKIP
    """
    T, c, w = len(trace.ids), lab.config, lab.weights
    if not -T <= int(position) < T:
        raise LabError(f"Position {position} is outside this trace of {T} tokens (positions 0 to {T - 1}, or -1 for the last).")
    position = int(position) % T
    if not 0 <= int(token_id) < c.vocab_size:
        raise LabError(f"Token id {token_id} is outside this model's vocabulary (ids 0 to {c.vocab_size - 1:,}).")
    token_id = int(token_id)
    needed = ["embed", "pos_embed"] + [block_stage(i, s) for i in range(c.n_layer) for s in ("attn.z", "mlp_out")]
    trace.require(needed + [block_stage(c.n_layer - 1, "resid_post"), "logits"], "for logit attribution")

    labels, kinds, layers, heads, parts = ["embeddings"], ["embeddings"], [None], [None], [
        trace["embed"][position] + trace["pos_embed"][position]]  # (d_model,) each
    for layer, block in enumerate(w.blocks):
        per_head = head_outputs(trace["attn.z", layer][:, position : position + 1], block.out_weight)[:, 0]  # (n_head, d_model)
        for head in range(c.n_head):
            labels.append(f"L{layer} H{head}"), kinds.append("head"), layers.append(layer), heads.append(head)
            parts.append(per_head[head])
        labels.append(f"L{layer} attn bias"), kinds.append("attn bias"), layers.append(layer), heads.append(None)
        parts.append(block.out_bias)
        labels.append(f"L{layer} MLP"), kinds.append("mlp"), layers.append(layer), heads.append(None)
        parts.append(trace["mlp_out", layer][position])
    parts = torch.stack(parts).float()  # (n_parts, d_model)

    resid = trace["resid_post", c.n_layer - 1][position].float()  # (d_model,) the stream the final LayerNorm reads
    std = (resid.var(unbiased=False) + c.layer_norm_eps).sqrt()  # the LayerNorm's scale at this position, frozen
    direction = w.ln_final_weight.float() * w.unembedding[token_id].float()  # (d_model,)
    centred = parts - parts.mean(dim=-1, keepdim=True)  # (n_parts, d_model)  LayerNorm subtracts the mean
    shares = (centred / std) @ direction  # (n_parts,)
    return LogitAttribution(
        position=position, token_id=token_id, token=lab.token_strings([token_id])[0], labels=labels, kinds=kinds,
        layers=layers, heads=heads, shares=shares,
        ln_bias_share=float(w.ln_final_bias.float() @ w.unembedding[token_id].float()),
        logit=float(trace.logits[position, token_id]),
    )
