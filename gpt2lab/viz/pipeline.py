"""The whole picture: GPT-2 from text to the next token, in one figure, with "you are here".

    text -> ids -> token + position embeddings -> n x block -> final LayerNorm -> tied unembedding
         -> sampling -> append and repeat

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


@styled
def pipeline_figure(here: str | list[str] | None = None, lab=None, *, width: float = 12.0):
    """GPT-2's pipeline as one row of boxes, with the stage(s) ``here`` highlighted as "you are here".

    ``lab`` (optional) writes the loaded model's n_layer, d_model and vocabulary into the boxes. The figure
    keeps the highlighted stage keys in ``fig.gpt2lab_here`` (a test reads them).
    """
    wanted = [] if here is None else list(here) if isinstance(here, (list, tuple)) else [here]
    lit = [pipeline_stage(s) for s in wanted]
    numbers = model_numbers(lab) if lab is not None else {}
    fig, axes = new_figure(1, 1, width=width, height=2.4)
    ax = axes[0, 0]
    ax.set_axis_off()
    n = len(PIPELINE_STAGES)
    ax.set_xlim(0, n)
    ax.set_ylim(-0.75, 1.45)
    box_w = 0.82
    for i, (key, (title, detail)) in enumerate(PIPELINE_STAGES.items()):
        x0 = i + (1 - box_w) / 2
        on = key in lit
        ax.add_patch(FancyBboxPatch((x0, 0.0), box_w, 1.0, boxstyle="round,pad=0.02", linewidth=2.5 if on else 1,
                                    facecolor=HIGHLIGHT if on else PLAIN, edgecolor="#333333", gid=f"stage:{key}"))
        ax.text(i + 0.5, 0.68, title, ha="center", va="center", fontsize=9, fontweight="bold")
        ax.text(i + 0.5, 0.25, numbers.get(key, detail), ha="center", va="center", fontsize=7)
        if on:
            ax.text(i + 0.5, 1.22, "you are here", ha="center", va="center", fontsize=9, fontweight="bold",
                    color="#b9770e")
        if i < n - 1:
            ax.add_patch(FancyArrowPatch((x0 + box_w, 0.5), (i + 1 + (1 - box_w) / 2, 0.5), arrowstyle="-|>",
                                         mutation_scale=10, color="#333333"))
    # append and repeat: the loop back to the ids
    ax.add_patch(FancyArrowPatch((n - 0.5, -0.03), (1.5, -0.03), connectionstyle="arc3,rad=-0.15", arrowstyle="-|>",
                                 mutation_scale=10, color="#777777", linestyle="--"))
    ax.text(n / 2 + 0.5, -0.3, "the chosen token is appended to the ids, and the model runs again", ha="center",
            fontsize=7, color="#555555")
    fig.gpt2lab_here = lit
    return fig
