"""Greedy, beam search and sampling on one tree: why beam search finds likelier text, and why it repeats.

Every way of choosing starts from the same prompt. Drawn as one tree of tokens (shared beginnings
merge), each path ends with its summed log-probability under the model (higher is likelier) and its
share of repeated 3-grams. Beam search usually ends above greedy (it kept alternatives greedy threw
away) and above the samples, and often with more repeats: the likeliest continuation of a repeat is
another repeat.

    paths = decoding_paths(lab, "It is a truth", max_new_tokens=12, num_beams=3, n_samples=3)
    decoding_tree_chart(paths)      # a LabFigure: save it with .save("tree.svg")
"""

from __future__ import annotations

from dataclasses import dataclass

from matplotlib.figure import Figure

from gpt2lab.generation.beam import beam_search, sequence_logprob
from gpt2lab.generation.loop import generate, repeated_fraction
from gpt2lab.viz.figures import new_figure, styled
from gpt2lab.viz.labels import short_label

COLOURS = {"greedy": "#d62728", "beam": "#1f77b4", "sample": "#7f7f7f"}


@dataclass(frozen=True)
class DecodedPath:
    """One continuation of the prompt and how it was found."""

    kind: str  # "greedy", "beam" or "sample"
    label: str  # "greedy", "beam 1 (best)", "sample (seed 0)" ...
    new_ids: tuple[int, ...]
    tokens: tuple[str, ...]  # how each new token reads
    logprob: float  # the summed log-probability of new_ids after the prompt
    repeats: float  # the share of its 3-grams that already appeared earlier in it


def decoding_paths(lab, prompt: str, max_new_tokens: int = 12, num_beams: int = 3, n_samples: int = 3,
                   temperature: float = 1.0, top_k: int | None = None, seeds=None) -> list[DecodedPath]:
    """Greedy, every finished beam of a ``num_beams`` beam search, and ``n_samples`` seeded samples."""
    prompt_ids = lab.encode(prompt)

    def path(kind, label, ids):
        ids = tuple(ids)
        return DecodedPath(kind, label, ids, tuple(lab.token_strings(list(ids))), sequence_logprob(lab, prompt_ids, list(ids)),
                           repeated_fraction(list(prompt_ids) + list(ids), n=3))

    out = [path("greedy", "greedy", generate(lab, prompt, max_new_tokens, temperature=0, keep=(), distributions=False).new_ids)]
    beams = beam_search(lab, prompt, num_beams=num_beams, max_new_tokens=max_new_tokens)
    for i, (ids, _) in enumerate(beams.finished):
        out.append(path("beam", f"beam {i + 1}" + (" (best)" if i == 0 else ""), ids))
    for seed in (seeds if seeds is not None else range(n_samples)):
        ids = generate(lab, prompt, max_new_tokens, temperature=temperature, top_k=top_k, seed=seed, keep=(),
                       distributions=False).new_ids
        out.append(path("sample", f"sample (seed {seed})", ids))
    return out


def caption(p: DecodedPath) -> str:
    """A path's line in the tree: ``"beam 1 (best): log p = -14.1, repeats 14%"``."""
    return f"{p.label}: log p = {p.logprob:.1f}, repeats {p.repeats:.0%}"


@styled
def decoding_tree_chart(paths: list[DecodedPath], title: str = "Greedy, beam search and sampling from one prompt") -> Figure:
    """The paths as one tree: a column per new token, shared beginnings drawn once, each path's score under it.

    Paths that chose exactly the same tokens share one line, with one caption each. Long tokens are cut
    short (with …) so every column fits the page at a readable size.
    """
    from gpt2lab.viz.presenter import current_display_mode

    mode = current_display_mode()
    lines: dict[tuple[int, ...], list[DecodedPath]] = {}  # each distinct continuation -> the paths that chose it
    for p in paths:
        lines.setdefault(p.new_ids, []).append(p)
    order = sorted(lines)  # lexicographic: shared prefixes sit together
    length = max((len(ids) for ids in order), default=1)
    small_px = max(mode.px(mode.font_size * 0.833), mode.min_text_px)  # "small" text, as drawn
    line_in = small_px / mode.dpi * 1.45  # one line of small text
    width = mode.max_figure_width
    column_px = (width - 0.9) * mode.dpi / (length + 0.6)
    chars = max(3, int(column_px / (0.62 * small_px)) - 1)  # a character is about 0.62 of the font size wide
    rows: dict[tuple[int, ...], float] = {}  # each tree node (a prefix) -> its line's y
    own_start: dict[tuple[int, ...], int] = {}  # where each line's own nodes begin (after what it shares)
    tops, y = {}, 0.0  # each line's y (in lines of text); captions go beside its own nodes, or under it
    beside: dict[tuple[int, ...], bool] = {}
    for ids in order:
        tops[ids] = y
        own_start[ids] = next((n for n in range(1, len(ids) + 1) if ids[:n] not in rows), len(ids) + 1)
        for n in range(1, len(ids) + 1):
            rows.setdefault(ids[:n], y)
        caption_columns = max(len(caption(p)) for p in lines[ids]) * 0.62 * small_px / column_px
        beside[ids] = len(lines[ids]) == 1 and own_start[ids] - 0.6 > caption_columns
        y += 1.25 if beside[ids] else 1.15 + 0.95 * len(lines[ids])
    fig, axes = new_figure(width=width, height=line_in * y + 1.3)
    ax = axes[0, 0]
    drawn = set()
    for ids in order:
        first = lines[ids][0]
        colour = COLOURS[first.kind]
        prev = (0, rows.get(ids[:1], tops[ids]))
        for n in range(1, len(ids) + 1):
            at = (n, rows[ids[:n]])
            ax.plot([prev[0], at[0]], [prev[1], at[1]], color=colour, lw=1.5, alpha=0.8)
            if ids[:n] not in drawn:
                drawn.add(ids[:n])
                ax.text(at[0], at[1], short_label(first.tokens[n - 1], chars), ha="center", va="center",
                        fontsize="small", bbox=dict(boxstyle="round,pad=0.2", fc="white", ec=colour, lw=0.8))
            prev = at
        for k, p in enumerate(lines[ids]):  # one caption per path that chose these tokens
            if beside[ids]:  # on its own line, just before the nodes it does not share
                ax.text(own_start[ids] - 0.45, tops[ids], caption(p), va="center", ha="right", color=COLOURS[p.kind],
                        fontsize="small")
            else:  # under it, starting below its own nodes if the caption fits there
                width_columns = len(caption(p)) * 0.62 * small_px / column_px
                x = max(0.7, min(own_start[ids] - 0.3, length + 0.5 - width_columns))
                ax.text(x, tops[ids] + 0.95 * (k + 1), caption(p), va="center", ha="left", color=COLOURS[p.kind],
                        fontsize="small")
    ax.text(-0.1, rows.get(order[0][:1], 0) if order else 0, "prompt", ha="right", va="center", fontsize="small")
    ax.set_xlim(-1.0, length + 0.6)
    ax.set_ylim(y - 0.3, -0.7)
    ax.set_xticks(range(1, length + 1))
    ax.set_xlabel("new token")
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_title(title)
    return fig
