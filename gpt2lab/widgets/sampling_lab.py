"""The sampling lab: one prompt's next-token logits under five settings, side by side, and under your own.

    SamplingLabWidget(lab, "The best thing about Bath is")

Greedy, temperature 0.7 and 1.5, top-k 40 and top-p 0.9 (``gpt2lab.generation.sampling.LAB_SETTINGS``) all start
from the SAME logits; the table shows which tokens survive each filter and with what probability, and
the summary how many tokens each one keeps. Below, your own settings run the whole pipeline stage by stage,
and the seed draws one next token from what is left. A thin wrapper over
:func:`gpt2lab.generation.sampling.compare_settings` and :mod:`gpt2lab.viz.sampling_plots`.

Each control redraws only what it changes: the prompt traces the text once (its logits are kept), the
rows slider redraws the table, your settings redraw the pipeline. The side-by-side chart (the table as a
figure, ``comparison_chart``) is drawn when it is saved, or shown too with ``show_figure=True``.
"""

from __future__ import annotations

from html import escape

import ipywidgets as widgets

from gpt2lab.errors import LabError
from gpt2lab.generation.sampling import (LAB_SETTINGS, choose, compare_settings, entropy_bits, filter_distribution,
                                         last_position_logits, make_generator)
from gpt2lab.viz.labels import plural, token_label
from gpt2lab.viz.sampling_plots import compare_settings_chart, compare_settings_html, pipeline_html, top_rows
from gpt2lab.viz.presenter import themed
from gpt2lab.viz.figures import figure_png
from gpt2lab.widgets.controls import SamplingControls, SaveControl, checked_prompt, error_html


class SamplingLabWidget:
    """Type a prompt; see its next-token distribution under each setting of ``settings``, and under your own."""

    def __init__(self, lab, prompt: str = "The meaning of life is", n_rows: int = 15, settings=LAB_SETTINGS,
                 show_figure: bool = False):
        self.lab = lab
        self.settings = settings
        self.show_figure = show_figure
        self.trace = None  # the last prompt that traced without error (its logits are reused by every control)
        self.comparison = None  # the last good [(label, Distribution)]
        self.mine = None  # the last Distribution under your settings
        self.drawn: int | None = None  # the token your settings and seed drew
        self.prompt = widgets.Text(value=prompt, description="Prompt", continuous_update=False,
                                   layout=widgets.Layout(width="95%"))
        self.rows = widgets.IntSlider(value=n_rows, min=3, max=40, description="Tokens shown", continuous_update=False,
                                      style={"description_width": "initial"}, layout=widgets.Layout(width="27em"))
        self.message = widgets.HTML()
        self.summary = widgets.HTML()
        self.table = widgets.HTML()
        self.figure = widgets.Image(format="png", layout=widgets.Layout(display=None if show_figure else "none"))
        # your own settings, every stage of the pipeline shown: what each cut or changed, and one draw with the seed
        self.controls = SamplingControls(top_k=None, repetition_penalty=1.2, no_repeat_ngram_size=2, min_p=0.05,
                                         show_length=False)
        self.pipeline = widgets.HTML()
        self.save = SaveControl(self.chart_figure, "sampling-lab.png")
        self.prompt.observe(lambda _: self.update(), names="value")
        self.rows.observe(lambda _: self.show_table(), names="value")
        self.controls.observe(self.show_pipeline)
        self.view = widgets.VBox([self.prompt, self.rows, self.message, self.summary, self.table, self.figure,
                                  widgets.HTML("<b>Your settings</b>: the pipeline stage by stage, in transformers' "
                                               "order, and one token drawn with the seed"),
                                  self.controls.box, self.pipeline, self.save.box])
        themed(self.view, redraw=self.show_table)  # the gpt2lab class, and the display mode's style inside (Colab)
        self.update()

    def _repr_mimebundle_(self, **kwargs):
        return self.view._repr_mimebundle_(**kwargs)

    def update(self) -> bool:
        """Trace the prompt and redraw everything; a mistake shows as one sentence in place of the views."""
        try:
            trace = self.lab.trace(checked_prompt(self.prompt.value), keep=["logits"])
        except LabError as error:
            self.message.value = error_html(str(error))
            self.summary.value = self.table.value = self.pipeline.value = ""
            self.figure.value = b""
            return False
        self.message.value = ""
        self.trace = trace
        self.comparison = compare_settings(last_position_logits(trace.logits), self.settings)
        self.summary.value = self._summary_html(trace.tokens[-1])
        self.show_table()
        return self.show_pipeline()

    def _rows(self):
        probs = self.comparison[0][1].probs  # (vocab,) the raw distribution, the same for every setting
        rows = top_rows(probs, probs, self.rows.value)
        columns = [(label, d.filtered[rows.ids]) for label, d in self.comparison]
        return self.lab.token_strings(rows.ids), columns, probs[rows.ids], [d.n_kept for _, d in self.comparison]

    def show_table(self) -> None:
        """The five settings side by side, as many rows as the slider says (the figure too, if shown)."""
        if self.comparison is None:
            return
        self.table.value = compare_settings_html(*self._rows()).data
        if self.show_figure:
            self.figure.value = figure_png(self.chart_figure())

    def chart_figure(self):
        """The table as a side-by-side chart (what Save PNG/SVG writes), or None before a good prompt."""
        return compare_settings_chart(*self._rows()) if self.comparison is not None else None

    def show_pipeline(self) -> bool:
        """Your settings, stage by stage, and the token the seed draws; a mistake replaces them in one sentence."""
        if self.trace is None:
            return False
        try:
            settings = self.controls.settings()
            self.mine = filter_distribution(last_position_logits(self.trace.logits), settings,
                                            self.trace.context_ids.tolist())
        except LabError as error:
            self.pipeline.value = error_html(str(error))
            return False
        self.drawn = choose(self.mine, make_generator(settings.seed))
        token = token_label(self.lab.token_strings([self.drawn])[0])
        how = "greedy takes" if settings.greedy else f"seed {settings.seed} draws"
        self.pipeline.value = (pipeline_html(self.mine, self.lab.token_strings).data
                               + f"<div>With these settings, {how} <code>{escape(token)}</code> "
                                 f"(p = {float(self.mine.filtered[self.drawn]):.3f}).</div>")
        return True

    def _summary_html(self, last_token: str) -> str:
        items = []
        for label, d in self.comparison:
            items.append(f"<li><b>{label}</b>: {plural(d.n_kept, 'token')} kept; the likeliest is drawn with p = "
                         f"{float(d.filtered.max()):.3f}; about {2 ** entropy_bits(d.filtered):.1f} equally likely choices</li>")
        return (f"<div>The next token after <code>{escape(token_label(last_token))}</code>, {len(self.comparison)} ways "
                f"(model's own entropy: about {2 ** entropy_bits(self.comparison[0][1].probs):.1f} choices)</div>"
                f"<ul>{''.join(items)}</ul>")
