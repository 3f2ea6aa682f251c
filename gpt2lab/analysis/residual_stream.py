"""The residual stream: one vector per position that every block reads from and adds to.

GPT-2 never overwrites the stream. It starts as token embedding + position embedding, and each block adds
two things to it, attention's output and then the MLP's output:

    resid_post[i] = embed + pos_embed + attn_out[0] + mlp_out[0] + ... + attn_out[i] + mlp_out[i]

So the stream is a running sum, and :func:`residual_contributions` lists its terms in order.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gpt2lab.model.names import block_stage


@dataclass(frozen=True)
class ResidualStream:
    """The stream at each point it can be read, from the embeddings to the last block's output."""

    labels: list[str]  # where each reading was taken: "embeddings", "0 after attn", "0 after MLP", ...
    stages: list[str]  # the trace stage each reading comes from: "blocks.0.resid_pre", ...
    vectors: torch.Tensor  # (n_points, T, d_model)

    def norms(self) -> torch.Tensor:
        """The length (L2 norm) of the stream at each point and position: (n_points, T)."""
        return self.vectors.norm(dim=-1)  # (n_points, T)


@dataclass(frozen=True)
class Contributions:
    """The terms whose running sum is the residual stream, in the order they are added."""

    labels: list[str]  # "token embedding", "position embedding", "0 attn", "0 MLP", ...
    stages: list[str]  # the trace stage of each term: "embed", "pos_embed", "blocks.0.attn_out", ...
    vectors: torch.Tensor  # (n_terms, T, d_model)

    def running_sum(self) -> torch.Tensor:
        """The stream after each term is added: (n_terms, T, d_model); the last row is the final stream."""
        return self.vectors.cumsum(dim=0)  # (n_terms, T, d_model)


def residual_stream(trace) -> ResidualStream:
    """Read the residual stream out of a full trace: before block 0, and after each attention and MLP.

    >>> stream = residual_stream(lab.trace("The cat sat"))   # doctest: +SKIP
    >>> stream.labels[:3]                                     # doctest: +SKIP
    ['embeddings', '0 after attn', '0 after MLP']
    """
    labels, stages = ["embeddings"], ["blocks.0.resid_pre"]
    for layer in range(trace.n_layer):
        labels += [f"{layer} after attn", f"{layer} after MLP"]
        stages += [block_stage(layer, "resid_mid"), block_stage(layer, "resid_post")]
    return ResidualStream(labels, stages, _stack(trace, stages))


def residual_contributions(trace) -> Contributions:
    """The embeddings and every block's attention and MLP outputs: the terms the stream sums.

    ``residual_contributions(trace).running_sum()[-1]`` equals ``trace["blocks.{n_layer-1}.resid_post"]``.
    """
    labels, stages = ["token embedding", "position embedding"], ["embed", "pos_embed"]
    for layer in range(trace.n_layer):
        labels += [f"{layer} attn", f"{layer} MLP"]
        stages += [block_stage(layer, "attn_out"), block_stage(layer, "mlp_out")]
    return Contributions(labels, stages, _stack(trace, stages))


def _stack(trace, stages: list[str]) -> torch.Tensor:
    trace.require(stages, "to see the residual stream")
    return torch.stack([trace[s] for s in stages])  # (n_points, T, d_model)
