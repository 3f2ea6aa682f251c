"""Figures that explain one prediction: direct logit attribution and activation patching.

    attribution_bars(direct_logit_attribution(lab, trace, -1, token_id))   # which parts wrote the logit
    head_attribution_heatmap(attribution)                                  # every head, layer x head
    patching_heatmap(patch_residual(lab, clean, corrupted, answer, wrong)) # where the answer lives
"""

from __future__ import annotations

import numpy as np

from gpt2lab.analysis.attribution import LogitAttribution
from gpt2lab.analysis.patching import PatchingResult
from gpt2lab.viz.figures import label_room, new_figure, set_token_ticks, styled, text_em_in, to_numpy
from gpt2lab.viz.labels import quoted_token, token_label
from gpt2lab.viz.readable import grid_cell_inches, grid_ticks, ordinal, tick_step

KIND_COLOURS = {"embeddings": "#7f7f7f", "head": "#1f77b4", "attn bias": "#9ecae1", "mlp": "#ff7f0e"}


@styled
def attribution_bars(attribution: LogitAttribution, k: int = 12, *, title: str | None = None):
    """The ``k`` largest direct shares of one logit, as horizontal bars (largest at the top).

    Heads are blue, MLPs orange, the embeddings grey; ``fig.axes[0].patches[i]`` is the i-th largest.
    """
    top = attribution.top(k)
    labels = [label for label, _ in top]
    values = np.array([share for _, share in top])
    colours = [KIND_COLOURS[attribution.kinds[attribution.labels.index(label)]] for label in labels]
    fig, axes = new_figure(width=6.4, height=1.2 + 0.3 * len(top))
    ax = axes[0, 0]
    y = np.arange(len(top))
    ax.barh(y, values, color=colours)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(f"direct share of the logit of {quoted_token(attribution.token)}")
    ax.set_title(title or (f"why {quoted_token(attribution.token)} at position {predicted_position(attribution)}: "
                           f"logit {attribution.logit:.2f} (LayerNorm bias {attribution.ln_bias_share:+.2f})"),
                 fontsize="medium")
    return fig


@styled
def head_attribution_heatmap(attribution: LogitAttribution, *, title: str | None = None):
    """Every head's direct share as a layer x head grid (red pushes the token up, blue pushes it down).

    Every head is drawn at any size; past 24 layers or heads only every k-th is labelled, and the title's
    second line says so.
    """
    grid = to_numpy(attribution.head_grid())  # (n_layer, n_head)
    n_layer, n_head = grid.shape
    cell_w, cell_h = grid_cell_inches(n_layer, n_head)
    fig, axes = new_figure(width=1.8 + 1.3 * cell_w * n_head, height=1.2 + cell_h * n_layer)
    ax = axes[0, 0]
    limit = max(1e-6, float(np.abs(grid).max()))
    image = ax.imshow(grid, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ticks = grid_ticks(ax, n_layer, n_head)
    ax.set_xlabel("head")
    ax.set_ylabel("layer")
    heading = title or f"each head's direct share of {quoted_token(attribution.token)}"
    ax.set_title(heading + (f"\nall {n_layer} x {n_head} heads; {ticks}" if ticks else ""), fontsize="medium")
    fig.colorbar(image, ax=ax)
    return fig


@styled
def patching_heatmap(result: PatchingResult, *, title: str | None = None):
    """The patching grid: rows are where the stream is patched, columns the positions; 1 = all recovered.

    Column labels show the clean token, and the corrupted one where they differ ("John/Mary"). Every row is
    drawn at any size; past 24 rows (gpt2-large has 37) only every k-th is labelled, and the title says so.
    """
    grid = to_numpy(result.recovered)  # (n_layer + 1, T)
    n_rows, T = grid.shape
    columns = [c if c == k else f"{c}/{k}" for c, k in zip(result.clean_tokens, result.corrupted_tokens)]
    em = text_em_in()  # rows and labels sized to the display mode's text
    fig, axes = new_figure(width=max(5.0, 2.0 + 0.45 * T), height=2.2 + 1.8 * em * n_rows + label_room(columns))
    ax = axes[0, 0]
    limit = max(1.0, float(np.abs(grid).max()))
    image = ax.imshow(grid, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    set_token_ticks(ax, columns, axis="x")
    step = tick_step(n_rows)
    ax.set_yticks(range(0, n_rows, step), result.rows[::step])
    ax.set_xlabel("position patched (clean / corrupted token)")
    heading = title or (f"logit difference {quoted_token(result.answer)} − {quoted_token(result.wrong)} "
                        f"recovered by patching the clean stream in")
    ax.set_title(heading + (f"\nall {n_rows} rows; every {ordinal(step)} labelled" if step > 1 else ""), fontsize="medium")
    fig.colorbar(image, ax=ax, label="recovered (1 = clean, 0 = corrupted)")
    return fig


def predicted_position(attribution: LogitAttribution) -> int:
    """Where the explained token goes in the text: one after the position read.

    Every view names a predicted token by its own position (0-based), as the generation stepper's chart
    does: the logits read at position 17 choose the token at position 18.
    """
    return attribution.position + 1


def attribution_text(attribution: LogitAttribution, k: int = 5) -> str:
    """One line for a caption or a panel: the k largest shares, in words."""
    parts = ", ".join(f"{label} {share:+.2f}" for label, share in attribution.top(k))
    return (f"logit of {token_label(attribution.token)} at position {predicted_position(attribution)} = "
            f"{attribution.logit:.2f}; largest direct shares: {parts}")
