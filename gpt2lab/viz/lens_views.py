"""The logit lens as a table (self-contained HTML) and as a heatmap.

Both take a :class:`~gpt2lab.analysis.logit_lens.LogitLens` (tensors and token strings, no model). Rows are the
readings from the embeddings down to the last block; columns are the top guesses, most probable first. The
model's own final answer is set in bold wherever it appears, so one can see at which depth it surfaces.
"""

from __future__ import annotations

from html import escape

import numpy as np
from IPython.display import HTML

from gpt2lab.analysis.logit_lens import LogitLens
from gpt2lab.viz.figures import new_figure, styled, to_numpy
from gpt2lab.viz.labels import quoted_token, token_label

_CELL = "border:1px solid #aaa;padding:2px 6px;text-align:left;white-space:pre;"
LENS_CMAP = "Greens"


def _shade(p: float) -> str:
    """A green background whose strength is the probability, with text that stays readable."""
    alpha = min(1.0, max(0.0, p)) * 0.85
    colour = "#ffffff" if alpha > 0.5 else "#111111"
    return f"background:rgba(35,139,69,{alpha:.2f});color:{colour};"


def logit_lens_table(lens: LogitLens) -> HTML:
    """An HTML table: one row per reading, each cell a guessed token and its probability.

    The cell of the model's final answer is bold; the last column gives that token's probability at each
    depth. Inline CSS only: it renders offline and in an HTML export.
    """
    k = lens.top_ids.shape[1]
    head = "".join(f'<th style="{_CELL}">#{r + 1}</th>' for r in range(k))
    head += f'<th style="{_CELL}">P({escape(token_label(lens.final_token))})</th>'
    rows = []
    for i, label in enumerate(lens.labels):
        cells = []
        for r in range(k):
            p = float(lens.top_probs[i, r])
            text = f"{escape(token_label(lens.top_tokens[i][r]))} {p:.1%}"
            if int(lens.top_ids[i, r]) == lens.final_id:
                text = f"<b>{text}</b>"
            cells.append(f'<td style="{_CELL}{_shade(p)}">{text}</td>')
        cells.append(f'<td style="{_CELL}">{float(lens.final_probs[i]):.1%}</td>')
        rows.append(f'<tr><th style="{_CELL}">{escape(label)}</th>{"".join(cells)}</tr>')
    caption = (f"Logit lens at position {lens.position} ({escape(token_label(lens.token))}): the top guesses for "
               f"the next token, read after each block. Final answer: <b>{escape(token_label(lens.final_token))}</b>.")
    return HTML(f'<table style="border-collapse:collapse;margin:4px 0;color:inherit;font-family:ui-monospace,'
                f'Menlo,Consolas,monospace"><caption style="text-align:left">{caption}</caption>'
                f'<tr><th style="{_CELL}">reading</th>{head}</tr>{"".join(rows)}</table>')


@styled
def logit_lens_heatmap(lens: LogitLens, *, title: str | None = None):
    """The lens as a heatmap: colour is the probability of each top guess, each cell names its token.

    ``fig.axes[0].images[0].get_array()`` is ``lens.top_probs`` (readings x ranks); the right-hand panel
    plots ``lens.final_probs``, the probability of the model's final answer at each depth.
    """
    probs = to_numpy(lens.top_probs)  # (n_readings, top_k)
    n, k = probs.shape
    fig, axes = new_figure(1, 2, width=2.2 + 1.3 * k + 3.0, height=1.2 + 0.45 * n, width_ratios=[k, 2.2])
    ax, ax_final = axes[0]
    image = ax.imshow(probs, cmap=LENS_CMAP, vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest")
    for (i, r), p in np.ndenumerate(probs):
        text = token_label(lens.top_tokens[i][r])
        weight = "bold" if int(lens.top_ids[i, r]) == lens.final_id else "normal"
        ax.text(r, i, f"{text}\n{p:.0%}", ha="center", va="center", fontsize="x-small", fontweight=weight,
                color="white" if p > 0.6 else "black")
    ax.set_yticks(range(n), lens.labels)
    ax.set_xticks(range(k), [f"#{r + 1}" for r in range(k)])
    ax.set_xlabel("guess, most probable first")
    ax.set_title(title or f"logit lens after {quoted_token(lens.token)} (position {lens.position})", fontsize="medium")
    fig.colorbar(image, ax=ax, label="probability", shrink=0.8)
    ax_final.barh(range(n), to_numpy(lens.final_probs), color="#238b45")
    ax_final.set_ylim(n - 0.5, -0.5)  # same order as the heatmap: first reading on top
    ax_final.set_yticks([])
    ax_final.set_xlim(0, 1)
    ax_final.set_xlabel(f"P({quoted_token(lens.final_token)})")
    ax_final.set_title("the final answer", fontsize="medium")
    return fig
