"""Paste a text and see how surprised the model is by each token (GLTR's colours), for one model or two.

    SurprisalWidget(lab, "It is a truth universally acknowledged")
    SurprisalWidget(lab, text, compare_with=other_lab)       # two models side by side on the same text

Core ipywidgets only (Textarea, IntSlider, Button, HTML). All drawing is done by
:mod:`gpt2lab.viz.surprisal_views`; a learner's mistake (an empty text, one too long) shows as one
sentence in place of the view, and the widget works again at the next good text.
"""

from __future__ import annotations

import ipywidgets as widgets

from gpt2lab.errors import LabError
from gpt2lab.viz.presenter import themed
from gpt2lab.viz.surprisal_views import surprisal_comparison_html, surprisal_html
from gpt2lab.widgets.controls import error_html, wrapping_row

MAX_TOKENS = 400  # longer texts are slow to colour and hard to read


class SurprisalWidget:
    """Text in; every token coloured by the rank the model gave it, with its alternatives on hover and click."""

    def __init__(self, lab, text: str = "It is a truth universally acknowledged, that a single man in possession "
                 "of a good fortune, must be in want of a wife.", *, compare_with=None, top_k: int = 5,
                 max_tokens: int = MAX_TOKENS):
        self.labs = [lab] + ([compare_with] if compare_with is not None else [])
        self.max_tokens = max_tokens
        self.readings = []  # the last Surprisal of each model (tests and learners can inspect them)
        self.text = widgets.Textarea(value=text, description="Text", placeholder="Paste a text and press Read",
                                     layout=widgets.Layout(width="95%", height="80px"))
        self.top_k = widgets.IntSlider(value=top_k, min=1, max=10, description="Alternatives", continuous_update=False,
                                       style={"description_width": "initial"}, layout=widgets.Layout(width="24em"))
        self.read_button = widgets.Button(description="Read", icon="eye", tooltip="colour the text by surprisal")
        self.message = widgets.HTML()
        self.output = widgets.HTML()
        self.output.add_class("gpt2lab-surprisal-view")
        self.read_button.on_click(lambda _: self.read())
        self.top_k.observe(lambda _: self.read(), names="value")
        self.view = widgets.VBox([self.text, wrapping_row([self.read_button, self.top_k]), self.message, self.output])
        themed(self.view)
        self.read()

    def _repr_mimebundle_(self, **kwargs):
        return self.view._repr_mimebundle_(**kwargs)

    def read(self) -> bool:
        """Colour the current text; on a learner's mistake, say why in place of the view. True if it worked."""
        try:
            for lab in self.labs:
                n = len(lab.encode(self.text.value))
                if n > self.max_tokens:
                    raise LabError(f"That text is {n:,} tokens long; this view shows at most {self.max_tokens:,}, so please shorten it.")
            readings = [lab.surprisal(self.text.value, top_k=self.top_k.value) for lab in self.labs]
        except LabError as error:
            self.message.value = error_html(str(error))
            self.output.value = ""  # the sentence replaces the view
            return False
        self.message.value = ""
        self.readings = readings
        view = surprisal_html(readings[0]) if len(readings) == 1 else surprisal_comparison_html(readings)
        self.output.value = view.data
        return True
