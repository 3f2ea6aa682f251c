"""Figures of masked self-attention: one head's pattern, the mask step by step, all heads, one query, Q/K/V.

Every function takes tensors and token strings out of a trace (never a model) and returns a
:class:`~gpt2lab.viz.figures.LabFigure`; the numbers drawn are exactly the numbers given, so
``fig.axes[0].images[0].get_array()`` is the pattern itself.

Conventions on every heatmap: rows are queries (the position doing the looking), columns are keys (the
positions looked at), so row t of a pattern is where token t reads from. Patterns are drawn on a fixed
0-to-1 scale so two heads can be compared by eye.

How -inf is drawn: the causal mask puts -inf above the diagonal, a number no colour scale can hold. Those
cells are *masked* in the image (its array is a NumPy masked array whose mask is the causal mask and whose
data still holds -inf) and drawn in :data:`MASKED_COLOUR`, a dark grey outside the colour scale, with
"−∞" written in them when the cells are big enough to read.

    trace = lab.trace("The cat sat on the mat")
    pattern_heatmap(trace["blocks.0.attn.pattern"][2], trace.tokens)         # layer 0, head 2
    mask_steps(trace["blocks.0.attn.scores"][2], trace["blocks.0.attn.pattern"][2], trace.tokens)
"""

from __future__ import annotations

import numpy as np
import torch

from gpt2lab.model.attention import apply_causal_mask, causal_mask
from gpt2lab.errors import LabError
from gpt2lab.inputs import check_tensor
from gpt2lab.viz.figures import label_room, new_figure, panel_layout, set_token_ticks, styled, text_em_in, to_numpy
from gpt2lab.viz.labels import quoted_token
from gpt2lab.viz.readable import first_heads, grid_cell_inches, grid_ticks, shown_line

PATTERN_CMAP = "Blues"  # attention weights: white (0) to dark blue (1)
SCORE_CMAP = "RdBu_r"  # scores can be negative: blue below 0, red above
VECTOR_CMAP = "PuOr_r"  # q, k, v entries: signed, centred on 0
MASKED_COLOUR = "#404040"  # -inf cells of the masked scores: outside every colour scale
NEG_INF = "−∞"  # the label written in masked cells
MAX_ANNOTATED = 12  # write each cell's number only when there are at most this many keys



def _check_matrix(matrix: torch.Tensor, query_tokens, key_tokens, what: str):
    """Check a (T, T_all) matrix against its labels and return the key labels to use."""
    key_tokens = query_tokens if key_tokens is None else key_tokens
    matrix = check_tensor(matrix, f"The {what}")
    if matrix.dim() != 2:
        raise LabError(f"Give one head's {what} of shape (T, T_all), e.g. trace['blocks.0.attn.{what}'][head], "
                       f"not a tensor of shape {tuple(matrix.shape)}.")
    if matrix.shape != (len(query_tokens), len(key_tokens)):
        raise LabError(f"The {what} has shape {tuple(matrix.shape)} but there are {len(query_tokens)} query and "
                       f"{len(key_tokens)} key tokens; with a KV cache pass key_tokens=trace.context_tokens.")
    return key_tokens


def _label_axes(ax, query_tokens, key_tokens, ylabels: bool = True, size: float | None = None) -> None:
    set_token_ticks(ax, key_tokens, "x", length_in=size)
    if ylabels:
        set_token_ticks(ax, query_tokens, "y", length_in=size)
        ax.set_ylabel("query (looking)")
    else:
        ax.set_yticks([])
    ax.set_xlabel("key (looked at)")


def _annotate(ax, values: np.ndarray, fmt: str = "{:.2f}", limit: float = 1.0) -> None:
    """Write each cell's value in it ("−∞" for -inf), white on the dark cells (|value| > 0.6 * limit)."""
    for (i, j), value in np.ndenumerate(values):
        if not np.isfinite(value):
            ax.text(j, i, NEG_INF, ha="center", va="center", color="white", fontsize="small")
        else:
            colour = "white" if abs(value) > 0.6 * limit else "black"
            ax.text(j, i, fmt.format(value), ha="center", va="center", color=colour, fontsize="small")


def _panel_room(n_keys: int, annotate: bool) -> float:
    """Inches a heatmap panel needs: a line per token label, or room for a number ("0.25") in every cell."""
    return n_keys * text_em_in() * (2.9 if annotate else 1.0)



def _pattern_image(ax, pattern: np.ndarray, annotate: bool):
    image = ax.imshow(pattern, cmap=PATTERN_CMAP, vmin=0.0, vmax=1.0, interpolation="nearest")
    if annotate:
        _annotate(ax, pattern)
    return image


@styled
def pattern_heatmap(pattern: torch.Tensor, query_tokens, key_tokens=None, *, title: str | None = None,
                    annotate: bool | None = None):
    """One head's attention pattern as a heatmap, tokens on both axes.

    pattern: (T, T_all), e.g. ``trace["blocks.0.attn.pattern"][head]``; each row sums to 1. ``key_tokens``
    defaults to ``query_tokens`` (pass ``trace.context_tokens`` for a trace made with a KV cache).
    ``annotate``: write each weight in its cell (default: when there are at most 12 keys).
    """
    key_tokens = _check_matrix(pattern, query_tokens, key_tokens, "pattern")
    annotate = len(key_tokens) <= MAX_ANNOTATED if annotate is None else annotate
    side = label_room(query_tokens) + 1.6  # y labels, the axis label and the colour bar
    _, _, size = panel_layout(1, _panel_room(len(key_tokens), annotate), max_cols=1, side_in=side, min_panel_in=3.0)
    fig, axes = new_figure(width=size + side, height=size + label_room(key_tokens) + 1.0, layout="compressed")
    ax = axes[0, 0]
    image = _pattern_image(ax, to_numpy(pattern), annotate)
    _label_axes(ax, query_tokens, key_tokens, size=size)
    ax.set_title(title or "attention pattern: each row sums to 1")
    fig.colorbar(image, ax=ax, label="attention weight", shrink=0.8)
    return fig


@styled
def mask_steps(scores: torch.Tensor, pattern: torch.Tensor, query_tokens, key_tokens=None, *,
               title: str | None = None, annotate: bool | None = None):
    """Three panels: the scores, the scores after the causal mask (−∞ above the diagonal), and the softmax.

    scores, pattern: (T, T_all) of one head, e.g. ``trace["blocks.0.attn.scores"][head]`` and the same
    head's ``attn.pattern``. The first two panels share one colour scale; −∞ cells are drawn in
    :data:`MASKED_COLOUR` (see the module docstring).
    """
    key_tokens = _check_matrix(scores, query_tokens, key_tokens, "scores")
    _check_matrix(pattern, query_tokens, key_tokens, "pattern")
    annotate = len(key_tokens) <= MAX_ANNOTATED if annotate is None else annotate
    raw = to_numpy(scores)  # (T, T_all)
    masked = np.ma.masked_invalid(to_numpy(apply_causal_mask(scores)))  # (T, T_all), -inf cells masked
    limit = float(np.abs(raw).max()) or 1.0  # one symmetric scale for both score panels
    cmap = _score_cmap()
    side = label_room(query_tokens) + 0.6
    cols, rows, size = panel_layout(3, _panel_room(len(key_tokens), annotate), max_cols=3, side_in=side)
    per_row = size + label_room(key_tokens) + 1.5  # titles (two lines), tick labels, axis label, colour bar
    fig, axes = new_figure(rows, cols, width=cols * size + side, height=rows * per_row + (0.5 if title else 0), layout="compressed")
    panels = list(axes.flat)
    for extra in panels[3:]:
        extra.remove()  # an empty cell of the grid
    ax_raw, ax_masked, ax_pattern = panels[:3]

    image = ax_raw.imshow(raw, cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest")
    ax_raw.set_title("1. scores\nq·k / √d_head")
    ax_masked.imshow(masked, cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest")
    ax_masked.set_title("2. causal mask\n−∞ above the diagonal")
    if annotate:
        _annotate(ax_raw, raw, "{:.1f}", limit)
        _annotate(ax_masked, masked.filled(-np.inf), "{:.1f}", limit)
    pattern_image = _pattern_image(ax_pattern, to_numpy(pattern), annotate)
    ax_pattern.set_title("3. softmax\nof each row")
    for i, ax in enumerate((ax_raw, ax_masked, ax_pattern)):
        _label_axes(ax, query_tokens, key_tokens, ylabels=i % cols == 0, size=size)
    score_axes = [ax_raw, ax_masked] if cols == 3 else [ax_masked]  # one bar under both, or under the second
    fig.colorbar(image, ax=score_axes, label="score", shrink=0.8, location="bottom")
    fig.colorbar(pattern_image, ax=ax_pattern, label="attention weight", shrink=0.8, location="bottom")
    if title:
        fig.suptitle(title)
    return fig


def _score_cmap():
    import matplotlib

    return matplotlib.colormaps[SCORE_CMAP].with_extremes(bad=MASKED_COLOUR)  # masked (-inf) cells


@styled
def head_grid(patterns: torch.Tensor, query_tokens, key_tokens=None, *, heads=None, title: str | None = None):
    """Every head of one layer side by side: ``head_grid(trace["blocks.0.attn.pattern"], trace.tokens)``.

    patterns: (n_head, T, T_all). ``heads``: which heads to draw; left out, all of them up to
    :data:`~gpt2lab.viz.readable.MAX_HEADS` (16), else the first 16 and a title line saying so (gpt2-large
    has 20, gpt2-xl 25). Axis ``i`` of the figure (``fig.axes[i]``) shows ``heads[i]`` (head ``i`` when all
    are drawn); all share the 0-to-1 scale. Tokens label the left column and bottom row when there are at
    most 16 of them.
    """
    if patterns.dim() != 3:
        raise LabError(f"Give all heads of one layer, shape (n_head, T, T_all), e.g. trace['blocks.0.attn.pattern'], "
                       f"not a tensor of shape {tuple(patterns.shape)}.")
    key_tokens = _check_matrix(patterns[0], query_tokens, key_tokens, "pattern")
    n_total = patterns.shape[0]
    shown = _heads_to_show(heads, n_total)
    n_head = len(shown)
    labelled = len(key_tokens) <= 16
    side = (label_room(query_tokens) if labelled else 0) + 1.2
    # labels every other token, if need be: the heads side by side matter more than every label
    ncols, nrows, size = panel_layout(n_head, _panel_room(len(key_tokens), False) / 2 if labelled else 1.6,
                                      max_cols=int(np.ceil(np.sqrt(n_head))), side_in=side, min_panel_in=1.6)
    fig, axes = new_figure(nrows, ncols, width=ncols * size + side,
                           height=nrows * (size + 0.5) + (label_room(key_tokens) if labelled else 0) + 0.6, layout="compressed")
    for i, ax in enumerate(axes.flat):
        if i >= n_head:
            ax.remove()  # an empty cell of the grid
            continue
        image = _pattern_image(ax, to_numpy(patterns[shown[i]]), annotate=False)
        ax.set_title(f"head {shown[i]}", fontsize="medium")
        row, col = divmod(i, ncols)
        last_in_column = i + ncols >= n_head
        if labelled and col == 0:
            set_token_ticks(ax, query_tokens, "y", length_in=size)
        else:
            ax.set_yticks([])
        if labelled and last_in_column:
            set_token_ticks(ax, key_tokens, "x", length_in=size)
        else:
            ax.set_xticks([])
    fig.colorbar(image, ax=fig.axes, label="attention weight", shrink=0.6)
    title = title or "every head of the layer (rows: queries, columns: keys)"
    if n_head < n_total:  # say what is left out, in one line
        title += f"\n{shown_line('heads', shown, n_total)}" + (" (pass heads=[...] to see others)" if heads is None else "")
    fig.suptitle(title)
    return fig


def _heads_to_show(heads, n_head: int) -> list[int]:
    """The heads a view of one layer draws: the ones asked for (checked), else a readable subset."""
    if heads is None:
        return first_heads(n_head)
    try:
        shown = [int(h) for h in heads]
    except (TypeError, ValueError):
        raise LabError(f"heads must be a list of head numbers, such as [0, 1, 2], not {heads!r}.") from None
    if not shown or not all(0 <= h < n_head for h in shown):
        raise LabError(f"Choose heads between 0 and {n_head - 1}, for example heads=[0, 1].")
    return shown


@styled
def query_row_bars(pattern: torch.Tensor, query: int, query_tokens, key_tokens=None, *, title: str | None = None):
    """Where one query looks: its row of the pattern as bars, one bar per key.

    pattern: (T, T_all) of one head; ``query`` indexes its rows. Keys after the query (masked, weight exactly 0)
    are marked with a grey "masked" label instead of a bar. The bar heights are ``pattern[query]``.
    """
    key_tokens = _check_matrix(pattern, query_tokens, key_tokens, "pattern")
    T, T_all = pattern.shape
    if not -T <= query < T:
        raise LabError(f"Query {query} is outside the {T} positions of this pattern; use 0 to {T - 1}.")
    query = query % T
    row = to_numpy(pattern[query])  # (T_all,)
    future = to_numpy(causal_mask(T, T_all)[query])  # (T_all,)  True for keys the query may not see
    fig, axes = new_figure(width=max(5.0, 1.5 + 0.45 * min(T_all, 40)), height=3.8)
    ax = axes[0, 0]
    bars = ax.bar(np.arange(T_all), row, color=["#bbbbbb" if f else "#2b6cb0" for f in future])
    top = max(float(row.max()), 0.05) * 1.3  # the axis runs to the tallest bar, with room for its label
    for x, (value, is_future) in enumerate(zip(row, future)):
        if T_all <= 24:
            if is_future:  # no bar: the label sits on the axis
                ax.text(x, 0.02, "masked", ha="center", va="bottom", fontsize="x-small", rotation=90, color="#777777",
                        transform=ax.get_xaxis_transform())
            else:
                ax.text(x, value + 0.02 * top, f"{value:.0%}", ha="center", va="bottom", fontsize="x-small")
    set_token_ticks(ax, key_tokens, "x")
    ax.set_ylim(0, top)
    ax.set_ylabel("attention weight")
    ax.set_xlabel("key (looked at)")
    ax.set_title(title or f"where {quoted_token(query_tokens[query])} (position {query}) looks; the bars sum to 1")
    bars.set_label("attention weight")
    return fig


@styled
def qkv_vectors(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, token: str = "", *, title: str | None = None):
    """The query, key and value one head computes for one token, as three rows of a heatmap.

    q, k, v: (d_head,), e.g. ``trace["blocks.0.attn.q"][head, t]``. The image is the (3, d_head) matrix
    ``[q; k; v]`` on one colour scale centred at 0; the title gives each vector's length and q·k/√d_head, the
    token's score for itself.
    """
    if not (q.dim() == k.dim() == v.dim() == 1 and q.shape == k.shape == v.shape):
        raise LabError("Give q, k and v of one head and one token, each of shape (d_head,), "
                       "e.g. trace['blocks.0.attn.q'][head, t].")
    matrix = to_numpy(torch.stack([q, k, v]))  # (3, d_head)
    limit = float(np.abs(matrix).max()) or 1.0
    d_head = matrix.shape[1]
    fig, axes = new_figure(width=max(5.0, 1.5 + 0.12 * d_head), height=2.6)
    ax = axes[0, 0]
    image = ax.imshow(matrix, cmap=VECTOR_CMAP, vmin=-limit, vmax=limit, aspect="auto", interpolation="nearest")
    norms = [float(np.linalg.norm(row)) for row in matrix]
    ax.set_yticks([0, 1, 2], [f"q  |q|={norms[0]:.2f}", f"k  |k|={norms[1]:.2f}", f"v  |v|={norms[2]:.2f}"])
    ax.set_xlabel(f"dimension of the head (d_head = {d_head})")
    self_score = float(q @ k) / d_head**0.5
    ax.set_title(title or f"q, k, v of {quoted_token(token)}; its score for itself q·k/√d = {self_score:.2f}",
                 fontsize="medium")
    fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


@styled
def masked_vs_unmasked(causal: torch.Tensor, unmasked: torch.Tensor, tokens, *, title: str | None = None):
    """GPT-2's causal pattern beside the BERT-style pattern of the same scores with no mask.

    causal, unmasked: (T, T) of one head, e.g. ``trace["blocks.0.attn.pattern"][h]`` and
    ``unmasked_pattern(trace["blocks.0.attn.scores"])[h]``. Both on the 0-to-1 scale.
    """
    _check_matrix(causal, tokens, None, "pattern")
    _check_matrix(unmasked, tokens, None, "pattern")
    annotate = len(tokens) <= MAX_ANNOTATED
    side = label_room(tokens) + 0.8
    cols, rows, size = panel_layout(2, _panel_room(len(tokens), annotate), max_cols=2, side_in=side)
    fig, axes = new_figure(rows, cols, width=cols * size + side,
                           height=rows * (size + label_room(tokens) + 1.2) + 0.6 + (0.5 if title else 0), layout="compressed")
    for i, (ax, pattern, name) in enumerate(zip(axes.flat, (causal, unmasked),
                                                ("GPT-2: causal mask,\nno looking ahead", "BERT-style:\nno mask"))):
        image = _pattern_image(ax, to_numpy(pattern), annotate)
        _label_axes(ax, tokens, tokens, ylabels=i % cols == 0, size=size)
        ax.set_title(name)
    fig.colorbar(image, ax=list(axes.flat), label="attention weight", shrink=0.8, location="bottom")
    if title:
        fig.suptitle(title)
    return fig


@styled
def head_scores_heatmap(scores, *, title: str | None = None):
    """Every head's previous-token, first-token and induction score, as three (n_layer, n_head) heatmaps.

    ``scores`` is a :class:`~gpt2lab.analysis.head_scores.HeadScores`; each panel is on the 0-to-1 scale and marks
    its strongest head with a ring. Every head is drawn at any size (1,200 small cells for gpt2-xl, which
    still read as a picture); past 24 layers or heads only every k-th is labelled, and the title says so.
    """
    from matplotlib.ticker import MaxNLocator

    from gpt2lab.analysis.head_scores import KINDS

    n_layer, n_head = scores.previous_token.shape
    cell_w, cell_h = grid_cell_inches(n_layer, n_head)
    fig, axes = new_figure(1, 3, width=3 * (1.2 + cell_w * max(n_head, 4)) + 1.2, height=1.6 + cell_h * max(n_layer, 4))
    for ax, kind in zip(axes[0], KINDS):
        grid = to_numpy(scores.of(kind))  # (n_layer, n_head)
        image = ax.imshow(grid, cmap=PATTERN_CMAP, vmin=0, vmax=1, aspect="auto", interpolation="nearest")
        layer, head, best = scores.strongest(kind)
        ax.scatter([head], [layer], s=160, facecolors="none", edgecolors="#d1495b", linewidths=2)
        ax.set_title(f"{kind.replace('_', '-')}\nbest: {layer}.{head} = {best:.2f}", fontsize="medium")
        ax.set_xlabel("head")
        ticks = grid_ticks(ax, n_layer, n_head)
        ax.set_ylabel("layer")
    fig.colorbar(image, ax=list(axes[0]), label="score (mean attention weight)", shrink=0.8)
    if title or ticks:
        fig.suptitle("\n".join(filter(None, [title, f"all {n_layer} x {n_head} heads; {ticks}" if ticks else ""])))
    return fig

