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
                 max_new_tokens: int = 40, seed: int = 0, max_tokens_label: str = "Max new tokens",
                 min_p: float = 0.0, repetition_penalty: float = 1.0, no_repeat_ngram_size: int = 0):
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
        self.min_p = widgets.FloatSlider(value=min_p, min=0.0, max=0.5, step=0.01, description="min-p",
                                         style=SLIDER_STYLE, continuous_update=False,
                                         tooltip="cut tokens less likely than min-p times the likeliest; 0 = off")
        self.repetition_penalty = widgets.FloatSlider(value=repetition_penalty, min=0.5, max=3.0, step=0.05,
                                                      description="Repeat penalty", style=SLIDER_STYLE,
                                                      continuous_update=False,
                                                      tooltip="a token already in the text: logit / penalty; 1 = off")
        self.no_repeat_ngram_size = widgets.IntSlider(value=no_repeat_ngram_size, min=0, max=6, description="No repeat n-gram",
                                                      style=SLIDER_STYLE, continuous_update=False,
                                                      tooltip="forbid repeating any n-gram of this size; 0 = off")
        self.use_top_k.observe(lambda change: setattr(self.top_k, "disabled", not change["new"]), names="value")
        self.box = widgets.VBox([
            widgets.HBox([self.temperature, self.use_top_k, self.top_k]),
            widgets.HBox([self.top_p, self.min_p]),
            widgets.HBox([self.repetition_penalty, self.no_repeat_ngram_size]),
            widgets.HBox([self.max_new_tokens, self.seed]),
        ])

    def settings(self) -> SamplingSettings:
        """The controls' values as settings; raises :class:`~gpt2lab.LabError` for a bad one."""
        return SamplingSettings(
            temperature=round(float(self.temperature.value), 4),
            top_k=int(self.top_k.value) if self.use_top_k.value else None,
            top_p=round(float(self.top_p.value), 4),
            max_new_tokens=int(self.max_new_tokens.value),
            seed=int(self.seed.value),
            min_p=round(float(self.min_p.value), 4),
            repetition_penalty=round(float(self.repetition_penalty.value), 4),
            no_repeat_ngram_size=int(self.no_repeat_ngram_size.value),
        )

    def show(self, settings: SamplingSettings) -> None:
        """Set the controls to ``settings`` (a loaded session's)."""
        self.temperature.value, self.top_p.value, self.min_p.value = settings.temperature, settings.top_p, settings.min_p
        self.use_top_k.value = settings.top_k is not None
        if settings.top_k is not None:
            self.top_k.value = settings.top_k
        self.repetition_penalty.value = settings.repetition_penalty
        self.no_repeat_ngram_size.value = settings.no_repeat_ngram_size
        self.max_new_tokens.value = settings.max_new_tokens
        if settings.seed is not None:
            self.seed.value = settings.seed


class SaveControl:
    """One reusable "save for a slide" control: a file name the learner types and a Save button.

    ``get_figure()`` returns the view to save now (a :class:`~gpt2lab.viz.figures.LabFigure`); the ending of
    the name (.png, .svg, .pdf) picks the format. The result, or the one-sentence mistake, shows beside it.
    """

    def __init__(self, get_figure, filename: str = "figure.png"):
        self.get_figure = get_figure
        self.filename = widgets.Text(value=filename, description="Save as", style={"description_width": "60px"},
                                     layout=widgets.Layout(width="260px"), tooltip="end the name in .png or .svg")
        self.button = widgets.Button(description="Save PNG/SVG", tooltip="write the current view to that file")
        self.message = widgets.HTML()
        self.button.on_click(lambda _: self.save())
        self.box = widgets.HBox([self.filename, self.button, self.message])

    def save(self) -> str | None:
        """Write the current view; return the path written, or None (the reason shows in the control)."""
        from gpt2lab.errors import LabError
        from gpt2lab.viz.figures import save_figure

        try:
            fig = self.get_figure()
            if fig is None:
                raise LabError("There is nothing to save yet: make a view first.")
            path = save_figure(fig, self.filename.value.strip())
        except LabError as error:
            self.message.value = error_html(str(error))
            return None
        self.message.value = f"saved <code>{escape(path)}</code>"
        return path
