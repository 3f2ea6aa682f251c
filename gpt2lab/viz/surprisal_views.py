"""Surprisal as coloured text (GLTR's picture), self-contained HTML.

Every token after the first is shaded by the rank the model gave it at its position: green for the top
10, yellow for the top 100, red for the top 1,000, purple beyond (the colours of GLTR, Gehrmann et al.
2019). Hovering a token shows its probability, its rank and the model's top alternatives there (the
``title`` attribute); clicking it opens the same in a ``<details>`` element, so it also works on a
touch screen and in a static export; it opens over the lines below, so the sentence stays whole. Inline CSS (and one style rule that makes room under an opened token) only: no script, nothing fetched
from a CDN.

    surprisal_html(lab.surprisal(text))
    surprisal_comparison_html([tiny.surprisal(text), gpt2.surprisal(text)])   # two models, side by side
"""

from __future__ import annotations

from html import escape

from IPython.display import HTML

from gpt2lab.analysis.surprisal import RANK_BUCKETS, Surprisal, rank_bucket
from gpt2lab.viz.labels import token_label

# GLTR's colours, light enough for dark text: top 10, top 100, top 1,000, beyond
BUCKET_COLOURS = ("#b7f0b1", "#fff3a0", "#ffb8b8", "#dcc6ff")
BUCKET_NAMES = ("top 10", "top 100", "top 1,000", "beyond 1,000")
_FONT = "font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;"
_CHIP = "display:inline-block;vertical-align:top;margin:1px;padding:0 3px;border-radius:3px;color:#111;"
# an opened token's alternatives float over the lines below it, so the sentence never splits apart
# ... and the view makes room under its last line while one is open (an output clips what runs past its end)
_ROOM_FOR_POPUP = "<style>.gpt2lab-surprisal:has(details[open]) { padding-bottom: 11em; }</style>"
_POPUP = ("position:absolute;top:100%;left:0;z-index:10;min-width:12em;white-space:nowrap;background:#fff;color:#111;"
          "font-size:85%;border:1px solid #aaa;padding:2px 6px;border-radius:4px;box-shadow:0 2px 6px rgba(0,0,0,0.25)")


def _legend() -> str:
    chips = "".join(f'<span style="{_CHIP}background:{colour}">{name}</span>'
                    for colour, name in zip(BUCKET_COLOURS, BUCKET_NAMES))
    return f'<div style="margin:2px 0 6px 0">rank of the real next token: {chips} <span style="color:#888">(first token: no prediction)</span></div>'


def _alternatives(s: Surprisal, i: int) -> list[str]:
    return [f"{token_label(tok)} {p:.1%}" for tok, p in zip(s.top_tokens[i], s.top_probs[i].tolist())]


def surprisal_chips(s: Surprisal) -> str:
    """The text as chips, one per token, coloured by rank bucket (an HTML string)."""
    chips = [f'<span class="gpt2lab-surprisal-first" style="{_CHIP}border:1px dashed #999" '
             f'title="the first token: nothing before it to predict it from">{escape(token_label(s.tokens[0]))}</span>']
    for i, token in enumerate(s.tokens[1:]):
        p, rank = float(s.probs[i]), int(s.ranks[i])
        bucket = rank_bucket(rank)
        alternatives = _alternatives(s, i)
        tip = f"p = {p:.2%}, rank {rank:,}; the model expected: " + ", ".join(alternatives)
        rows = "".join(f"<li>{escape(a)}</li>" for a in alternatives)
        chips.append(
            f'<details class="gpt2lab-surprisal-token" data-rank="{rank}" data-bucket="{bucket}" '
            f'style="display:inline-block;vertical-align:top;margin:0;position:relative">'
            f'<summary title="{escape(tip)}" style="{_CHIP}background:{BUCKET_COLOURS[bucket]};list-style:none;cursor:pointer">'
            f'{escape(token_label(token))}</summary>'
            f'<div style="{_POPUP}">p = {p:.2%}, rank {rank:,}'
            f'<br>expected:<ol style="margin:0;padding-left:18px">{rows}</ol></div></details>')
    return "".join(chips)


def _summary(s: Surprisal) -> str:
    counts = [0] * (len(RANK_BUCKETS) + 1)
    for bucket in s.buckets():
        counts[bucket] += 1
    shares = ", ".join(f"{name} {count}" for name, count in zip(BUCKET_NAMES, counts))
    return (f"<b>{escape(s.model)}</b>: perplexity {s.perplexity:,.2f} over {len(s.tokens) - 1} predicted tokens "
            f"(tokens by rank: {shares})")


def surprisal_html(s: Surprisal) -> HTML:
    """One model's surprisal of a text: a legend, the coloured text, and its perplexity."""
    return HTML(f'{_ROOM_FOR_POPUP}<div class="gpt2lab-surprisal" style="{_FONT}line-height:1.6">{_legend()}'
                f'<div>{_summary(s)}</div><div>{surprisal_chips(s)}</div></div>')


def surprisal_comparison_html(readings: list[Surprisal]) -> HTML:
    """Several models on the same text, side by side (each with its own tokens: tokenizers may differ)."""
    columns = "".join(f'<div style="flex:1 1 0;min-width:240px;border:1px solid #ccc;border-radius:4px;padding:4px 8px">'
                      f'<div>{_summary(s)}</div><div>{surprisal_chips(s)}</div></div>' for s in readings)
    return HTML(f'{_ROOM_FOR_POPUP}<div class="gpt2lab-surprisal" style="{_FONT}line-height:1.6">{_legend()}'
                f'<div style="display:flex;gap:8px;flex-wrap:wrap">{columns}</div></div>')
