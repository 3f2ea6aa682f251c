"""Pieces shared by the widgets: the sampling controls, the error box, the prompt check, figures as PNG.

Core ipywidgets only, so they work in JupyterLab 4, Notebook 7 and Colab; every control is a plain
input reachable with Tab (sliders move with the arrow keys, numbers are typed).
"""

from __future__ import annotations

import base64
from html import escape

import ipywidgets as widgets

from gpt2lab.generation.sampling import SamplingSettings, check_typed_prompt
from gpt2lab.viz.figures import figure_png

LABEL = {"description_width": "9.5em"}  # one column of labels, in em: it grows with the display mode's text
SHORT_LABEL = {"description_width": "initial"}  # a label as wide as its text


def error_html(sentence: str) -> str:
    """A learner error as a red box (the widget stays usable; the next good action clears it).

    Every widget shows its mistakes with this one box, in its own message area, replacing what was there.
    """
    return (f'<div role="alert" style="border:1px solid #c00;background:#fdecea;color:#611a15;'
            f'padding:4px 8px;border-radius:4px">{escape(sentence)}</div>')


def checked_prompt(text: str) -> str:
    """A prompt typed into a widget, checked: one sentence for an empty or blank one; the text as typed otherwise.

    >>> checked_prompt("  ")
    Traceback (most recent call last):
    ...
    gpt2lab.errors.LabError: The prompt is only spaces: type at least one word for the model to continue.
    """
    check_typed_prompt(text)
    return text


def figure_img_html(fig, alt: str) -> str:
    """A figure as an ``<img>`` for an HTML widget, with alt text, never wider than the widget."""
    png = base64.b64encode(figure_png(fig)).decode("ascii")  # at the dpi of its display mode
    return f'<img src="data:image/png;base64,{png}" alt="{escape(alt)}" style="max-width:100%">'


def slider_layout() -> widgets.Layout:
    """Sliders sized in em, so two sit side by side in a notebook and one per line in presenter mode."""
    return widgets.Layout(width="27em")


def wrapping_row(children) -> widgets.HBox:
    """A row of controls that wraps onto the next line when the page (or the text) is too narrow for it."""
    return widgets.HBox(list(children), layout=widgets.Layout(flex_flow="row wrap", align_items="center"))


class SamplingControls:
    """Temperature, top-k, top-p, min-p, the two penalties, max new tokens and seed, read back as a checked
    :class:`SamplingSettings`.

    top-k applies while its box is ticked (the slider starts at 1: keeping no token at all means nothing).
    Values the sliders cannot reach, such as a max of 0 new tokens or a seed too large for the random
    generator, are explained in one sentence. A widget that has no use for the length or the seed leaves
    it out (``show_length=False``, ``show_seed=False``): every control shown changes what the widget shows.
    """

    def __init__(self, temperature: float = 1.0, top_k: int | None = 40, top_p: float = 1.0,
                 max_new_tokens: int = 40, seed: int = 0, max_tokens_label: str = "Max new tokens",
                 min_p: float = 0.0, repetition_penalty: float = 1.0, no_repeat_ngram_size: int = 0,
                 show_length: bool = True, show_seed: bool = True):
        self.temperature = widgets.FloatSlider(value=temperature, min=0.0, max=2.0, step=0.05, description="Temperature",
                                               style=LABEL, continuous_update=False, layout=slider_layout(),
                                               tooltip="0 = greedy (always the most likely token)")
        self.use_top_k = widgets.Checkbox(value=top_k is not None, description="top-k", indent=False,
                                          layout=widgets.Layout(width="auto", margin="0 0.5em 0 1em"))
        self.top_k = widgets.IntSlider(value=top_k if top_k is not None else 40, min=1, max=200,
                                       continuous_update=False, tooltip="keep only the k most likely tokens",
                                       disabled=top_k is None, layout=widgets.Layout(width="16em"))
        self.top_p = widgets.FloatSlider(value=top_p, min=0.0, max=1.0, step=0.01, description="top-p",
                                         style=LABEL, continuous_update=False, layout=slider_layout(),
                                         tooltip="keep the most likely tokens holding this much probability; 1 = off")
        self.max_new_tokens = widgets.IntText(value=max_new_tokens, description=max_tokens_label, style=LABEL,
                                              layout=widgets.Layout(width="17em"))
        self.seed = widgets.IntText(value=seed, description="Seed", style=SHORT_LABEL, layout=widgets.Layout(width="12em"),
                                    tooltip="the same seed draws the same tokens")
        self.min_p = widgets.FloatSlider(value=min_p, min=0.0, max=0.5, step=0.01, description="min-p",
                                         style=LABEL, continuous_update=False, layout=slider_layout(),
                                         tooltip="cut tokens less likely than min-p times the likeliest; 0 = off")
        self.repetition_penalty = widgets.FloatSlider(value=repetition_penalty, min=0.5, max=3.0, step=0.05,
                                                      description="Repeat penalty", style=LABEL, layout=slider_layout(),
                                                      continuous_update=False,
                                                      tooltip="a token already in the text: logit / penalty; 1 = off")
        self.no_repeat_ngram_size = widgets.IntSlider(value=no_repeat_ngram_size, min=0, max=6, description="No repeat n-gram",
                                                      style=LABEL, continuous_update=False, layout=slider_layout(),
                                                      tooltip="forbid repeating any n-gram of this size; 0 = off")
        self.use_top_k.observe(lambda change: setattr(self.top_k, "disabled", not change["new"]), names="value")
        self.shown = [self.temperature, self.use_top_k, self.top_k, self.top_p, self.min_p, self.repetition_penalty,
                      self.no_repeat_ngram_size]  # every control on screen: each one changes the widget's output
        length_and_seed = ([self.max_new_tokens] if show_length else []) + ([self.seed] if show_seed else [])
        self.shown += length_and_seed
        self.box = widgets.VBox([
            wrapping_row([self.temperature, wrapping_row([self.use_top_k, self.top_k])]),
            wrapping_row([self.top_p, self.min_p]),
            wrapping_row([self.repetition_penalty, self.no_repeat_ngram_size]),
            *([wrapping_row(length_and_seed)] if length_and_seed else []),
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

    def observe(self, callback) -> None:
        """Call ``callback()`` whenever a shown control changes."""
        for control in self.shown:
            control.observe(lambda _: callback(), names="value")

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
        self.filename = widgets.Text(value=filename, description="Save as", style=SHORT_LABEL,
                                     layout=widgets.Layout(width="18em"), tooltip="end the name in .png or .svg")
        self.button = widgets.Button(description="Save PNG/SVG", tooltip="write the current view to that file")
        self.message = widgets.HTML()
        self.button.on_click(lambda _: self.save())
        self.box = wrapping_row([self.filename, self.button, self.message])

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
