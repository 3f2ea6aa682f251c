"""Figures of the transformer block: the residual stream's size, the running sum, LayerNorm, the GELU MLP.

Each function takes tensors (or a small dataclass of tensors) out of a trace and returns a
:class:`~gpt2lab.viz.figures.LabFigure` that draws exactly those numbers.

    stream = residual_stream(trace)
    residual_norm_plot(stream.norms(), stream.labels, trace.tokens)
    layer_norm_plot(layer_norm_steps(trace["blocks.0.resid_pre"][3], w.ln1_weight, w.ln1_bias, eps))
"""

from __future__ import annotations

import numpy as np
import torch

from gpt2lab.errors import LabError
from gpt2lab.model.layernorm import LayerNormSteps
from gpt2lab.model.mlp import gelu_new
from gpt2lab.viz.figures import new_figure, styled, to_numpy
from gpt2lab.viz.labels import quoted_token, token_label

MAX_LEGEND = 10  # name each token in the legend only up to this many tokens



@styled
def residual_norm_plot(norms: torch.Tensor, point_labels, tokens, *, title: str | None = None):
    """How long the residual-stream vector of each token is, at each point through the blocks.

    norms: (n_points, T), e.g. ``residual_stream(trace).norms()``; point_labels: n_points names for the
    x axis. One line per token (``fig.axes[0].lines[t]`` is token t) and a dashed black line for the mean.
    """
    if norms.dim() != 2 or norms.shape != (len(point_labels), len(tokens)):
        raise LabError(f"Give norms of shape (points, tokens) = ({len(point_labels)}, {len(tokens)}), "
                       f"e.g. residual_stream(trace).norms(), not {tuple(norms.shape)}.")
    values = to_numpy(norms)  # (n_points, T)
    fig, axes = new_figure(width=max(6.0, 1.5 + 0.55 * len(point_labels)), height=4.2)
    ax = axes[0, 0]
    x = np.arange(len(point_labels))
    for t, token in enumerate(tokens):
        ax.plot(x, values[:, t], marker=".", alpha=0.8, label=f"{t} {token_label(token)}")
    ax.plot(x, values.mean(axis=1), "k--", linewidth=2, label="mean")
    ax.set_xticks(x, point_labels, rotation=60, ha="right")
    ax.set_ylabel("length of the vector ‖x‖")
    ax.set_xlabel("where the residual stream is read")
    ax.set_title(title or "the residual stream grows as each block adds to it")
    if len(tokens) <= MAX_LEGEND:
        ax.legend(fontsize="small", ncols=2)
    return fig


@styled
def residual_sum_plot(term_norms: torch.Tensor, sum_norms: torch.Tensor, term_labels, token: str = "", *,
                      title: str | None = None):
    """The running sum, for one token: the length of each term added, and of the stream after adding it.

    term_norms, sum_norms: (n_terms,), e.g. ``c.vectors[:, t].norm(dim=-1)`` and
    ``c.running_sum()[:, t].norm(dim=-1)`` for ``c = residual_contributions(trace)``. The bars are the terms
    (``fig.axes[0].patches``), the line is the stream.
    """
    if not (term_norms.shape == sum_norms.shape == (len(term_labels),)):
        raise LabError(f"Give one length per term: {len(term_labels)} term norms and {len(term_labels)} running-sum norms.")
    x = np.arange(len(term_labels))
    fig, axes = new_figure(width=max(6.0, 1.5 + 0.55 * len(term_labels)), height=4.2)
    ax = axes[0, 0]
    ax.bar(x, to_numpy(term_norms), color="#9ecae1", label="‖term‖: what is added")
    ax.plot(x, to_numpy(sum_norms), "k-o", label="‖running sum‖: the stream so far")
    ax.set_xticks(x, term_labels, rotation=60, ha="right")
    ax.set_ylabel("vector length")
    ax.set_title(title or f"the residual stream of {quoted_token(token)} is a running sum")
    ax.legend(fontsize="small")
    return fig


@styled
def layer_norm_plot(steps: LayerNormSteps, *, title: str | None = None):
    """LayerNorm on one vector, in three panels: the input, normalised (mean 0, std 1), then scaled and shifted.

    steps: :func:`~gpt2lab.model.layernorm.layer_norm_steps` of ONE vector (its ``x`` has shape (d,)).
    Each panel plots the d numbers as dots against their index (``fig.axes[i].lines[0]``), with the
    mean and mean ± std drawn as lines.
    """
    if steps.x.dim() != 1:
        raise LabError(f"Give the LayerNorm steps of one vector (shape (d,)), e.g. of trace['blocks.0.resid_pre'][t], "
                       f"not of shape {tuple(steps.x.shape)}.")
    panels = [
        ("input x", steps.x),
        ("(x − mean) / std", steps.normalised),
        ("× weight + bias (learned)", steps.output),
    ]
    fig, axes = new_figure(1, 3, width=12.0, height=3.8, sharex=True)
    index = np.arange(steps.x.shape[0])
    for ax, (name, vector) in zip(axes[0], panels):
        values = to_numpy(vector)
        mean, std = float(values.mean()), float(values.std())
        ax.plot(index, values, ".", markersize=3, alpha=0.7)
        ax.axhline(mean, color="black", linewidth=1)
        for edge in (mean - std, mean + std):
            ax.axhline(edge, color="black", linewidth=1, linestyle=":")
        shown = round(mean, 2) + 0.0  # + 0.0 turns -0.0 into 0.0: a mean of -1e-8 should read "0.00"
        ax.set_title(f"{name}\nmean {shown:.2f}, std {std:.2f}", fontsize="medium")
        ax.set_xlabel("dimension")
    fig.suptitle(title or "LayerNorm of one vector: centre, scale to std 1, then the learned scale and shift")
    return fig


@styled
def gelu_plot(pre: torch.Tensor, post: torch.Tensor, *, title: str | None = None):
    """The MLP's hidden units for one token: each unit's value before GELU (x) against after it (y).

    pre, post: (d_mlp,), e.g. ``trace["blocks.0.mlp.pre"][t]`` and ``trace["blocks.0.mlp.post"][t]``. The
    dots (``fig.axes[0].collections[0]``) lie on the GELU curve drawn under them.
    """
    if pre.shape != post.shape or pre.dim() != 1:
        raise LabError("Give one token's MLP hidden units before and after GELU, both of shape (d_mlp,).")
    x, y = to_numpy(pre), to_numpy(post)
    fig, axes = new_figure(width=5.5, height=4.2)
    ax = axes[0, 0]
    grid = torch.linspace(float(x.min()) - 0.5, float(x.max()) + 0.5, 200)
    ax.plot(to_numpy(grid), to_numpy(gelu_new(grid)), color="#999999", linewidth=2, label="GELU", zorder=1)
    ax.scatter(x, y, s=8, alpha=0.6, label=f"{len(x)} hidden units", zorder=2)
    active = float((y > 0).mean())
    ax.axhline(0, color="black", linewidth=0.5)
    ax.axvline(0, color="black", linewidth=0.5)
    ax.set_xlabel("before GELU (mlp.pre)")
    ax.set_ylabel("after GELU (mlp.post)")
    ax.set_title(title or f"GELU keeps positives, squashes negatives: {active:.0%} of units > 0", fontsize="medium")
    ax.legend(fontsize="small")
    return fig
