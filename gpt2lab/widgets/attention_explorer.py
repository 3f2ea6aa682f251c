"""An attention explorer: type a text, pick a layer, a head and a query token, and see attention redrawn.

Built from core ipywidgets only (Text, IntSlider, Dropdown, ToggleButtons, HTML), so it works in
JupyterLab 4, Notebook 7 and Colab with no extra widget manager. Every control is reachable with Tab and
driven by the keyboard: arrow keys move the sliders and the toggle buttons, the dropdown opens with
Space or Alt+Down. This module only wires controls to the views: on screen they are drawn as HTML by
:mod:`gpt2lab.viz.attention_html` (redrawn in milliseconds at every slider move, sized with the text in
every display mode); the same view as a matplotlib figure from :mod:`gpt2lab.viz.attention_plots`
(``explorer.figure``) is drawn only when it is saved for a slide.

    explorer = AttentionExplorer(lab, "The cat sat on the mat")
    explorer                    # shows it in a notebook
    explorer.layer.value = 1    # what moving the slider does; the view is redrawn at once
"""

from __future__ import annotations

from html import escape

import ipywidgets as widgets

from gpt2lab.analysis.ablation import ablation_effect
from gpt2lab.errors import LabError
from gpt2lab.analysis.unmasked_attention import unmasked_pattern
from gpt2lab.viz import attention_html as views
from gpt2lab.viz import attention_plots as plots
from gpt2lab.viz.ablation_views import ablation_table_html
from gpt2lab.viz.labels import quoted_token, token_label
from gpt2lab.viz.presenter import themed
from gpt2lab.viz.readable import first_heads, index_list
from gpt2lab.widgets.controls import SaveControl, error_html, wrapping_row

MAX_TOKENS = 48  # more rows and columns than this make every heatmap unreadable
# (label on the button, key): what the figure shows
VIEWS = (
    ("pattern", "pattern"),
    ("scores → mask → softmax", "mask"),
    ("all heads", "grid"),
    ("one query", "row"),
    ("q, k, v", "qkv"),
    ("masked vs unmasked", "unmasked"),
)
VIEW_TIPS = (
    "one head's attention pattern: rows are queries, columns are keys",
    "the three steps that turn scores into the pattern",
    "every head of the layer side by side",
    "where the chosen query token looks, as bars",
    "the query, key and value vectors of the chosen token",
    "GPT-2's causal pattern beside the same scores softmaxed with no mask (BERT-style)",
)
USES_HEAD = {"pattern", "mask", "row", "qkv", "unmasked"}
USES_QUERY = {"row", "qkv"}


class AttentionExplorer:
    """Text in; one layer's attention out, for the head and query token chosen."""

    def __init__(self, lab, text: str = "The cat sat on the mat because it was tired.", *, layer: int = 0,
                 head: int = 0, view: str = "pattern", max_tokens: int = MAX_TOKENS):
        self.lab = lab
        self.max_tokens = max_tokens
        self.trace = None  # the last text that traced without error
        self._drawing_paused = False
        config = lab.config

        self.text = widgets.Text(value=text, description="Text", continuous_update=False,
                                 placeholder="Type a text and press Enter", layout=widgets.Layout(width="95%"))
        self.layer = widgets.IntSlider(value=layer, min=0, max=config.n_layer - 1, description="Layer",
                                       continuous_update=False, layout=widgets.Layout(width="20em"))
        self.head = widgets.IntSlider(value=head, min=0, max=config.n_head - 1, description="Head",
                                      continuous_update=False, layout=widgets.Layout(width="20em"))
        self.query = widgets.Dropdown(description="Query token", options=[],
                                      style={"description_width": "initial"})
        self.show = widgets.ToggleButtons(options=VIEWS, value=view, description="Show", tooltips=list(VIEW_TIPS),
                                          style={"button_width": "auto"})
        self.message = widgets.HTML()  # learner errors appear here, in one sentence
        self.picture = widgets.HTML()
        self.switch_off = widgets.ToggleButton(value=False, description="Switch this head off", icon="power-off",
                                               tooltip="zero this head's output and see how the next-token distribution changes",
                                               layout=widgets.Layout(width="auto"))
        self.ablation = widgets.HTML()  # the next-token distribution with and without the head

        self.text.observe(self.on_text_change, names="value")
        for control in (self.layer, self.head, self.query, self.show):
            control.observe(self.redraw, names="value")
        self.switch_off.observe(lambda _: self.show_ablation(), names="value")
        self.save = SaveControl(lambda: self.figure, "attention.png")  # the view shown, as a figure for a slide
        self.view = widgets.VBox([
            self.text,
            wrapping_row([self.layer, self.head, self.query]),
            self.show,
            self.message,
            self.picture,
            self.save.box,
            self.switch_off,
            self.ablation,
        ])
        themed(self.view, redraw=self.redraw)  # the gpt2lab class, and the display mode's style inside (Colab)
        self.on_text_change()

    def _repr_mimebundle_(self, **kwargs):
        return self.view._repr_mimebundle_(**kwargs)

    # -- callbacks: each one is called by ipywidgets, and can be called directly in tests ----------

    def on_text_change(self, change=None) -> None:
        """Trace the new text; on a learner error, say why and keep the last good view."""
        try:
            n_tokens = len(self.lab.encode(self.text.value))
            if n_tokens > self.max_tokens:  # checked before tracing: a long text is slow to trace AND to draw
                raise LabError(f"That text is {n_tokens} tokens long; the explorer shows at most "
                               f"{self.max_tokens}, so please shorten it.")
            trace = self.lab.trace(self.text.value, keep=["blocks.*.attn.*"])
        except LabError as error:
            self.message.value = error_html(str(error))
            self.picture.value = self.ablation.value = ""  # the sentence replaces the views
            return
        self.message.value = ""
        self.trace = trace
        self._drawing_paused = True  # new options fire change events; draw once, at the end
        try:
            options = [(f"{t}: {token_label(token)}", t) for t, token in enumerate(trace.tokens)]
            self.query.options = options
            self.query.value = len(options) - 1  # the last token: the one whose next token is predicted
        finally:
            self._drawing_paused = False
        self.redraw()

    def redraw(self, change=None) -> None:
        """Draw the chosen view for the chosen layer, head and query."""
        if self._drawing_paused or self.trace is None:
            return
        kind = self.show.value
        self.head.disabled = kind not in USES_HEAD
        self.query.disabled = kind not in USES_QUERY
        try:
            html, alt = self.make_view(kind)
        except LabError as error:
            self.message.value = error_html(str(error))
            self.picture.value = self.ablation.value = ""
            return
        self.message.value = ""
        self.picture.value = f'<div role="img" aria-label="{escape(alt)}">{html}</div>'
        self.show_ablation()

    @property
    def figure(self):
        """The view shown, as a matplotlib figure (what Save PNG/SVG writes), or None before a good text."""
        if self.trace is None:
            return None
        return self.make_figure(self.show.value)[0]

    def show_ablation(self) -> None:
        """With "switch this head off" pressed: the next-token distribution with and without the chosen head."""
        if not self.switch_off.value or self.trace is None:
            self.ablation.value = ""
            return
        effect = ablation_effect(self.lab, self.trace.ids, [(self.layer.value, self.head.value)])
        self.ablation.value = ablation_table_html(effect).data

    # -- helpers -------------------------------------------------------------------------------------

    def grid_heads(self, head: int) -> tuple[list[int], bool]:
        """The heads the grid view shows: at most 16, always with ``head`` among them; and whether that is all."""
        shown = first_heads(self.lab.config.n_head, around=head)
        return shown, len(shown) == self.lab.config.n_head

    def make_view(self, kind: str) -> tuple[str, str]:
        """The HTML of one view of the current trace, and a one-sentence description of it (alt text)."""
        trace, layer, head, query = self.trace, self.layer.value, self.head.value, self.query.value
        tokens = trace.tokens
        where = f"layer {layer}, head {head}"
        if kind == "pattern":
            return (views.pattern_html(trace["attn.pattern", layer][head], tokens, title=f"{where}: attention pattern"),
                    f"Attention pattern of {where}, {len(tokens)} tokens.")
        if kind == "mask":
            return (views.mask_steps_html(trace["attn.scores", layer][head], trace["attn.pattern", layer][head], tokens,
                                          title=f"{where}: from scores to pattern"),
                    f"Scores, masked scores and softmax pattern of {where}.")
        if kind == "grid":  # at most 16 heads, always with the chosen one among them (gpt2-xl has 25)
            shown, every = self.grid_heads(head)
            return (views.head_grid_html(trace["attn.pattern", layer], tokens, heads=shown,
                                         title=f"layer {layer}: {'every head' if every else 'the heads around head ' + str(head)}"),
                    f"Attention patterns of all heads of layer {layer}." if every else
                    f"Attention patterns of heads {index_list(shown)} of layer {layer}'s {self.lab.config.n_head}.")
        if kind == "row":
            return (views.query_row_html(trace["attn.pattern", layer][head], query, tokens,
                                         title=f"{where}: where {quoted_token(tokens[query])} looks"),
                    f"Attention weights of query token {query} in {where}, one bar per key.")
        if kind == "qkv":
            q, k, v = (trace["attn." + name, layer][head, query] for name in ("q", "k", "v"))
            return views.qkv_html(q, k, v, tokens[query]), f"Query, key and value vectors of token {query} in {where}."
        if kind == "unmasked":
            unmasked = unmasked_pattern(trace["attn.scores", layer])[head]  # (T, T)
            return (views.masked_vs_unmasked_html(trace["attn.pattern", layer][head], unmasked, tokens, title=where),
                    f"Causal and unmasked attention patterns of {where}, side by side.")
        raise LabError(f"There is no view called {kind!r}; choose one of {', '.join(k for _, k in VIEWS)}.")

    def make_figure(self, kind: str):
        """The figure for one view of the current trace, and a one-sentence description of it (alt text)."""
        trace, layer, head, query = self.trace, self.layer.value, self.head.value, self.query.value
        tokens = trace.tokens
        where = f"layer {layer}, head {head}"
        if kind == "pattern":
            figure = plots.pattern_heatmap(trace["attn.pattern", layer][head], tokens, title=f"{where}: attention pattern")
            return figure, f"Attention pattern of {where}, {len(tokens)} tokens."
        if kind == "mask":
            figure = plots.mask_steps(trace["attn.scores", layer][head], trace["attn.pattern", layer][head], tokens,
                                      title=f"{where}: from scores to pattern")
            return figure, f"Scores, masked scores and softmax pattern of {where}."
        if kind == "grid":
            shown, every = self.grid_heads(head)
            figure = plots.head_grid(trace["attn.pattern", layer], tokens, heads=shown,
                                     title=f"layer {layer}: {'every head' if every else 'the heads around head ' + str(head)}")
            return figure, (f"Attention patterns of all heads of layer {layer}." if every else
                            f"Attention patterns of heads {index_list(shown)} of layer {layer}'s {self.lab.config.n_head}.")
        if kind == "row":
            figure = plots.query_row_bars(trace["attn.pattern", layer][head], query, tokens,
                                          title=f"{where}: where {quoted_token(tokens[query])} looks")
            return figure, f"Attention weights of query token {query} in {where}, one bar per key."
        if kind == "qkv":
            q, k, v = (trace["attn." + name, layer][head, query] for name in ("q", "k", "v"))
            figure = plots.qkv_vectors(q, k, v, tokens[query])
            return figure, f"Query, key and value vectors of token {query} in {where}."
        if kind == "unmasked":
            unmasked = unmasked_pattern(trace["attn.scores", layer])[head]  # (T, T)
            figure = plots.masked_vs_unmasked(trace["attn.pattern", layer][head], unmasked, tokens, title=where)
            return figure, f"Causal and unmasked attention patterns of {where}, side by side."
        raise LabError(f"There is no view called {kind!r}; choose one of {', '.join(k for _, k in VIEWS)}.")

