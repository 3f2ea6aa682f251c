"""An ablation's effect as a small HTML table: each token's probability with all heads, and without some.

Inline CSS only (no script, no CDN). Takes an :class:`~gpt2lab.analysis.ablation.AblationEffect`.
"""

from __future__ import annotations

from html import escape

from IPython.display import HTML

from gpt2lab.analysis.ablation import AblationEffect
from gpt2lab.viz.labels import token_label

_CELL = "border:1px solid #aaa;padding:1px 6px;text-align:left;white-space:pre;"
_BAR = "display:inline-block;height:0.8em;vertical-align:middle;"


def _bar(p: float, colour: str) -> str:
    return f'<span style="{_BAR}width:{max(1, round(120 * p))}px;background:{colour}"></span>'


def ablation_table_html(effect: AblationEffect) -> HTML:
    """Before / after bars for the tokens the model liked most, and the KL divergence in the caption."""
    heads = ", ".join(f"L{layer} H{head}" for layer, head in effect.heads) or "no head"
    rows = []
    for token, before, after in zip(effect.tokens, effect.before.tolist(), effect.after.tolist()):
        change = after - before
        colour = "#1b5e20" if change > 0 else "#8a1c1c"
        rows.append(f'<tr><td style="{_CELL}">{escape(token_label(token))}</td>'
                    f'<td style="{_CELL}">{_bar(before, "#6baed6")} {before:.1%}</td>'
                    f'<td style="{_CELL}">{_bar(after, "#fd8d3c")} {after:.1%}</td>'
                    f'<td style="{_CELL}color:{colour}">{change:+.1%}</td></tr>')
    caption = (f"Next token after position {effect.position}, with every head and with {escape(heads)} "
               f"{effect.ablation}-ablated · KL divergence {effect.kl:.4f} nats")
    return HTML(f'<table class="gpt2lab-ablation" style="border-collapse:collapse;color:inherit">'
                f'<caption style="text-align:left">{caption}</caption>'
                f'<tr><th style="{_CELL}">token</th><th style="{_CELL}">all heads</th>'
                f'<th style="{_CELL}">switched off</th><th style="{_CELL}">change</th></tr>{"".join(rows)}</table>')
