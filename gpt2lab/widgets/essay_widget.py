"""The essay generator: type a prompt, press Generate, read a short essay.

    EssayWidget(lab)

Sampling settings sit under the prompt (temperature, top-k, top-p, most new tokens, seed) next to the
number of paragraphs. A thin wrapper over :func:`gpt2lab.apps.essay.write_essay`.
"""

from __future__ import annotations

import time
from html import escape

import ipywidgets as widgets

from gpt2lab.errors import LabError
from gpt2lab.apps.essay import ESSAY_SETTINGS, Essay, write_essay
from gpt2lab.viz.presenter import themed
from gpt2lab.widgets.controls import SamplingControls, error_html


class EssayWidget:
    """Prompt in, essay out. ``widget.essay`` holds the last :class:`~gpt2lab.apps.essay.Essay`."""

    def __init__(self, lab, prompt: str = "It is a truth universally acknowledged", paragraphs: int = 3,
                 seed: int = 0, **settings):
        self.lab = lab
        self.essay: Essay | None = None
        chosen = {**ESSAY_SETTINGS, **settings}
        self.prompt = widgets.Textarea(value=prompt, description="Prompt", layout=widgets.Layout(width="95%", height="60px"))
        self.controls = SamplingControls(chosen["temperature"], chosen["top_k"], chosen["top_p"], chosen["max_new_tokens"],
                                         seed, max_tokens_label="Most new tokens")
        self.paragraphs = widgets.IntSlider(value=paragraphs, min=1, max=6, description="Paragraphs",
                                            style={"description_width": "110px"})
        self.generate_button = widgets.Button(description="Generate", icon="pencil", button_style="primary",
                                              tooltip="write an essay that continues the prompt")
        self.message = widgets.HTML()
        self.status = widgets.HTML()
        self.output = widgets.HTML()
        self.generate_button.on_click(lambda _: self.generate())
        self.view = widgets.VBox([self.prompt, self.controls.box, widgets.HBox([self.paragraphs, self.generate_button]),
                                  self.message, self.status, self.output])
        themed(self.view)  # the gpt2lab class, and the display mode's style inside (Colab)

    def _repr_mimebundle_(self, **kwargs):
        return self.view._repr_mimebundle_(**kwargs)

    def generate(self) -> Essay | None:
        """Write an essay from the controls' values; a mistake shows as one sentence in the widget."""
        self.generate_button.disabled = True
        self.status.value = "<i>Writing…</i>"
        start = time.perf_counter()
        try:
            s = self.controls.settings()
            essay = write_essay(self.lab, self.prompt.value, paragraphs=self.paragraphs.value,
                                max_new_tokens=s.max_new_tokens, temperature=s.temperature, top_k=s.top_k,
                                top_p=s.top_p, seed=s.seed)
        except LabError as error:
            self.message.value = error_html(str(error))
            self.status.value = ""
            return None
        finally:
            self.generate_button.disabled = False
        self.message.value = ""
        self.essay = essay
        seconds = time.perf_counter() - start
        self.status.value = (f"{len(essay.steps)} tokens in {seconds:.1f} s with {escape(s.describe())}, seed {s.seed} "
                             f"· {escape(essay.stop_explanation)}")
        self.output.value = essay_html(essay)
        return essay


def essay_html(essay: Essay) -> str:
    """The essay as paragraphs; the prompt is shown in bold, so what the model wrote is plain to see."""
    prompt = essay.prompt.strip()
    paragraphs = []
    for i, paragraph in enumerate(essay.paragraphs):
        text = escape(paragraph)
        if i == 0 and paragraph.startswith(prompt):
            text = f"<b>{escape(prompt)}</b>{escape(paragraph[len(prompt):])}"
        paragraphs.append(f"<p style='margin:0.5em 0'>{text}</p>")
    return f'<div style="max-width:44em;line-height:1.5;font-family:Georgia,serif">{"".join(paragraphs)}</div>'
