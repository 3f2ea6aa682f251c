"""The essay generator: type a prompt, press Generate, read a short essay as it is written.

    EssayWidget(lab)

Sampling settings sit under the prompt (temperature, top-k, top-p, min-p, the repetition penalty, the
n-gram ban, most new tokens, seed) next to the number of paragraphs; every one of them goes into the essay.
The text shows as it comes, token by token (a long essay on a slow computer takes a while), then the
finished essay replaces it. A thin wrapper over :func:`gpt2lab.apps.essay.write_essay`.
"""

from __future__ import annotations

import time
from html import escape

import ipywidgets as widgets

from gpt2lab.errors import LabError
from gpt2lab.apps.essay import ESSAY_SETTINGS, Essay, write_essay
from gpt2lab.viz.labels import plural
from gpt2lab.viz.presenter import themed
from gpt2lab.widgets.controls import SamplingControls, checked_prompt, error_html, wrapping_row

STREAM_EVERY_S = 0.25  # how often the text so far is redrawn while the essay is written


class EssayWidget:
    """Prompt in, essay out. ``widget.essay`` holds the last :class:`~gpt2lab.apps.essay.Essay`."""

    def __init__(self, lab, prompt: str = "It is a truth universally acknowledged", paragraphs: int = 3,
                 seed: int = 0, **settings):
        self.lab = lab
        self.essay: Essay | None = None
        chosen = {**ESSAY_SETTINGS, **settings}
        self.prompt = widgets.Textarea(value=prompt, description="Prompt", layout=widgets.Layout(width="95%", height="4em"))
        self.controls = SamplingControls(chosen["temperature"], chosen["top_k"], chosen["top_p"], chosen["max_new_tokens"],
                                         seed, max_tokens_label="Most new tokens", min_p=chosen.get("min_p", 0.0),
                                         repetition_penalty=chosen.get("repetition_penalty", 1.0),
                                         no_repeat_ngram_size=chosen.get("no_repeat_ngram_size", 0))
        self.paragraphs = widgets.IntSlider(value=paragraphs, min=1, max=6, description="Paragraphs",
                                            style={"description_width": "9.5em"}, layout=widgets.Layout(width="27em"))
        self.generate_button = widgets.Button(description="Generate", icon="pencil", button_style="primary",
                                              tooltip="write an essay that continues the prompt")
        self.message = widgets.HTML()
        self.status = widgets.HTML()
        self.output = widgets.HTML()
        self.generate_button.on_click(lambda _: self.generate())
        self.view = widgets.VBox([self.prompt, self.controls.box, wrapping_row([self.paragraphs, self.generate_button]),
                                  self.message, self.status, self.output])
        themed(self.view)  # the gpt2lab class, and the display mode's style inside (Colab)

    def _repr_mimebundle_(self, **kwargs):
        return self.view._repr_mimebundle_(**kwargs)

    def generate(self) -> Essay | None:
        """Write an essay from the controls' values, showing the text as it comes; a mistake shows as one
        sentence in the widget, in place of the last essay."""
        self.generate_button.disabled = True
        start = time.perf_counter()
        try:
            s = self.controls.settings()
            prompt = checked_prompt(self.prompt.value)
            self.message.value = ""
            self.status.value = "<i>Writing…</i>"
            shown = [start]  # when the text so far was last redrawn

            def show_progress(steps) -> None:
                now = time.perf_counter()
                if steps and now - shown[0] >= STREAM_EVERY_S:
                    shown[0] = now
                    text = prompt + self.lab.decode([step.token_id for step in steps])
                    self.status.value = f"<i>Writing… {len(steps)} of at most {s.max_new_tokens} tokens</i>"
                    self.output.value = essay_text_html(prompt, text)

            essay = write_essay(self.lab, prompt, paragraphs=self.paragraphs.value, max_new_tokens=s.max_new_tokens,
                                temperature=s.temperature, top_k=s.top_k, top_p=s.top_p, seed=s.seed, min_p=s.min_p,
                                repetition_penalty=s.repetition_penalty, no_repeat_ngram_size=s.no_repeat_ngram_size,
                                on_token=show_progress)
        except LabError as error:
            self.message.value = error_html(str(error))
            self.status.value = self.output.value = ""  # the mistake replaces the last essay
            return None
        finally:
            self.generate_button.disabled = False
        self.essay = essay
        seconds = time.perf_counter() - start
        self.status.value = (f"{plural(len(essay.steps), 'token')} in {seconds:.1f} s with "
                             f"{escape(s.describe())}, seed {s.seed} · {escape(essay.stop_explanation)}")
        self.output.value = essay_html(essay)
        return essay


_ESSAY_STYLE = "max-width:44em;line-height:1.5;font-family:Georgia,serif"


def essay_text_html(prompt: str, text: str) -> str:
    """Text being written: the prompt in bold, then what the model wrote so far, line breaks kept."""
    written = text[len(prompt):] if text.startswith(prompt) else text
    return (f'<div style="{_ESSAY_STYLE};white-space:pre-wrap"><b>{escape(prompt)}</b>{escape(written)}'
            f'<span style="color:#999">▍</span></div>')


def essay_html(essay: Essay) -> str:
    """The essay as paragraphs; the prompt is shown in bold, so what the model wrote is plain to see."""
    prompt = essay.prompt.strip()
    paragraphs = []
    for i, paragraph in enumerate(essay.paragraphs):
        text = escape(paragraph)
        if i == 0 and paragraph.startswith(prompt):
            text = f"<b>{escape(prompt)}</b>{escape(paragraph[len(prompt):])}"
        paragraphs.append(f"<p style='margin:0.5em 0'>{text}</p>")
    return f'<div style="{_ESSAY_STYLE}">{"".join(paragraphs)}</div>'
