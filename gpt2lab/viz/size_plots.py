"""Figures for the GPT-2 family: where the parameters live."""

from __future__ import annotations

from matplotlib.figure import Figure

from gpt2lab.analysis.model_sizes import ModelSize
from gpt2lab.viz.figures import new_figure, styled

PART_COLOURS = {
    "token embedding": "#3a7dc9",
    "position embedding": "#8ab6e8",
    "attention": "#e07a1f",
    "MLP": "#2a9d5b",
    "LayerNorm": "#888888",
}


@styled
def parameter_breakdown_plot(sizes: list[ModelSize], share: bool = False) -> Figure:
    """Stacked bars: each model's parameters split into embeddings, attention, MLP and LayerNorm.

    With ``share=True`` each bar shows fractions of that model's total instead of millions, which makes
    the lesson plain: the MLPs hold the largest share of the four GPT-2 sizes (about two thirds of GPT-2 XL); the
    token embedding's share grows as models shrink: 31% of GPT-2 small, and 47% of the shallow distilgpt2, where
    it outweighs the MLPs (35%).
    """
    fig, axes = new_figure(width=8, height=4.5)
    ax = axes[0, 0]
    names = [s.name for s in sizes]
    bottom = [0.0] * len(sizes)
    for part, colour in PART_COLOURS.items():
        values = [s.parameters.as_dict()[part] for s in sizes]
        values = [v / s.parameters.total if share else v / 1e6 for v, s in zip(values, sizes)]
        ax.bar(names, values, bottom=bottom, color=colour, label=part)
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_ylabel("share of parameters" if share else "parameters (millions)")
    ax.set_title("Where the parameters live")
    ax.legend(loc="upper left", fontsize="small")
    return fig
