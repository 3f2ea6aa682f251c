"""Tokens as coloured chips, and BPE merges step by step, as self-contained HTML.

Every view here is plain HTML with inline CSS: no script, no stylesheet, nothing fetched from a CDN, so
it renders the same offline, in JupyterLab, Notebook 7, Colab and a static HTML export. Each function
takes the records of :mod:`gpt2lab.tokenizer.bpe` / :mod:`gpt2lab.tokenizer.bpe_training` (never a model) and returns
an ``IPython.display.HTML``; its ``.data`` is the HTML string.

Whitespace is made visible, because where a space goes is half the lesson: ``·`` is a space, ``↵`` a
newline, ``⇥`` a tab. A chip with a dashed border holds only part of a character (``[😀 1-3/4]``: bytes
1 to 3 of the 4 bytes of 😀).
"""

from __future__ import annotations

import re
from html import escape

from IPython.display import HTML

from gpt2lab.tokenizer.bpe_training import TrainingRun
from gpt2lab.viz.labels import VISIBLE
from gpt2lab.tokenizer.bpe import EncodingWork, PreTokenWork, TokenCost, TokenView, bytes_to_unicode, describe_bytes, unicode_to_bytes

# light backgrounds with dark text: readable on light and dark notebook themes alike
PALETTE = ("#cfe8ff", "#ffe0b3", "#d4f5d0", "#f9d0e8", "#e6dcff", "#fff3b0", "#d0f0f0")
SPECIAL_COLOURS = ("#333333", "#ffffff")  # background, text: <|endoftext|> stands out
_BOX = "display:inline-block;vertical-align:top;margin:2px;padding:2px 5px;border-radius:4px;color:#111;"
_FONT = "font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;"
_TABLE = "border-collapse:collapse;margin:4px 0;color:inherit;"
_CELL = "border:1px solid #aaa;padding:2px 6px;text-align:left;vertical-align:top;"


def visible_whitespace(text: str) -> str:
    """Escape text for HTML and draw its whitespace in grey: ``" a"`` -> ``·a`` (the ``·`` grey)."""
    out = []
    for char in text:
        if char in VISIBLE:
            out.append(f'<span style="color:#888">{VISIBLE[char]}</span>')
        else:
            out.append(escape(char))
    return "".join(out)


def hex_bytes(data: bytes) -> str:
    """Bytes as hex pairs: ``hex_bytes(b" hi") == "20 68 69"``."""
    return " ".join(f"{b:02X}" for b in data)


def _wrap(body: str) -> HTML:
    return HTML(f'<div style="{_FONT}line-height:1.5">{body}</div>')


# a piece of a character in a label, as written by tokenizer.describe_bytes: "[😀 1-3/4]"; it cannot be
# mistaken for text, because a space followed by digits never occurs inside one pre-token
_PIECE_OF_CHARACTER = re.compile(r"\[(\S+) (\d+(?:-\d+)?/\d)\]")


def label_html(label: str) -> str:
    """A token's label as HTML: whitespace drawn, pieces of characters as ``[😀 1-3/4]`` in small print."""
    out, last = [], 0
    for match in _PIECE_OF_CHARACTER.finditer(label):
        out.append(visible_whitespace(label[last : match.start()]))
        out.append(f'[{escape(match.group(1))}<span style="font-size:0.7em;opacity:0.8">&nbsp;{match.group(2)}</span>]')
        last = match.end()
    out.append(visible_whitespace(label[last:]))
    return "".join(out)


def _chip_face(token: TokenView, show: str) -> str:
    if show == "printable":
        return escape(token.printable)
    if show == "bytes":
        return hex_bytes(token.bytes)
    return label_html(token.label)


def token_chip(token: TokenView, index: int = 0, show: str = "text", is_special: bool = False) -> str:
    """One token as an HTML chip: its text on top, its id below; hover for bytes and vocab.json form."""
    if show not in ("text", "printable", "bytes"):
        raise ValueError(f"show must be 'text', 'printable' or 'bytes', not {show!r}")
    background, colour = SPECIAL_COLOURS if is_special else (PALETTE[index % len(PALETTE)], "#111")
    border = "1px dashed #c00" if token.is_partial else "1px solid #888"
    title = f"id {token.id} | bytes {hex_bytes(token.bytes)} | vocab.json: {token.printable}"
    if token.is_partial:
        title += " | only part of a character"
    return (
        f'<span style="{_BOX}text-align:center;border:{border};background:{background};color:{colour}" '
        f'title="{escape(title)}">'
        f'<span style="white-space:pre">{_chip_face(token, show)}</span><br>'
        f'<span style="font-size:0.75em;opacity:0.8">{token.id}</span></span>'
    )


def token_chips_html(tokens, show: str = "text", special_ids=()) -> HTML:
    """Chips for a list of :class:`~gpt2lab.tokenizer.bpe.TokenView` (or an :class:`EncodingWork`).

    ``show``: ``"text"`` (readable, whitespace drawn), ``"printable"`` (as in vocab.json: ``Ġworld``)
    or ``"bytes"`` (hex). ``special_ids``: ids drawn dark, such as ``<|endoftext|>``.
    """
    if isinstance(tokens, EncodingWork):
        special_ids = {p.tokens[0].id for p in tokens.pieces if p.is_special} | set(special_ids)
        tokens = tokens.tokens
    chips = [token_chip(t, i, show, t.id in special_ids) for i, t in enumerate(tokens)]
    if not chips:
        return _wrap('<span style="color:#888">(no tokens: the text is empty)</span>')
    return _wrap("".join(chips))


def _symbol_box(symbol: str, highlight: bool) -> str:
    """One symbol of a merge: GPT-2's printable form on top, readable text below."""
    table = unicode_to_bytes()
    data = bytes(table[c] for c in symbol) if all(c in table for c in symbol) else symbol.encode()
    label, cut = describe_bytes(data, 0, len(data))
    background = "#ffd54f" if highlight else "#eeeeee"
    border = "1px dashed #c00" if cut else "1px solid #999"
    return (
        f'<span style="{_BOX}text-align:center;border:{border};background:{background}">'
        f'{escape(symbol)}<br><span style="font-size:0.75em;color:#444;white-space:pre">'
        f"{label_html(label)}</span></span>"
    )


def _table(headers, rows) -> str:
    """An HTML table: ``headers`` are strings, ``rows`` are lists of cell HTML."""
    head = "".join(f'<th style="{_CELL}">{h}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f'<td style="{_CELL}">{c}</td>' for c in row) + "</tr>" for row in rows)
    return f'<table style="{_TABLE}"><tr>{head}</tr>{body}</table>'


def _pre(text: str) -> str:
    """Text with its whitespace drawn and kept as typed (no collapsing of runs of spaces)."""
    return f'<span style="white-space:pre">{visible_whitespace(text)}</span>'


def merge_steps_html(piece: PreTokenWork, upto: int | None = None) -> HTML:
    """The merges of one pre-token, one row per step; the symbol each step made is highlighted.

    ``upto``: show only the first ``upto`` merges (0 shows the starting bytes), for stepping through.
    """
    steps = piece.merges if upto is None else piece.merges[: max(0, upto)]
    head = (f"<div>pre-token <b>{_pre(piece.text)}</b>: {len(piece.bytes)} bytes ({hex_bytes(piece.bytes)}), "
            f"{len(piece.merges)} merges</div>")
    rows = [["start", "one symbol per byte", "".join(_symbol_box(s, False) for s in piece.start_symbols)]]
    for number, step in enumerate(steps, start=1):
        rule = f"rank {step.rank}: {escape(step.pair[0])} + {escape(step.pair[1])} → <b>{escape(step.result)}</b>"
        rows.append([str(number), rule, "".join(_symbol_box(s, s == step.result) for s in step.symbols)])
    if upto is None or upto >= len(piece.merges):
        ids = ", ".join(str(t.id) for t in piece.tokens)
        rows.append(["ids", "no neighbouring pair left in merges.txt", ids])
    return _wrap(head + _table(("step", "merge", "symbols"), rows))


def show_work_html(work: EncodingWork) -> HTML:
    """The whole encoding as a table: each pre-token, its bytes, its printable form, merges, tokens, ids."""
    rows, index = [], 0
    for piece in work.pieces:
        chips = ""
        for token in piece.tokens:
            chips += token_chip(token, index, "text", piece.is_special)
            index += 1
        rows.append([
            _pre(piece.text),
            "(special token: looked up whole)" if piece.is_special else hex_bytes(piece.bytes),
            escape("".join(piece.start_symbols)),
            str(len(piece.merges)),
            chips,
            ", ".join(str(i) for i in piece.ids),
        ])
    summary = f"<div>{len(work.text)} characters → {len(work.pieces)} pre-tokens → {len(work.ids)} tokens</div>"
    return _wrap(summary + _table(("pre-token", "bytes", "printable", "merges", "tokens", "ids"), rows))


def byte_table_html() -> HTML:
    """GPT-2's byte-to-unicode table as a 16 x 16 grid; the 68 bytes that are moved are shaded."""
    table = bytes_to_unicode()
    rows = []
    for high in range(16):
        cells = []
        for low in range(16):
            b = high * 16 + low
            moved = table[b] != chr(b)
            style = _CELL + "text-align:center;" + ("background:#ffe0b3;color:#111;" if moved else "")
            cells.append(f'<td style="{style}" title="byte {b}">{escape(table[b])}<br>'
                         f'<span style="font-size:0.7em;opacity:0.7">{b:02X}</span></td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    note = ("<div>Each cell: the printable character for a byte (hex below). Shaded: bytes that are not "
            "printable on their own (controls, space, ...), moved to U+0100 and up.</div>")
    return _wrap(note + f'<table style="{_TABLE}">{"".join(rows)}</table>')


def learned_merges_html(run: TrainingRun, upto: int | None = None) -> HTML:
    """The merges a :func:`~gpt2lab.tokenizer.bpe_training.train_bpe` run learned, in order, with counts and examples."""
    merges = run.merges if upto is None else run.merges[: max(0, upto)]
    rows = [[str(m.rank), _symbol_box(m.pair[0], False) + " + " + _symbol_box(m.pair[1], False),
             _symbol_box(m.result, True), str(m.count), ", ".join(_pre(e) for e in m.examples)] for m in merges]
    summary = f"<div>{len(merges)} of {len(run.merges)} merges learned from {len(run.text)} characters</div>"
    return _wrap(summary + _table(("rank", "pair", "new token", "count", "seen in"), rows))


def token_cost_html(costs: list[TokenCost]) -> HTML:
    """A table of characters, bytes and tokens for several texts (see ``BPETokenizer.cost``)."""
    rows = []
    for c in costs:
        text = c.text if len(c.text) <= 60 else c.text[:57] + "..."
        rows.append([_pre(text), c.characters, c.bytes, c.tokens, f"{c.characters_per_token:.2f}"])
    return _wrap(_table(("text", "characters", "bytes", "tokens", "characters per token"), rows))
