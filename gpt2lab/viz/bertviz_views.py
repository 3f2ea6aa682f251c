"""bertviz's head view and model view, drawn from a gpt2lab trace, working offline.

bertviz (Jesse Vig's attention visualiser) draws lines from each token to the tokens it attends to. We give
it the patterns of gpt2lab's own forward pass (which equal transformers' attentions), so the lines show the
same numbers as every other view in the kit.

bertviz's HTML fetches three scripts from a CDN (require.js, d3 and jQuery); with no internet the browser
shows only "require is not defined". With ``scripts="inline"`` (the default when possible) this module
puts require.js in the page and hands d3 and jQuery to it as ``data:`` URLs, read from copies that
installed Python packages already carry: ``nbclassic`` (require.js, jQuery) and ``mpld3`` (d3 v5). No
third-party script is part of gpt2lab itself. When those packages are missing, the view says so in one
line and points to the built-in figures, which need no script at all.

Long inputs and big models make a browser crawl (the model view draws layers x heads x T x T lines), so
the views show at most :data:`MAX_TOKENS` tokens and :data:`MAX_WEIGHTS` attention weights. Called
without ``layers``/``heads`` they pick a readable subset at any GPT-2 size (gpt2-xl has 48 x 25 heads) and
say which in one line; pick layers and heads to see others. Because attention is causal, the first N
tokens attend only to each other, so cutting the input to its first N tokens leaves their attention exactly
as it was.

    head_view(trace, layers=[0, 1])                 # IPython HTML; display it or take .data
    model_view(trace, layers=[0], heads=[0, 2, 3])
"""

from __future__ import annotations

import base64
import importlib.util
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path

import torch
from IPython.display import HTML

from gpt2lab.errors import LabError
from gpt2lab.model.names import block_stage
from gpt2lab.viz.readable import MAX_HEADS, first_heads, shown_line, spread_layers

MAX_TOKENS = 40  # tokens shown; the first ones, whose attention the causal mask keeps intact
MAX_WEIGHTS = 100_000  # attention weights sent to the browser (layers x heads x T x T)
MODEL_VIEW_WIDTH = 780  # pixels: the model view fits a notebook's output at 1280x800 (gpt2lab.viz.presenter)
DECIMALS = 4  # weights are rounded to this many decimals: the drawing cannot show more, and the page is 4x smaller

# where installed packages keep the three scripts bertviz asks a CDN for: (package, path inside it)
SCRIPT_FILES = {
    "require": ("nbclassic", "static/components/requirejs/require.js"),
    "jquery": ("nbclassic", "static/components/jquery/jquery.min.js"),
    "d3": ("mpld3", "js/d3.v5.min.js"),
}
BUILT_IN_VIEWS = "gpt2lab.viz.attention_plots or gpt2lab.widgets.attention_explorer.AttentionExplorer"
_CDN_REQUIRE = re.compile(r'<script src="https?://[^"]*require[^"]*"></script>')
_CDN_PATH = re.compile(r"(d3|jquery): '(https?://[^']*)'")


@dataclass(frozen=True)
class LocalScripts:
    """The three scripts bertviz needs, read from installed packages."""

    require: str  # require.js source, inlined into the page
    jquery: str  # jQuery source, given to require.js as a data: URL
    d3: str  # d3 v5 source, likewise


def local_scripts() -> LocalScripts | None:
    """Read require.js, jQuery and d3 from the installed ``nbclassic`` and ``mpld3``; None if either is missing."""
    sources = {}
    for name, (package, relative) in SCRIPT_FILES.items():
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            return None
        path = Path(next(iter(spec.submodule_search_locations))) / relative
        if not path.is_file():
            return None
        sources[name] = path.read_text(encoding="utf-8")
    return LocalScripts(**sources)


def inline_scripts(html: str, scripts: LocalScripts) -> str:
    """Make bertviz's HTML self-contained: require.js inlined, d3 and jQuery as ``data:`` URLs.

    require.js treats a path containing ":" as a full URL and loads it as is, so a base64 ``data:`` URL works
    where the CDN address was.
    """
    require = scripts.require.replace("</script", "<\\/script")  # cannot end the inline <script> early
    html, n = _CDN_REQUIRE.subn(lambda _: f"<script>{require}</script>", html, count=1)
    if n != 1:
        raise RuntimeError("bertviz's HTML no longer loads require.js from a CDN as expected; gpt2lab needs updating.")

    def data_url(match: re.Match) -> str:
        source = scripts.d3 if match.group(1) == "d3" else scripts.jquery
        encoded = base64.b64encode(source.encode("utf-8")).decode("ascii")
        return f"{match.group(1)}: 'data:text/javascript;base64,{encoded}'"

    html, n = _CDN_PATH.subn(data_url, html)
    if n != 2:
        raise RuntimeError("bertviz's HTML no longer names d3 and jQuery CDN paths as expected; gpt2lab needs updating.")
    return html


def unavailable_html(why: str) -> HTML:
    """The one-line notice shown instead of a bertviz view that could not be made to work."""
    return HTML(f'<div role="note" style="border-left:4px solid #b7791f;padding:2px 8px">{escape(why)}</div>')


@dataclass(frozen=True)
class BertvizInput:
    """What a bertviz view is given: the chosen layers and heads of the trace, cut to size."""

    attention: tuple  # one (1, len(heads), T, T) tensor per chosen layer, rounded to DECIMALS
    tokens: list[str]  # the T tokens shown
    layers: list[int]  # the true layer numbers of attention's entries
    heads: list[int]  # the true head numbers along each entry's head axis
    note: str  # one sentence when the input was cut to fit, else ""


def trace_attention(trace, layers=None, heads=None, max_tokens: int = MAX_TOKENS,
                    max_weights: int = MAX_WEIGHTS) -> BertvizInput:
    """The trace's patterns, cut to what a view will show.

    ``layers``/``heads``: indices to keep. Left out, the view picks a readable subset at any size: the first
    :data:`~gpt2lab.viz.readable.MAX_HEADS` heads, and as many layers as fit ``max_weights`` (every k-th, see
    :func:`~gpt2lab.viz.readable.spread_layers`); ``note`` then says which. The input is cut to its first
    ``max_tokens`` tokens (``note`` says so too); a :class:`LabError` asks for fewer layers or heads when
    the ones *chosen* would send more than ``max_weights`` weights.
    """
    if trace.start != 0:
        raise LabError("bertviz needs a trace of the whole text; trace it again without a KV cache.")
    n_layer = trace.n_layer
    chosen_layers = None if layers is None else sorted({int(i) for i in layers})
    if chosen_layers is not None and (not chosen_layers or not all(0 <= i < n_layer for i in chosen_layers)):
        raise LabError(f"Choose layers between 0 and {n_layer - 1}, for example layers=[0].")
    trace.require([block_stage(i, "attn.pattern") for i in (chosen_layers if chosen_layers is not None else range(n_layer))],
                  "to show its attention")
    n_head = trace["attn.pattern", (chosen_layers or [0])[0]].shape[0]
    T = min(len(trace.tokens), max_tokens)
    per_head = T * T  # weights one head of one layer sends
    picked = heads is None or chosen_layers is None  # the view chooses some of what it shows
    if heads is None:  # readable, and at least one layer must fit
        heads = first_heads(n_head, min(MAX_HEADS, max(1, max_weights // (per_head * len(chosen_layers or [0])))))
    else:
        heads = sorted({int(h) for h in heads})
        if not heads or not all(0 <= h < n_head for h in heads):
            raise LabError(f"Choose heads between 0 and {n_head - 1}, for example heads=[0, 1].")
    layers = chosen_layers if chosen_layers is not None else spread_layers(n_layer, max_weights // (len(heads) * per_head))
    n_weights = len(layers) * len(heads) * per_head
    if n_weights > max_weights:
        raise LabError(f"{len(layers)} layers x {len(heads)} heads x {T}x{T} tokens is {n_weights:,} attention weights, "
                       f"too many for a browser; choose fewer, for example layers=[{layers[0]}] and heads=[0, 1].")
    notes = []
    if picked and (len(layers) < n_layer or len(heads) < n_head):
        notes.append(f"Showing {shown_line('layers', layers, n_layer)} and {shown_line('heads', heads, n_head)}, "
                     f"what a browser draws smoothly; pass layers=[...] and heads=[...] to choose others.")
    if T < len(trace.tokens):
        notes.append(f"Showing the first {T} of {len(trace.tokens)} tokens so the page stays responsive "
                     f"(their attention is unchanged: a token never attends to later ones).")
    attention = tuple(
        torch.round(trace["attn.pattern", i][heads][:, :T, :T].float().cpu(), decimals=DECIMALS)[None]  # (1, n_heads, T, T)
        for i in layers
    )
    return BertvizInput(attention, list(trace.tokens[:T]), layers, heads, " ".join(notes))


def head_view(trace, layers=None, heads=None, *, scripts: str = "auto", max_tokens: int = MAX_TOKENS) -> HTML:
    """bertviz's head view of the trace: pick a layer in its menu, click heads to show or hide them.

    ``heads``: the heads to send (default all); bertviz colours them in order, so head ``heads[j]`` gets
    the j-th colour. ``scripts``: ``"auto"`` (inline when the scripts are installed, else a one-line
    notice), ``"inline"`` (raise if they are not), or ``"cdn"`` (bertviz's own HTML, which needs internet).
    """
    return _bertviz_view("head", trace, layers, heads, scripts, max_tokens)


def model_view(trace, layers=None, heads=None, *, scripts: str = "auto", max_tokens: int = MAX_TOKENS) -> HTML:
    """bertviz's model view: a thumbnail of every chosen head in every chosen layer; click one to enlarge it.

    Same arguments as :func:`head_view`. Rows and columns are labelled with the true layer and head numbers.
    """
    return _bertviz_view("model", trace, layers, heads, scripts, max_tokens)


def _bertviz_view(kind: str, trace, layers, heads, scripts: str, max_tokens: int) -> HTML:
    if scripts not in ("auto", "inline", "cdn"):
        raise LabError(f"scripts must be 'auto', 'inline' or 'cdn', not {scripts!r}.")
    local = None
    if scripts != "cdn":
        local = local_scripts()
        if local is None:
            why = (f"The bertviz {kind} view needs require.js, d3 and jQuery, which are not installed here "
                   f"(pip install nbclassic mpld3) and cannot be fetched offline; use {BUILT_IN_VIEWS} instead.")
            if scripts == "inline":
                raise LabError(why)
            return unavailable_html(why)
    chosen = trace_attention(trace, layers, heads, max_tokens)
    html = _bertviz_html(kind, chosen)
    if local is not None:
        html = inline_scripts(html, local)
    if chosen.note:
        html = f'<div role="note" style="padding:2px 0">{escape(chosen.note)}</div>' + html
    return HTML(html)


def _bertviz_html(kind: str, chosen: BertvizInput) -> str:
    import bertviz

    # bertviz picks layers (and, in the model view, heads) out of a full stack by index and labels them with
    # those indices; place ours at their true indices so its menus and labels give the true numbers.
    if kind == "head":  # the head view has no head filter: it is given only the chosen heads
        full = _at_true_indices(chosen, heads_too=False)
        return bertviz.head_view(attention=full, tokens=chosen.tokens, include_layers=chosen.layers,
                                 html_action="return").data
    full = _at_true_indices(chosen, heads_too=True)
    html = bertviz.model_view(attention=full, tokens=chosen.tokens, include_layers=chosen.layers,
                              include_heads=chosen.heads, display_mode="light", html_action="return").data
    return fit_model_view(html)


def fit_model_view(html: str) -> str:
    """The model view drawn :data:`MODEL_VIEW_WIDTH` pixels wide: bertviz draws it 970 px wide, wider than a
    notebook at a projector's 1280x800, and its right-hand heads would be cut off."""
    return html.replace("const DIV_WIDTH = 970;", f"const DIV_WIDTH = {MODEL_VIEW_WIDTH};")


def _at_true_indices(chosen: BertvizInput, heads_too: bool) -> tuple:
    """Zero-filled (1, n_heads, T, T) per layer up to the highest chosen one, holding the chosen weights.

    ``heads_too``: put each head at its true index as well (else the chosen heads come first, in order).
    """
    _, n_chosen, T, _ = chosen.attention[0].shape
    head_index = chosen.heads if heads_too else list(range(n_chosen))
    full = [torch.zeros(1, max(head_index) + 1, T, T) for _ in range(max(chosen.layers) + 1)]
    for layer, layer_attention in zip(chosen.layers, chosen.attention):
        full[layer][0, head_index] = layer_attention[0]
    return tuple(full)
