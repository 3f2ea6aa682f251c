"""The attention figures as self-contained HTML: what the attention explorer shows, redrawn in milliseconds.

The HTML twins of :mod:`gpt2lab.viz.attention_plots` (the same numbers, colours and conventions: rows are
queries, columns are keys, patterns on a fixed 0-to-1 scale, −∞ cells dark grey), drawn as tables with
inline CSS (no script, nothing fetched). A widget redraws one at every slider move: a matplotlib figure
takes most of a second to lay out and encode on a small machine, a table a few milliseconds. Sizes are in
``em``, so the views grow with the widget's text in presenter mode, and a view never grows wider than a
notebook's output at 1280x800: cells shrink, then token labels thin out, before that.

    pattern_html(trace["blocks.0.attn.pattern"][2], trace.tokens)
    mask_steps_html(scores, pattern, trace.tokens)
"""

from __future__ import annotations

import math
from html import escape

import numpy as np
import torch

from gpt2lab.errors import LabError
from gpt2lab.model.attention import apply_causal_mask, causal_mask
from gpt2lab.viz.attention_plots import MASKED_COLOUR, MAX_ANNOTATED, NEG_INF, PATTERN_CMAP, SCORE_CMAP, VECTOR_CMAP
from gpt2lab.viz.figures import to_numpy
from gpt2lab.viz.labels import quoted_token, short_label, token_label

AXES_NOTE = "rows: queries (looking) · columns: keys (looked at)"
_FONT = "font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;"


def _page_em() -> float:
    """How many em of widget text fit across a notebook's output in the current display mode."""
    from gpt2lab.viz.presenter import PAGE_WIDTH_PX, current_display_mode

    return 0.95 * PAGE_WIDTH_PX / float(current_display_mode().widget_font.rstrip("px"))


def colours(cmap: str, values: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """Each value's colour on a matplotlib colour map, as ``#rrggbb`` strings (one call for the whole array)."""
    import matplotlib

    t = np.full(values.shape, 0.5) if vmax == vmin else np.clip((values - vmin) / (vmax - vmin), 0.0, 1.0)
    rgb = np.round(255 * matplotlib.colormaps[cmap](np.nan_to_num(t))[..., :3]).astype(int)
    return np.array([f"#{r:02x}{g:02x}{b:02x}" for r, g, b in rgb.reshape(-1, 3)]).reshape(values.shape)


def _ink(background: str) -> str:
    """Black or white text, whichever reads better on the background colour."""
    r, g, b = (int(background[i : i + 2], 16) for i in (1, 3, 5))
    return "#111" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#fff"


def heatmap_html(matrix, row_labels, col_labels, *, cmap: str = PATTERN_CMAP, vmin: float = 0.0, vmax: float = 1.0,
                 annotate: bool | None = None, fmt: str = "{:.2f}", title: str = "", width_em: float | None = None,
                 axes_note: str | None = AXES_NOTE) -> str:
    """A matrix as a table of coloured cells, labelled rows and columns; -inf cells dark grey ("−∞").

    ``annotate``: write each value in its cell (default: at most 12 columns). ``width_em``: the widest the
    view may be; cells shrink to fit it, and labels are thinned out so they never overlap.
    """
    values = to_numpy(matrix)
    if values.ndim != 2 or values.shape != (len(row_labels), len(col_labels)):
        raise LabError(f"Give a matrix with one row per row label and one column per column label, not {values.shape}.")
    n_rows, n_cols = values.shape
    annotate = n_cols <= MAX_ANNOTATED if annotate is None else annotate
    label_em = 0.86 * 0.6 * min(max((len(token_label(t)) for t in row_labels), default=1), 14) + 0.5
    room = (width_em or _page_em()) - label_em - 1.2
    cell = min(2.9 if annotate else 1.3, room / max(n_cols, 1))
    annotate = annotate and cell >= 2.6
    every = max(1, math.ceil(0.9 / cell))  # a label (0.86 em of text) needs 0.9 em: thin them out below that
    side = f"width:{cell:.2f}em;height:{min(cell, 1.6 if annotate else 1.3):.2f}em;"
    head = "".join(
        f'<th style="padding:0;vertical-align:bottom;font-weight:normal;{side}height:auto">'
        f'<div style="writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;margin:0 auto;'
        f'font-size:0.86em;line-height:1">'
        f'{escape(short_label(t, 14)) if j % every == 0 else ""}</div></th>'
        for j, t in enumerate(col_labels))
    backgrounds = colours(cmap, values, vmin, vmax)
    rows = []
    for i, label in enumerate(row_labels):
        cells = []
        for j in range(n_cols):
            v = float(values[i, j])
            if not math.isfinite(v):
                bg, text = MASKED_COLOUR, NEG_INF
            else:
                bg, text = str(backgrounds[i, j]), fmt.format(v)
            number = f'<span style="color:{_ink(bg)};font-size:0.86em">{text}</span>' if annotate else ""
            cells.append(f'<td style="{side}padding:0;text-align:center;background:{bg}" title="{escape(text)}">{number}</td>')
        name = escape(short_label(label, 14)) if i % every == 0 else ""
        rows.append(f'<tr><th style="text-align:right;font-weight:normal;padding:0 0.4em 0 0;white-space:nowrap;'
                    f'font-size:0.86em;line-height:1">{name}</th>{"".join(cells)}</tr>')
    caption = f'<div style="font-weight:bold;margin-bottom:0.2em">{escape(title).replace(chr(10), "<br>")}</div>' if title else ""
    note = f'<div style="font-size:0.9em;color:#555">{escape(axes_note)}</div>' if axes_note else ""
    return (f'<div style="display:inline-block;vertical-align:top;margin:0 0.8em 0.8em 0">{caption}{note}'
            f'<table style="{_FONT}border-collapse:collapse;table-layout:fixed;color:inherit">'
            f'{"".join(rows)}<tr><th></th>{head}</tr></table>{colour_bar(cmap, vmin, vmax)}</div>')


def colour_bar(cmap: str, vmin: float, vmax: float, label: str = "") -> str:
    """A small colour scale: the map as a gradient from ``vmin`` to ``vmax``."""
    stops = ", ".join(colours(cmap, np.linspace(vmin, vmax, 9), vmin, vmax))
    return (f'<div style="display:flex;align-items:center;gap:0.4em;margin-top:0.3em">{vmin:.2g}'
            f'<span style="display:inline-block;width:8em;height:0.8em;background:linear-gradient(to right, {stops})">'
            f'</span>{vmax:.2g} {escape(label)}</div>')


def _panel_width(n_panels: int, tokens, cell_em: float = 1.0) -> float:
    """The width each of ``n_panels`` heatmaps gets: as many side by side as fit with cells of at least
    ``cell_em`` (so every token keeps its label), the rest on further lines."""
    label_em = 0.86 * 0.6 * min(max((len(token_label(t)) for t in tokens), default=1), 14) + 0.5
    per_row = max(1, min(n_panels, int(_page_em() // (len(tokens) * cell_em + label_em + 2.2))))
    return _page_em() / per_row


def _panels(*panels: str, title: str = "", note: str = AXES_NOTE) -> str:
    """Views side by side, wrapping onto the next line when the page is too narrow for them."""
    heading = f'<div style="font-weight:bold">{escape(title)}</div>' if title else ""
    heading += f'<div style="font-size:0.9em;color:#555;margin-bottom:0.3em">{escape(note)}</div>'
    return f'<div>{heading}<div style="display:flex;flex-wrap:wrap;align-items:flex-start">{"".join(panels)}</div></div>'


def pattern_html(pattern, query_tokens, key_tokens=None, *, title: str = "") -> str:
    """One head's pattern, (T, T_all): the twin of :func:`~gpt2lab.viz.attention_plots.pattern_heatmap`."""
    key_tokens = query_tokens if key_tokens is None else key_tokens
    return heatmap_html(pattern, query_tokens, key_tokens, title=title or "attention pattern: each row sums to 1")


def mask_steps_html(scores, pattern, tokens, *, title: str = "") -> str:
    """Scores, the scores after the causal mask (−∞ above the diagonal), and the softmax, side by side."""
    raw = to_numpy(scores)
    limit = float(np.abs(raw).max()) or 1.0
    masked = to_numpy(apply_causal_mask(torch.as_tensor(scores)))
    # the three steps side by side if they fit; numbers in the cells only if they fit too (hover for them)
    width = _panel_width(3, tokens)
    common = dict(width_em=width, annotate=len(tokens) <= MAX_ANNOTATED and len(tokens) * 2.9 + 9 < width, axes_note=None)
    return _panels(
        heatmap_html(raw, tokens, tokens, cmap=SCORE_CMAP, vmin=-limit, vmax=limit, fmt="{:.1f}",
                     title="1. scores\nq·k / √d_head", **common),
        heatmap_html(masked, tokens, tokens, cmap=SCORE_CMAP, vmin=-limit, vmax=limit, fmt="{:.1f}",
                     title="2. causal mask\n−∞ above the diagonal", **common),
        heatmap_html(pattern, tokens, tokens, title="3. softmax\nof each row", **common),
        title=title)


def head_grid_html(patterns, tokens, *, title: str = "", heads=None) -> str:
    """The heads of one layer, (n_head, T, T_all), side by side (``heads``: which ones; all by default);
    no numbers in the cells."""
    shown = list(range(patterns.shape[0])) if heads is None else list(heads)
    width = max(_panel_width(len(shown), tokens, cell_em=0.6), _page_em() / math.ceil(math.sqrt(len(shown))))
    return _panels(*(heatmap_html(patterns[h], tokens, tokens, annotate=False, title=f"head {h}", width_em=width,
                                  axes_note=None)
                     for h in shown), title=title or "every head of the layer")


def query_row_html(pattern, query: int, tokens, *, title: str = "") -> str:
    """Where one query looks: its row of the pattern as bars, one per key (keys after it: masked)."""
    T = pattern.shape[0]
    row = to_numpy(pattern[query])
    future = to_numpy(causal_mask(T, pattern.shape[1])[query])
    bars = []
    for key, (w, is_future) in enumerate(zip(row, future)):
        bar = ("<i style='color:#777'>masked</i>" if is_future else
               f'<span style="display:inline-block;height:0.8em;width:{max(0.1, 14 * float(w)):.2f}em;background:#2b6cb0">'
               f'</span> {float(w):.0%}')
        bars.append(f'<tr><td style="text-align:right;padding:0 0.5em 0 0;white-space:nowrap">{key}. '
                    f'{escape(short_label(tokens[key], 14))}</td><td style="padding:0.05em 0">{bar}</td></tr>')
    heading = title or f"where {quoted_token(tokens[query])} (position {query}) looks; the bars sum to 1"
    return (f'<div><div style="font-weight:bold">{escape(heading)}</div>'
            f'<table style="{_FONT}border-collapse:collapse;color:inherit">{"".join(bars)}</table></div>')


def qkv_html(q, k, v, token: str = "", *, title: str = "") -> str:
    """The query, key and value of one token in one head, as three rows of coloured cells (d_head columns)."""
    matrix = to_numpy(torch.stack([torch.as_tensor(q), torch.as_tensor(k), torch.as_tensor(v)]))
    limit = float(np.abs(matrix).max()) or 1.0
    norms = [float(np.linalg.norm(r)) for r in matrix]
    names = [f"q |q|={norms[0]:.2f}", f"k |k|={norms[1]:.2f}", f"v |v|={norms[2]:.2f}"]
    self_score = float(matrix[0] @ matrix[1]) / matrix.shape[1] ** 0.5
    heading = title or f"q, k, v of {quoted_token(token)}; its score for itself q·k/√d = {self_score:.2f}"
    return heatmap_html(matrix, names, [""] * matrix.shape[1], cmap=VECTOR_CMAP, vmin=-limit, vmax=limit, annotate=False,
                        title=heading, axes_note=f"columns: the {matrix.shape[1]} dimensions of the head (d_head)")


def masked_vs_unmasked_html(causal, unmasked, tokens, *, title: str = "") -> str:
    """GPT-2's causal pattern beside the same scores softmaxed with no mask (BERT-style)."""
    width = _panel_width(2, tokens)  # side by side if they fit; numbers in the cells only if they fit too
    annotate = len(tokens) <= MAX_ANNOTATED and len(tokens) * 2.9 + 9 < width
    common = dict(width_em=width, annotate=annotate, axes_note=None)
    return _panels(heatmap_html(causal, tokens, tokens, title="GPT-2: causal mask,\nno looking ahead", **common),
                   heatmap_html(unmasked, tokens, tokens, title="BERT-style:\nno mask", **common), title=title)
