"""A "why this token" panel: for the newest token of a text, which parts of the network wrote its logit,
and what happens to the prediction when some heads are switched off.

    panel = WhyThisTokenPanel(lab)
    panel.explain(context_ids, token_id)   # the tokens read, and the token they predicted next

The generation stepper shows one under its chart (for its newest step). It stays collapsed until
"Explain the newest token" is ticked, so stepping stays fast; the bars come from
:func:`gpt2lab.viz.attribution_plots.attribution_bars`, the ablation table from
:mod:`gpt2lab.viz.ablation_views`.
"""

from __future__ import annotations

from html import escape

import ipywidgets as widgets

from gpt2lab.analysis.ablation import ablation_effect
from gpt2lab.analysis.attribution import direct_logit_attribution
from gpt2lab.errors import LabError
from gpt2lab.viz.ablation_views import ablation_table_html
from gpt2lab.viz.attribution_plots import attribution_bars, attribution_text
from gpt2lab.widgets.controls import error_html, figure_img_html

N_BARS = 10  # contributors shown


class WhyThisTokenPanel:
    """Direct logit attribution of one predicted token, and a head switch to test what it depends on."""

    def __init__(self, lab, *, n_bars: int = N_BARS):
        self.lab = lab
        self.n_bars = n_bars
        self.context_ids: list[int] | None = None  # what was read
        self.token_id: int | None = None  # what it predicted
        self.attribution = None  # the last LogitAttribution shown
        self.effect = None  # the last AblationEffect shown
        heads = [(f"L{layer} H{head}", (layer, head)) for layer in range(lab.config.n_layer) for head in range(lab.config.n_head)]
        self.enabled = widgets.Checkbox(value=False, description="Explain the newest token", indent=False)
        self.heads_off = widgets.SelectMultiple(options=heads, value=(), description="Heads off", rows=4,
                                                style={"description_width": "initial"},
                                                tooltip="switch these heads off (zero ablation); Ctrl/Shift-click for several")
        self.message = widgets.HTML()
        self.bars = widgets.HTML()
        self.caption = widgets.HTML()
        self.ablation = widgets.HTML()
        self.bars.add_class("gpt2lab-why-bars")
        self.enabled.observe(lambda _: self.redraw(), names="value")
        self.heads_off.observe(lambda _: self.redraw(), names="value")
        self.view = widgets.VBox([self.enabled, self.message, self.caption, self.bars, self.heads_off, self.ablation])

    def _repr_mimebundle_(self, **kwargs):
        return self.view._repr_mimebundle_(**kwargs)

    def explain(self, context_ids, token_id: int) -> None:
        """Explain ``token_id`` as the prediction after ``context_ids`` (drawn now if the panel is open)."""
        self.context_ids, self.token_id = [int(i) for i in context_ids], int(token_id)
        self.redraw()

    def explain_step(self, step) -> None:
        """Explain the newest step of a :class:`~gpt2lab.generation.loop.Stepper` (None: nothing yet)."""
        if step is None:
            self.context_ids = self.token_id = None
            self.redraw()
        else:
            self.explain(step.context_ids.tolist(), step.token_id)

    def redraw(self) -> None:
        open_ = self.enabled.value
        self.heads_off.layout.display = None if open_ else "none"
        if not open_ or self.context_ids is None:
            self.bars.value = self.caption.value = self.ablation.value = ""
            self.message.value = ""
            return
        try:
            trace = self.lab.trace(self.context_ids)
            self.attribution = direct_logit_attribution(self.lab, trace, -1, self.token_id)
            heads = list(self.heads_off.value)
            self.effect = ablation_effect(self.lab, self.context_ids, heads) if heads else None
        except LabError as error:
            self.message.value = error_html(str(error))
            self.bars.value = self.caption.value = self.ablation.value = ""  # the sentence replaces the views
            return
        self.message.value = ""
        alt = attribution_text(self.attribution)
        self.bars.value = figure_img_html(attribution_bars(self.attribution, self.n_bars), alt)
        self.caption.value = f"<div>{escape(alt)}</div>"
        self.ablation.value = ablation_table_html(self.effect).data if self.effect is not None else (
            "<i>Pick heads above to switch them off and see the next-token distribution change.</i>")
