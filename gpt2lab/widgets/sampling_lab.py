"""The sampling lab: one prompt's next-token logits under five settings, side by side.

    SamplingLabWidget(lab, "The best thing about Bath is")

Greedy, temperature 0.7 and 1.5, top-k 40 and top-p 0.9 (``gpt2lab.generation.sampling.LAB_SETTINGS``) all start
from the SAME logits; the table shows which tokens survive each filter and with what probability, and
the summary how many tokens each one keeps. A thin wrapper over :func:`gpt2lab.generation.sampling.compare_settings`
and :mod:`gpt2lab.viz.sampling_plots`.
"""

from __future__ import annotations

import ipywidgets as widgets

from gpt2lab.errors import LabError
from gpt2lab.generation.sampling import LAB_SETTINGS, compare_settings, entropy_bits, last_position_logits
from gpt2lab.generation.sampling import filter_distribution
from gpt2lab.viz.sampling_plots import compare_settings_chart, compare_settings_html, pipeline_html, top_rows
from gpt2lab.viz.presenter import themed
from gpt2lab.widgets.controls import SamplingControls, SaveControl, error_html, figure_png


class SamplingLabWidget:
    """Type a prompt; see its next-token distribution under each setting of ``settings``."""

    def __init__(self, lab, prompt: str = "The meaning of life is", n_rows: int = 15, settings=LAB_SETTINGS,
                 show_figure: bool = True):
        self.lab = lab
        self.settings = settings
        self.show_figure = show_figure
        self.comparison = None  # the last good [(label, Distribution)]
        self.prompt = widgets.Text(value=prompt, description="Prompt", continuous_update=False,
                                   layout=widgets.Layout(width="95%"))
        self.rows = widgets.IntSlider(value=n_rows, min=3, max=40, description="Tokens shown", continuous_update=False,
                                      style={"description_width": "100px"})
        self.message = widgets.HTML()
        self.summary = widgets.HTML()
        self.table = widgets.HTML()
        self.figure = widgets.Image(format="png")
        # your own settings, every stage of the pipeline shown: what each cut or changed
        self.controls = SamplingControls(top_k=None, repetition_penalty=1.2, no_repeat_ngram_size=2, min_p=0.05)
        self.pipeline = widgets.HTML()
        self.chart = None  # the figure drawn last (what Save PNG/SVG writes)
        self.save = SaveControl(lambda: self.chart, "sampling-lab.png")
        self.prompt.observe(lambda _: self.update(), names="value")
        self.rows.observe(lambda _: self.update(), names="value")
        for control in (self.controls.temperature, self.controls.use_top_k, self.controls.top_k, self.controls.top_p,
                        self.controls.min_p, self.controls.repetition_penalty, self.controls.no_repeat_ngram_size):
            control.observe(lambda _: self.update(), names="value")
        self.view = widgets.VBox([self.prompt, self.rows, self.message, self.summary, self.table, self.figure,
                                  widgets.HTML("<b>Your settings</b>: the pipeline stage by stage, in transformers' order"),
                                  self.controls.box, self.pipeline, self.save.box])
        themed(self.view)  # the gpt2lab class, and the display mode's style inside (Colab)
        self.update()

    def _repr_mimebundle_(self, **kwargs):
        return self.view._repr_mimebundle_(**kwargs)

    def update(self) -> bool:
        """Recompute from the prompt; a mistake shows in the widget and the last good view stays."""
        try:
            trace = self.lab.trace(self.prompt.value, keep=["logits"])
        except LabError as error:
            self.message.value = error_html(str(error))
            return False
        self.message.value = ""
        self.comparison = compare_settings(last_position_logits(trace.logits), self.settings)
        probs = self.comparison[0][1].probs  # (vocab,) the raw distribution, the same for every setting
        rows = top_rows(probs, probs, self.rows.value)
        tokens = self.lab.token_strings(rows.ids)
        columns = [(label, d.filtered[rows.ids]) for label, d in self.comparison]
        n_kept = [d.n_kept for _, d in self.comparison]
        self.summary.value = self._summary_html(trace.tokens[-1])
        self.table.value = compare_settings_html(tokens, columns, probs[rows.ids], n_kept).data
        self.chart = compare_settings_chart(tokens, columns, probs[rows.ids], n_kept)
        if self.show_figure:
            self.figure.value = figure_png(self.chart)
        try:
            mine = filter_distribution(last_position_logits(trace.logits), self.controls.settings(), trace.context_ids.tolist())
        except LabError as error:
            self.message.value = error_html(str(error))
            return False
        self.pipeline.value = pipeline_html(mine, self.lab.token_strings).data
        return True

    def _summary_html(self, last_token: str) -> str:
        items = []
        for label, d in self.comparison:
            items.append(f"<li><b>{label}</b>: {d.n_kept:,} tokens kept; the likeliest is drawn with p = "
                         f"{float(d.filtered.max()):.3f}; about {2 ** entropy_bits(d.filtered):.1f} equally likely choices</li>")
        return (f"<div>The next token after <code>{last_token!r}</code>, five ways "
                f"(model's own entropy: about {2 ** entropy_bits(self.comparison[0][1].probs):.1f} choices)</div>"
                f"<ul>{''.join(items)}</ul>")
