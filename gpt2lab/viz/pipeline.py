"""The whole picture: GPT-2 from text to the next token, in one figure, with "you are here".

    text -> ids -> token + position embeddings -> n x block
                                                      -> final LayerNorm -> tied unembedding
                                                      -> sampling -> append and repeat -> (back to the ids)

Every notebook shows it at the top, with the stage it is about highlighted:

    pipeline_figure("attention", lab)        # in 03: the block's attention is lit, the numbers are the lab's

Drawn offline with matplotlib alone (boxes and arrows, no image files).
"""

from __future__ import annotations

from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from gpt2lab.errors import LabError
from gpt2lab.viz.figures import new_figure, styled

# The stages of the picture, in order: key -> (box title, what happens there).
PIPELINE_STAGES = {
    "text": ("text", "a prompt"),
    "ids": ("token ids", "byte-level BPE"),
    "embeddings": ("token + position\nembeddings", "wte[id] + wpe[pos]"),
    "blocks": ("n x block", "x + attn(ln1(x))\nx + mlp(ln2(x))"),
    "ln_final": ("final\nLayerNorm", "ln_f"),
    "unembedding": ("tied\nunembedding", "logits = x @ wte.T"),
    "sampling": ("sampling", "temperature,\ntop-k, top-p"),
    "append": ("append and\nrepeat", "the new id\njoins the text"),
}

# Names a notebook may use for a part inside a stage: each lights up the stage it belongs to.
ALIASES = {
    "tokenization": "ids", "tokenizer": "ids", "attention": "blocks", "block": "blocks", "mlp": "blocks",
    "logits": "unembedding", "generation": "append", "loop": "append",
}

HIGHLIGHT = "#f5b041"  # "you are here"
PLAIN = "#d6eaf8"


def pipeline_stage(stage: str) -> str:
    """The stage key ``stage`` names (a key of :data:`PIPELINE_STAGES` or an alias), or one LabError."""
    key = ALIASES.get(stage, stage) if isinstance(stage, str) else None
    if key not in PIPELINE_STAGES:
        names = ", ".join(list(PIPELINE_STAGES) + list(ALIASES))
        raise LabError(f"No pipeline stage is called {stage!r}; use one of: {names}.")
    return key


def model_numbers(lab) -> dict[str, str]:
    """The loaded model's numbers to write into the boxes (n_layer, d_model, vocabulary)."""
    c = lab.config
    return {
        "ids": f"vocabulary {c.vocab_size:,}",
        "embeddings": f"d_model {c.d_model}\n{c.n_ctx:,} positions",
        "blocks": f"{c.n_layer} blocks, {c.n_head} heads",
        "unembedding": f"{c.vocab_size:,} scores",
    }


COLUMNS = 4  # boxes per row: two rows fit a notebook's width with every word readable


def box_place(i: int) -> tuple[int, int]:
    """(column, row) of the i-th stage: the first row left to right, the second right to left (a loop)."""
    row, col = divmod(i, COLUMNS)
    return (col if row == 0 else COLUMNS - 1 - col), row


@styled
def pipeline_figure(here: str | list[str] | None = None, lab=None, *, width: float | None = None):
    """GPT-2's pipeline as a loop of boxes in two rows, with the stage(s) ``here`` highlighted as "you are here".

    ``lab`` (optional) writes the loaded model's n_layer, d_model and vocabulary into the boxes. The figure
    keeps the highlighted stage keys in ``fig.gpt2lab_here`` (a test reads them). ``width`` in inches
    (default: the notebook's width in the current display mode).
    """
    from gpt2lab.viz.presenter import current_display_mode

    wanted = [] if here is None else list(here) if isinstance(here, (list, tuple)) else [here]
    lit = [pipeline_stage(s) for s in wanted]
    numbers = model_numbers(lab) if lab is not None else {}
    mode = current_display_mode()
    width = width or mode.max_figure_width
    fig, axes = new_figure(1, 1, width=width, height=width * 0.52)
    ax = axes[0, 0]
    ax.set_axis_off()
    ax.set_xlim(0, COLUMNS)
    ax.set_ylim(-0.55, 3.05)
    box_w, box_h, rows_y = 0.88, 1.05, (1.65, 0.0)  # each row's bottom edge
    # the longest line ("token + position", 16 characters of bold text) fits its box: the text shrinks to fit
    box_px = box_w * width * mode.dpi / COLUMNS
    title_pt = min(mode.font_size * 1.1, 0.92 * box_px / (16 * 0.64) * 72 / mode.dpi)
    centres = []
    for i, (key, (title, detail)) in enumerate(PIPELINE_STAGES.items()):
        col, row = box_place(i)
        x0, y0 = col + (1 - box_w) / 2, rows_y[row]
        on = key in lit
        ax.add_patch(FancyBboxPatch((x0, y0), box_w, box_h, boxstyle="round,pad=0.02", linewidth=2.5 if on else 1,
                                    facecolor=HIGHLIGHT if on else PLAIN, edgecolor="#333333", gid=f"stage:{key}"))
        ax.text(col + 0.5, y0 + 0.72 * box_h, title, ha="center", va="center", fontsize=title_pt, fontweight="bold")
        ax.text(col + 0.5, y0 + 0.26 * box_h, numbers.get(key, detail), ha="center", va="center", fontsize=0.85 * title_pt)
        if on:
            ax.text(col + 0.5, y0 + box_h + 0.2 if row == 0 else y0 - 0.2, "you are here", ha="center", va="center",
                    fontsize="medium", fontweight="bold", color="#b9770e")
        centres.append((col + 0.5, y0 + box_h / 2, row))
    for (x1, y1, r1), (x2, y2, r2) in zip(centres, centres[1:]):
        if r1 == r2:  # along the row, edge to edge
            step = (box_w / 2) * (1 if x2 > x1 else -1)
            start, end = (x1 + step, y1), (x2 - step, y2)
        else:  # down to the second row
            start, end = (x1, rows_y[0]), (x2, rows_y[1] + box_h)
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, color="#333333"))
    # append and repeat: the loop back from the last box to the ids
    (xa, _, _), (xi, _, _) = centres[-1], centres[1]
    ax.add_patch(FancyArrowPatch((xa + 0.15, rows_y[1] + box_h), (xi - 0.15, rows_y[0]), arrowstyle="-|>",
                                 mutation_scale=14, color="#777777", linestyle="--"))
    ax.text(COLUMNS / 2, -0.4, "the chosen token is appended to the ids, and the model runs again", ha="center",
            va="center", fontsize="small", color="#555555")
    fig.gpt2lab_here = lit
    return fig
