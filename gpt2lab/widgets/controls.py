"""Pieces shared by the generation widgets: the sampling controls, the error box, figures as PNG.

Core ipywidgets only, so they work in JupyterLab 4, Notebook 7 and Colab; every control is a plain
input reachable with Tab (sliders move with the arrow keys, numbers are typed).
"""

from __future__ import annotations

from html import escape

import ipywidgets as widgets

from gpt2lab.generation.sampling import SamplingSettings
from gpt2lab.viz.figures import figure_png as _png

SLIDER_STYLE = {"description_width": "110px"}


def error_html(sentence: str) -> str:
    """A learner error as a red box (the widget stays usable; the next good action clears it)."""
    return (f'<div role="alert" style="border:1px solid #c00;background:#fdecea;color:#611a15;'
            f'padding:4px 8px;border-radius:4px">{escape(sentence)}</div>')


def figure_png(fig, dpi: int = 80) -> bytes:
    """A figure as PNG bytes for an ``Image`` widget (gpt2lab figures are not pyplot's: nothing to close)."""
    return _png(fig, dpi=dpi)


class SamplingControls:
    """Temperature, top-k, top-p, max new tokens and seed, read back as a checked :class:`SamplingSettings`.

    top-k applies while its box is ticked (the slider starts at 1: keeping no token at all means nothing).
    Values the sliders cannot reach, such as a max of 0 new tokens typed in, are explained in one sentence.
    """

    def __init__(self, temperature: float = 1.0, top_k: int | None = 40, top_p: float = 1.0,
                 max_new_tokens: int = 40, seed: int = 0, max_tokens_label: str = "Max new tokens"):
        self.temperature = widgets.FloatSlider(value=temperature, min=0.0, max=2.0, step=0.05, description="Temperature",
                                               style=SLIDER_STYLE, continuous_update=False,
                                               tooltip="0 = greedy (always the most likely token)")
        self.use_top_k = widgets.Checkbox(value=top_k is not None, description="top-k", indent=False,
                                          layout=widgets.Layout(width="70px"))
        self.top_k = widgets.IntSlider(value=top_k if top_k is not None else 40, min=1, max=200,
                                       continuous_update=False, tooltip="keep only the k most likely tokens",
                                       disabled=top_k is None)
        self.top_p = widgets.FloatSlider(value=top_p, min=0.0, max=1.0, step=0.01, description="top-p",
                                         style=SLIDER_STYLE, continuous_update=False,
                                         tooltip="keep the most likely tokens holding this much probability; 1 = off")
        self.max_new_tokens = widgets.IntText(value=max_new_tokens, description=max_tokens_label, style=SLIDER_STYLE,
                                              layout=widgets.Layout(width="200px"))
        self.seed = widgets.IntText(value=seed, description="Seed", style={"description_width": "40px"},
                                    layout=widgets.Layout(width="140px"))
        self.use_top_k.observe(lambda change: setattr(self.top_k, "disabled", not change["new"]), names="value")
        self.box = widgets.VBox([
            widgets.HBox([self.temperature, self.use_top_k, self.top_k]),
            widgets.HBox([self.top_p, self.max_new_tokens, self.seed]),
        ])

    def settings(self) -> SamplingSettings:
        """The controls' values as settings; raises :class:`~gpt2lab.LabError` for a bad one."""
        return SamplingSettings(
            temperature=round(float(self.temperature.value), 4),
            top_k=int(self.top_k.value) if self.use_top_k.value else None,
            top_p=round(float(self.top_p.value), 4),
            max_new_tokens=int(self.max_new_tokens.value),
            seed=int(self.seed.value),
        )
