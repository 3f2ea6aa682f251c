"""What a view can show legibly at any GPT-2 size: a subset of layers and heads, and one line saying which.

GPT-2 small has 12 layers of 12 heads; gpt2-large 36 x 20 and gpt2-xl 48 x 25 = 1,200 heads. A grid of
1,200 attention patterns, or 25 colours of lines in one drawing, is a blur. So a view that grows with
layers x heads picks a readable subset itself when it is not told which (the first :data:`MAX_HEADS`
heads, every k-th layer) and writes one line, built by :func:`shown_line`, saying what it shows and how
to ask for others. A learner's own choice is always honoured.

    spread_layers(48, 30)          # [0, 2, 4, ..., 46, 47]: every 2nd layer, and the last
    index_list(range(16))          # "0–15"
    shown_line("heads", range(16), 25)   # "heads 0–15 of 25"
"""

from __future__ import annotations

import math
from collections.abc import Sequence

MAX_HEADS = 16  # heads one view shows at once: all of gpt2-medium's 16; GPT-2 small's 12 likewise
MAX_TICKS = 24  # labelled rows or columns along one axis of a layer x head grid (all of gpt2-medium's 24 layers)


def first_heads(n_head: int, limit: int = MAX_HEADS, around: int | None = None) -> list[int]:
    """At most ``limit`` consecutive heads: the first ones, or the block of ``limit`` that holds ``around``.

    ``first_heads(25) == [0, ..., 15]``; ``first_heads(25, around=20) == [9, ..., 24]``.
    """
    if n_head <= limit:
        return list(range(n_head))
    start = 0 if around is None else min(max(0, around - limit // 2), n_head - limit)
    return list(range(start, start + limit))


def spread_layers(n_layer: int, limit: int) -> list[int]:
    """At most ``limit`` layers of ``n_layer``: every k-th from layer 0, and the last layer when there is room.

    ``spread_layers(48, 30) == [0, 2, ..., 46, 47]``; ``spread_layers(48, 24) == [0, 2, ..., 46]`` (no room
    for 47); ``spread_layers(36, 5) == [0, 8, 16, 24, 32]``; ``spread_layers(12, 40)`` is all 12.
    """
    limit = max(1, limit)
    if n_layer <= limit:
        return list(range(n_layer))
    step = math.ceil(n_layer / limit)
    layers = list(range(0, n_layer, step))
    if layers[-1] != n_layer - 1 and len(layers) < limit:
        layers.append(n_layer - 1)  # the last layer, the one the logits read, whenever it fits
    return layers


def index_list(indices: Sequence[int]) -> str:
    """Indices in words, short: ``"0–15"``, ``"0, 2, …, 46, 47"``, ``"3, 7"``."""
    indices = list(indices)
    if not indices:
        return "none"
    if len(indices) > 2 and indices == list(range(indices[0], indices[-1] + 1)):
        return f"{indices[0]}–{indices[-1]}"
    if len(indices) <= 4:
        return ", ".join(map(str, indices))
    step = indices[1] - indices[0]
    regular = indices[:-1] == list(range(indices[0], indices[-2] + 1, step))
    if regular:  # an even spread, maybe with the last one added: "0, 2, …, 46, 47"
        ends = [indices[-2], indices[-1]] if indices[-1] - indices[-2] != step else [indices[-1]]
        return ", ".join(map(str, indices[:2])) + ", …, " + ", ".join(map(str, ends))
    return ", ".join(map(str, indices))


def shown_line(what: str, indices: Sequence[int], total: int) -> str:
    """``"heads 0–15 of 25"``; ``"all 12 heads"`` when every one is shown."""
    indices = list(indices)
    if len(indices) == total:
        return f"all {total} {what}"
    return f"{what} {index_list(indices)} of {total}"


def tick_step(n: int, limit: int = MAX_TICKS) -> int:
    """Label every ``tick_step(n)``-th row or column so that at most ``limit`` labels share an axis."""
    return max(1, math.ceil(n / limit))


def grid_ticks(ax, n_rows: int, n_cols: int, row_labels=None, col_labels=None, names=("layer", "head")) -> str:
    """Label a (rows, cols) heatmap's axes, every k-th one when there are many; return a note ("" if all).

    ``row_labels``/``col_labels`` default to the indices (layer and head numbers); ``names`` name a row and
    a column in the note: ``"every 3rd layer labelled; every 2nd head labelled"``.
    """
    notes = []
    for axis, n, labels, name in (("y", n_rows, row_labels, names[0]), ("x", n_cols, col_labels, names[1])):
        labels = [str(i) for i in range(n)] if labels is None else list(labels)
        step = tick_step(n)
        positions = list(range(0, n, step))
        (ax.set_yticks if axis == "y" else ax.set_xticks)(positions, [labels[i] for i in positions])
        if step > 1:
            notes.append(f"every {ordinal(step)} {name} labelled")
    return "; ".join(notes)


def grid_cell_inches(n_rows: int, n_cols: int) -> tuple[float, float]:
    """Inches (wide, high) per cell of a layer x head heatmap: GPT-2 small's 0.35 up to 12 heads and 24 layers,
    smaller beyond, so gpt2-xl's 48 x 25 grid fits a screen instead of growing to 30 inches."""
    return min(0.35, 4.2 / max(n_cols, 1)), min(0.35, 8.4 / max(n_rows, 1))


def ordinal(n: int) -> str:
    """``ordinal(2) == "2nd"``."""
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"
