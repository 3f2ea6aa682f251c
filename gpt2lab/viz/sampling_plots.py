"""Views of the next-token step: the top-k bar chart, settings side by side, the text so far, attention.

Every function takes tensors and token strings (never a model). Figures are
:class:`~gpt2lab.viz.figures.LabFigure` objects (a notebook shows one, once, by leaving it as the cell's
value); HTML views are self-contained
(inline CSS, no script), returned as ``IPython.display.HTML``.

    rows = top_rows(step.probs, step.filtered, n=15, chosen_id=step.token_id)
    next_token_chart(step.probs[rows.ids], step.filtered[rows.ids], lab.token_strings(rows.ids),
                     ranks=rows.ranks, chosen=rows.chosen)
"""

from __future__ import annotations

from gpt2lab.errors import LabError

from dataclasses import dataclass
from html import escape

import torch
from IPython.display import HTML
from matplotlib.figure import Figure

from gpt2lab.viz.figures import LabFigure, new_figure, panel_layout, styled, text_em_in
from gpt2lab.viz.labels import plural, short_label, token_label

KEPT_COLOUR = "#1f77b4"  # blue: survives the filters
CUT_COLOUR = "#c7c7c7"  # grey: cut by top-k / top-p (or not the argmax, for greedy)
CHOSEN_COLOUR = "#ff7f0e"  # orange: the token that was chosen
RAW_COLOUR = "#7f7f7f"  # the outline of the model's own probability, before any filter


@dataclass(frozen=True)
class TopRows:
    """Which tokens a chart shows: the ``n`` most likely, plus the chosen one if it ranks lower."""

    ids: list[int]  # token ids, most likely first
    ranks: list[int]  # their ranks by raw probability (1 = most likely)
    chosen: int | None  # the row of the chosen token, or None


def top_rows(probs: torch.Tensor, filtered: torch.Tensor, n: int = 15, chosen_id: int | None = None) -> TopRows:
    """Pick the rows of a next-token chart from the raw (vocab,) probabilities.

    Sorted by the raw probability, so the kept tokens come first and the cut ones after: every filter
    keeps a most-likely prefix of this order. ``filtered`` breaks ties the same way the filters do.
    """
    n = min(n, probs.shape[-1])
    by_prob = torch.argsort(probs, descending=True, stable=True)  # (vocab,)
    cut = (filtered[by_prob] == 0).to(torch.uint8)  # (vocab,)  0 for kept, 1 for cut
    order = by_prob[torch.argsort(cut, stable=True)][:n]  # (n,)  kept first (ties matter), each group by probability
    ids = order.tolist()
    ranks = [int((probs > probs[i]).sum()) + 1 for i in ids]
    if chosen_id is not None and chosen_id not in ids:  # a low-ranked draw: show it below a gap
        ids.append(chosen_id)
        ranks.append(int((probs > probs[chosen_id]).sum()) + 1)
    chosen = ids.index(chosen_id) if chosen_id is not None else None
    return TopRows(ids, ranks, chosen)


@styled
def next_token_chart(
    probs: torch.Tensor,
    filtered: torch.Tensor,
    tokens: list[str],
    ranks: list[int] | None = None,
    chosen: int | None = None,
    title: str = "Next-token distribution",
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Horizontal bars, most likely token at the top.

    probs: (n,) the model's raw probabilities of the rows; filtered: (n,) their probabilities after
    temperature, top-k, top-p and renormalisation (0 = cut). Grey outline: raw probability; blue bar:
    the probability the token is drawn with; grey name: cut. A dashed red line marks the kept/cut
    boundary and an orange bar the chosen token (``chosen`` is its row index).
    """
    probs, filtered = torch.as_tensor(probs).float(), torch.as_tensor(filtered).float()
    n = len(tokens)
    if probs.shape != (n,) or filtered.shape != (n,):
        raise LabError(f"probs and filtered must have one value per token ({n}), not {tuple(probs.shape)} and {tuple(filtered.shape)}; pass two (vocab,) tensors.")
    ranks = ranks if ranks is not None else list(range(1, n + 1))
    kept = (filtered > 0).tolist()
    width, height = figsize or (6.4, 1.5 + 1.45 * text_em_in() * n)  # a row per token, at the mode's text size
    fig, axes = new_figure(width=width, height=height)
    ax = axes[0, 0]
    y = list(range(n))
    colours = [CHOSEN_COLOUR if i == chosen else (KEPT_COLOUR if kept[i] else CUT_COLOUR) for i in y]
    ax.barh(y, filtered.tolist(), color=colours, height=0.7, label="drawn with (after filters)")
    ax.barh(y, probs.tolist(), fill=False, edgecolor=RAW_COLOUR, linestyle=":", height=0.7, label="model's raw probability")
    labels = [f"{r}. {short_label(t)}" for r, t in zip(ranks, tokens)]
    ax.set_yticks(y, labels)
    for tick, k in zip(ax.get_yticklabels(), kept):
        tick.set_color("black" if k else "#999999")
    n_kept_rows = sum(kept)
    if 0 < n_kept_rows < n and all(kept[:n_kept_rows]):  # the kept tokens form the top rows: draw the cut
        ax.axhline(n_kept_rows - 0.5, color="#d62728", linestyle="--", linewidth=1)
        ax.text(1.0, n_kept_rows - 0.5, "kept ↑  cut ↓", color="#d62728", transform=ax.get_yaxis_transform(),
                ha="right", va="center", fontsize="small", backgroundcolor="white")
    if chosen is not None:
        value = max(float(filtered[chosen]), float(probs[chosen]))
        ax.annotate("◀ chosen", (value, chosen), xytext=(4, 0), textcoords="offset points", va="center",
                    color=CHOSEN_COLOUR, fontsize="small", fontweight="bold")
    top = max(float(probs.max()), float(filtered.max()), 1e-9)
    ax.set_xlim(0, min(1.0, top * 1.25) if top < 0.8 else 1.12)
    ax.set_ylim(n - 0.5, -0.6)  # most likely at the top, no empty margin
    ax.set_xlabel("probability")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize="small")
    return fig


@styled
def compare_settings_chart(tokens: list[str], columns: list[tuple[str, torch.Tensor]], probs: torch.Tensor | None = None,
                           n_kept: list[int] | None = None) -> Figure:
    """The same rows under several settings, side by side: one panel per (label, filtered (n,)) column.

    A cut token has no bar and a grey ✗. ``probs`` (n,), if given, is drawn as the dotted raw outline in
    every panel; ``n_kept`` adds "k kept" (over the whole vocabulary) to each panel's title. Each panel's
    probability axis runs to its own largest bar, so a flat distribution (temperature 1.5) is as easy to
    read as a sharp one; the ticks give the scale. As many panels sit side by side as the page allows.
    """
    from matplotlib.ticker import MaxNLocator

    n = len(tokens)
    raw = torch.as_tensor(probs).float() if probs is not None else None
    labels = [token_label(t) for t in tokens]
    label_in = min(max((len(t) for t in labels), default=1), 16) * 0.62 * text_em_in() + 0.3
    ncols, nrows, panel = panel_layout(len(columns), 10 * text_em_in(), max_cols=len(columns),
                                       side_in=label_in + 0.2, min_panel_in=1.4)
    row_in = max(1.2, n * 1.25 * text_em_in()) + 1.3  # bars, two title lines, the axis label
    fig, axes = new_figure(nrows, ncols, width=ncols * panel + label_in + 0.2, height=nrows * row_in, sharey=True)
    y = list(range(n))
    panels = list(axes.flat)
    for extra in panels[len(columns):]:
        extra.remove()  # an empty cell of the grid
    for index, (ax, (label, filtered)) in enumerate(zip(panels, columns)):
        filtered = torch.as_tensor(filtered).float()
        kept = (filtered > 0).tolist()
        ax.barh(y, filtered.tolist(), color=[KEPT_COLOUR if k else CUT_COLOUR for k in kept], height=0.7)
        top = float(filtered.max())
        if raw is not None:
            ax.barh(y, raw.tolist(), fill=False, edgecolor=RAW_COLOUR, linestyle=":", height=0.7)
            top = max(top, float(raw.max()))
        for row, k in enumerate(kept):
            if not k:
                ax.text(0.02, row, "✗ cut", color="#999999", va="center", fontsize="small", transform=ax.get_yaxis_transform())
        ax.set_xlim(0, max(top, 1e-9) * 1.1)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=3, prune="upper"))
        title = label if n_kept is None else f"{label}\n{n_kept[index]:,} kept"
        ax.set_title(title, fontsize="medium")
        ax.set_xlabel("probability")
        if index % ncols == 0:
            ax.set_yticks(y, labels)
        else:
            ax.tick_params(axis="y", labelleft=False)
    panels[0].invert_yaxis()
    return fig


@styled
def context_attention_chart(weights: torch.Tensor, tokens: list[str], title: str = "Attention over the context",
                            max_tokens: int = 48) -> Figure:
    """One bar per context token: how much one query position attends to it. weights: (T_all,), sums to 1.

    Only the last ``max_tokens`` tokens are drawn (the title says so), so long contexts stay readable.
    """
    weights = torch.as_tensor(weights).float()
    if weights.shape != (len(tokens),):
        raise LabError(f"weights must have one value per token ({len(tokens)}), not {tuple(weights.shape)}; pass one weight per token.")
    start = max(0, len(tokens) - max_tokens)
    shown = weights[start:].tolist()
    fig, axes = new_figure(width=max(4.0, 0.22 * len(shown) + 1.5), height=3.2)
    ax = axes[0][0]
    x = list(range(start, len(tokens)))
    ax.bar(x, shown, color=KEPT_COLOUR)
    ax.set_xticks(x, [token_label(t) for t in tokens[start:]], rotation=90)
    ax.set_ylabel("attention weight")
    ax.set_ylim(0, max(shown + [1e-9]) * 1.1)
    ax.set_title(title if start == 0 else f"{title} (last {len(shown)} of {len(tokens)} tokens)")
    return fig


# --- HTML views ---------------------------------------------------------------------------------------------

_FONT = "font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;"


def _visible(token: str) -> str:
    """Escaped token text; a newline is shown as ↵ and then really breaks the line."""
    return escape(token).replace("\n", '<span style="color:#888">↵</span><br>')


def text_so_far_html(prompt_tokens: list[str], new_tokens: list[str], forced: list[bool] | None = None) -> HTML:
    """The text so far: the prompt plain, generated tokens tinted, the newest one highlighted.

    ``forced[i]`` underlines a generated token the learner chose by hand (a branch).
    """
    forced = forced or [False] * len(new_tokens)
    parts = [f'<span style="opacity:0.85">{_visible(t)}</span>' for t in prompt_tokens]
    for i, (token, was_forced) in enumerate(zip(new_tokens, forced)):
        newest = i == len(new_tokens) - 1
        style = "background:#ffe082;color:#111;font-weight:bold;outline:1px solid #f9a825;" if newest else "background:#dbeafe;color:#111;"
        if was_forced:
            style += "text-decoration:underline dashed #c2185b;"
        title = f"generated token {i + 1}" + (" (chosen by hand)" if was_forced else "")
        parts.append(f'<span style="{style}border-radius:3px" title="{escape(title)}">{_visible(token)}</span>')
    return HTML(f'<div style="{_FONT}white-space:pre-wrap;line-height:1.6;padding:4px">{"".join(parts)}</div>')


def attention_text_html(weights: torch.Tensor, tokens: list[str], query_label: str = "") -> HTML:
    """The context as text, each token shaded by the attention it receives (darker = more); hover for the value.

    weights: (T_all,), one per token, summing to 1.
    """
    weights = torch.as_tensor(weights).float()
    if weights.shape != (len(tokens),):
        raise LabError(f"weights must have one value per token ({len(tokens)}), not {tuple(weights.shape)}; pass one weight per token.")
    top = max(float(weights.max()), 1e-9)
    parts = []
    for token, w in zip(tokens, weights.tolist()):
        alpha = w / top  # the strongest token is fully shaded, so weak patterns stay visible
        parts.append(f'<span style="background:rgba(214,39,40,{alpha:.3f});color:#111;border-radius:2px" '
                     f'title="{w:.4f}">{_visible(token)}</span>')
    head = f"<div>{escape(query_label)}</div>" if query_label else ""
    return HTML(f'{head}<div style="{_FONT}white-space:pre-wrap;line-height:1.6;background:#fff;padding:4px">{"".join(parts)}</div>')


def candidates_table_html(candidates, chosen_id: int | None = None) -> HTML:
    """A table of kept candidates (:class:`~gpt2lab.generation.sampling.Candidate`), most likely first.

    Columns: the model's own probability and its running total (what top-p compares with p, at
    temperature 1), then the probability the token is drawn with. The chosen token's row is highlighted.
    """
    cell = "border:1px solid #aaa;padding:1px 6px;text-align:right;white-space:pre;"
    names = ("rank", "id", "token", "p (model)", "running total", "p (drawn with)")
    head = "".join(f'<th style="{cell}">{h}</th>' for h in names)
    body, total = [], 0.0
    for rank, c in enumerate(candidates, start=1):
        total += c.raw_prob
        style = "background:#ffe082;color:#111;" if c.id == chosen_id else ""
        cells = (str(rank), str(c.id), _visible(c.token), f"{c.raw_prob:.4f}", f"{total:.4f}", f"{c.prob:.4f}")
        body.append(f'<tr style="{style}">' + "".join(f'<td style="{cell}">{x}</td>' for x in cells) + "</tr>")
    return HTML(f'<table style="{_FONT}border-collapse:collapse;color:inherit"><tr>{head}</tr>{"".join(body)}</table>')


def next_token_bars_html(probs: torch.Tensor, filtered: torch.Tensor, tokens: list[str], ranks: list[int] | None = None,
                         chosen: int | None = None, title: str = "") -> HTML:
    """The same chart as :func:`next_token_chart`, as self-contained HTML bars (fast enough to redraw every step).

    Each row: rank, token, a blue bar for the probability it is drawn with (grey name: cut), and a thin
    grey bar under it for the model's raw probability. A dashed red line separates kept from cut rows;
    the chosen row is orange.
    """
    probs, filtered = torch.as_tensor(probs).float(), torch.as_tensor(filtered).float()
    n = len(tokens)
    if probs.shape != (n,) or filtered.shape != (n,):
        raise LabError(f"probs and filtered must have one value per token ({n}), not {tuple(probs.shape)} and {tuple(filtered.shape)}; pass two (vocab,) tensors.")
    ranks = ranks if ranks is not None else list(range(1, n + 1))
    scale = max(float(probs.max()), float(filtered.max()), 1e-9)  # the longest bar fills the cell
    kept = (filtered > 0).tolist()
    cell = "padding:1px 6px;white-space:pre;"
    rows = []
    for i, (token, rank) in enumerate(zip(tokens, ranks)):
        p, q = float(probs[i]), float(filtered[i])
        colour = CHOSEN_COLOUR if i == chosen else (KEPT_COLOUR if kept[i] else CUT_COLOUR)
        border = "border-top:2px dashed #d62728;" if i > 0 and kept[i - 1] and not kept[i] else ""
        name_style = "" if kept[i] else "color:#999;"
        bar = (f'<div style="background:{colour};height:0.8em;width:{100 * q / scale:.1f}%"></div>'
               f'<div style="background:{RAW_COLOUR};height:0.2em;width:{100 * p / scale:.1f}%;opacity:0.6"></div>')
        if i > 0 and rank > ranks[i - 1] + 1:  # rows left out between these two (a low-ranked chosen token)
            rows.append(f'<tr><td style="{cell}text-align:right;color:#999">⋮</td><td colspan="5"></td></tr>')
        note = ("◀ chosen" + ("" if kept[i] else " (by hand: it was cut)")) if i == chosen else ("" if kept[i] else "cut")
        rows.append(
            f'<tr style="{border}"><td style="{cell}text-align:right;{name_style}">{rank}.</td>'
            f'<td style="{cell}{name_style}">{escape(short_label(token, 18))}</td>'
            f'<td style="padding:1px 6px;width:55%;min-width:120px">{bar}</td>'
            f'<td style="{cell}text-align:right">{q:.3f}</td><td style="{cell}text-align:right;color:#777">{p:.3f}</td>'
            f'<td style="{cell}color:{CHOSEN_COLOUR if i == chosen else "#999"};font-weight:bold">{note}</td></tr>'
        )
    head = (f'<tr><th></th><th style="{cell}text-align:left">token</th><th style="{cell}text-align:left">'
            f'<span style="color:{KEPT_COLOUR}">■</span> drawn with · <span style="color:{RAW_COLOUR}">■</span> raw</th>'
            f'<th style="{cell}">p</th><th style="{cell}color:#777">raw p</th><th></th></tr>')
    caption = f"<div><b>{escape(title)}</b></div>" if title else ""
    return HTML(f'<div style="{_FONT}">{caption}<table style="border-collapse:collapse;width:100%;max-width:720px;'
                f'color:inherit">{head}{"".join(rows)}</table></div>')


def compare_settings_html(tokens: list[str], columns: list[tuple[str, torch.Tensor]], probs: torch.Tensor | None = None,
                          n_kept: list[int] | None = None) -> HTML:
    """A table: one row per token, one column per setting, each cell the probability it is drawn with (or "cut").

    Same inputs as :func:`compare_settings_chart`. Cell shading grows with the probability.
    """
    cell = "border:1px solid #ccc;padding:1px 6px;text-align:right;white-space:pre;"
    # headings wrap between words, so the table fits a notebook's width even in presenter mode
    th = "border:1px solid #ccc;padding:1px 6px;text-align:right;white-space:normal;vertical-align:bottom;"
    head = f'<th style="{th}text-align:left">token</th>'
    if probs is not None:
        head += f'<th style="{th}">raw p</th>'
    for index, (label, _) in enumerate(columns):
        kept = "" if n_kept is None else f"<br><span style='font-weight:normal'>{n_kept[index]:,} kept</span>"
        head += f'<th style="{th}">{escape(label)}{kept}</th>'
    body = []
    for row, token in enumerate(tokens):
        cells = f'<td style="{cell}text-align:left">{escape(short_label(token, 18))}</td>'
        if probs is not None:
            cells += f'<td style="{cell}color:#777">{float(probs[row]):.3f}</td>'
        for _, filtered in columns:
            q = float(filtered[row])
            if q > 0:
                cells += f'<td style="{cell}background:rgba(31,119,180,{0.1 + 0.6 * q:.2f});color:#111">{q:.3f}</td>'
            else:
                cells += f'<td style="{cell}color:#aaa">cut</td>'
        body.append(f"<tr>{cells}</tr>")
    return HTML(f'<table style="{_FONT}border-collapse:collapse;color:inherit;max-width:100%"><tr>{head}</tr>'
                f'{"".join(body)}</table>')


# --- one-call charts for notebooks: a distribution, or a comparison, and a function naming the tokens ---------


def distribution_chart(probs: torch.Tensor, filtered: torch.Tensor, token_strings, n: int = 15,
                       chosen_id: int | None = None, title: str = "Next-token distribution") -> Figure:
    """:func:`next_token_chart` of the ``n`` likeliest tokens of two (vocab,) distributions.

    ``token_strings(ids)`` names the tokens (``lab.token_strings``).
    """
    rows = top_rows(probs, filtered, n, chosen_id)
    return next_token_chart(probs[rows.ids], filtered[rows.ids], token_strings(rows.ids), rows.ranks, rows.chosen, title)


def comparison_chart(comparison, token_strings, n: int = 12) -> Figure:
    """:func:`compare_settings_chart` for the output of :func:`gpt2lab.generation.sampling.compare_settings`.

    comparison: ``[(label, Distribution)]`` from the same logits; rows are the ``n`` likeliest raw tokens.
    """
    probs = comparison[0][1].probs  # (vocab,)  the same raw distribution under every setting
    rows = top_rows(probs, probs, n)
    columns = [(label, dist.filtered[rows.ids]) for label, dist in comparison]
    return compare_settings_chart(token_strings(rows.ids), columns, probs[rows.ids], [d.n_kept for _, d in comparison])


def branch_tree_html(paths: list[tuple[int, ...]], token_strings, current: tuple[int, ...] = ()) -> HTML:
    """The paths tried from one prompt as a tree: shared beginnings once, then one indented line per branch.

    ``paths``: the leaves (tuples of generated ids, numbered 1, 2, ... as in the stepper's list);
    ``token_strings(ids)`` names tokens; the ``current`` path is drawn in bold.

    >>> branch_tree_html([(1, 2), (1, 3)], lambda ids: [f"<{i}>" for i in ids]).data.count("<li")
    3
    """
    trie: dict = {}
    for path in paths:
        node = trie
        for token_id in path:
            node = node.setdefault(token_id, {})
    numbers = {path: n for n, path in enumerate(paths, start=1)}

    def walk(node: dict, path: tuple[int, ...]) -> str:
        items = []
        for token_id, child in node.items():
            run = path + (token_id,)
            while len(child) == 1:  # follow a stretch without branching, as one line
                (next_id, child), = child.items()
                run += (next_id,)
            text = _visible("".join(token_strings(list(run[len(path):]))))
            on_path = current[: len(run)] == run
            label = f"<b>{text}</b>" if on_path else text
            number = f' <span style="color:#777">[{numbers[run]}]</span>' if run in numbers else ""
            items.append(f"<li>{label}{number}{walk(child, run) if child else ''}</li>")
        return f'<ul style="margin:0;padding-left:1.2em">{"".join(items)}</ul>'

    if not trie:
        return HTML("")
    return HTML(f'<div style="{_FONT}white-space:pre-wrap;line-height:1.4">{walk(trie, ())}</div>')


def pipeline_html(dist, token_strings, n_examples: int = 5) -> HTML:
    """The sampling pipeline of one :class:`~gpt2lab.generation.sampling.Distribution`, one row per stage in
    transformers' order: how many tokens the stage cut, how many logits it changed, and the likeliest
    (by the raw probabilities) of the tokens it cut.
    """
    stages = dist.stages()
    cell = "padding:1px 0.6em;text-align:left;"  # numbers right-aligned with room between them: never "8,1740"
    number = "padding:1px 0.6em;text-align:right;white-space:nowrap;"
    rows = []
    for (_, before), (name, after) in zip(stages, stages[1:]):
        cut = torch.isfinite(before) & ~torch.isfinite(after)  # (vocab,)
        changed = torch.isfinite(before) & torch.isfinite(after) & (before != after)
        n_cut, n_changed = int(cut.sum()), int(changed.sum())
        examples = ""
        if n_cut:
            ids = torch.topk(torch.where(cut, dist.probs, torch.zeros_like(dist.probs)), min(n_examples, n_cut)).indices.tolist()
            examples = ", ".join(f"<code>{escape(token_label(t))}</code>" for t in token_strings(ids))
        left = int(torch.isfinite(after).sum())
        rows.append(f'<tr><td style="{cell}">{escape(name)}</td><td style="{number}">{n_cut:,}</td>'
                    f'<td style="{number}">{n_changed:,}</td><td style="{number}">{left:,}</td><td style="{cell}">{examples}</td></tr>')
    return HTML(
        f'<table style="border-collapse:collapse"><tr><th style="{cell}">stage</th><th style="{number}">cut</th>'
        f'<th style="{number}">changed</th><th style="{number}">left</th><th style="{cell}">likeliest tokens it cut</th></tr>'
        + "".join(rows) + f"</table><div>Drawn from {plural(dist.n_kept, 'token')} under {escape(dist.settings.describe())}.</div>"
    )
