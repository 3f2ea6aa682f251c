"""Figures for the embedding stage: learned position embeddings and the sum that enters block 0."""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from gpt2lab.model.embeddings import cosine_similarity_matrix
from gpt2lab.viz.figures import new_figure, styled, to_numpy


@styled
def position_embedding_heatmap(wpe: torch.Tensor, n_positions: int | None = None, n_dims: int | None = None) -> Figure:
    """The learned position embeddings as an image: one row per position, one column per dimension.

    wpe: (n_ctx, d_model). Shows the first ``n_positions`` rows and ``n_dims`` columns (all by default).
    The image's data is exactly ``wpe[:n_positions, :n_dims]``.
    """
    shown = wpe[:n_positions, :n_dims].detach().float()  # (P, D)
    fig, axes = new_figure(width=8, height=4.5)
    ax = axes[0, 0]
    limit = shown.abs().max().item()
    image = ax.imshow(to_numpy(shown), aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
    ax.set_xlabel("embedding dimension")
    ax.set_ylabel("position")
    ax.set_title(f"Learned position embeddings ({shown.shape[0]} positions x {shown.shape[1]} dimensions)")
    fig.colorbar(image, ax=ax, label="value")
    return fig


@styled
def position_similarity_heatmap(wpe: torch.Tensor, n_positions: int | None = None) -> Figure:
    """Cosine similarity between every pair of position embeddings: nearby positions look alike.

    The image's data is ``cosine_similarity_matrix(wpe[:n_positions])``.
    """
    similarity = cosine_similarity_matrix(wpe[:n_positions].detach().float())  # (P, P)
    fig, axes = new_figure(width=5.5, height=4.5)
    ax = axes[0, 0]
    image = ax.imshow(to_numpy(similarity), cmap="viridis", vmin=-1, vmax=1, interpolation="nearest")
    ax.set_xlabel("position")
    ax.set_ylabel("position")
    ax.set_title("Cosine similarity of position embeddings")
    fig.colorbar(image, ax=ax)
    return fig


@styled
def embedding_sum_plot(embed: torch.Tensor, pos_embed: torch.Tensor, tokens: list[str], position: int = 0, n_dims: int = 32) -> Figure:
    """For one position: its token embedding, its position embedding and their sum, dimension by dimension.

    embed, pos_embed: (T, d_model) from a trace. Shows the first ``n_dims`` dimensions as three bar rows.
    """
    parts = [
        (f"token embedding of {tokens[position]!r}", embed[position, :n_dims]),
        (f"position embedding of position {position}", pos_embed[position, :n_dims]),
        ("their sum: what enters block 0", (embed + pos_embed)[position, :n_dims]),
    ]
    fig, axes = new_figure(3, 1, width=8, height=5, sharex=True, sharey=True)
    axes = axes[:, 0]
    for ax, (title, values) in zip(axes, parts):
        ax.bar(range(len(values)), to_numpy(values), color=["#3a7dc9" if v >= 0 else "#d1495b" for v in values.tolist()])
        ax.set_title(title, loc="left", fontsize="medium")
        ax.axhline(0, color="black", linewidth=0.5)
    axes[-1].set_xlabel(f"dimension (first {len(parts[0][1])} of {embed.shape[-1]})")
    return fig
