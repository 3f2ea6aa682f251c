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


@styled
def decoding_tree_chart(paths: list[DecodedPath], title: str = "Greedy, beam search and sampling from one prompt") -> Figure:
    """The paths as one tree: a column per new token, shared beginnings drawn once, scores at the ends."""
    rows: dict[tuple[int, ...], float] = {}  # each tree node (a prefix) -> its row
    order = sorted(range(len(paths)), key=lambda i: paths[i].new_ids)  # lexicographic: shared prefixes sit together
    leaf_row = {}
    for row, i in enumerate(order):
        leaf_row[i] = row
        for n in range(1, len(paths[i].new_ids) + 1):
            rows.setdefault(paths[i].new_ids[:n], row)
    length = max((len(p.new_ids) for p in paths), default=1)
    fig, axes = new_figure(width=max(7.0, 1.0 * length + 4), height=0.55 * len(paths) + 1.5)
    ax = axes[0, 0]
    drawn = set()
    for i in order:
        p = paths[i]
        colour = COLOURS[p.kind]
        prev = (0, rows.get(p.new_ids[:1], leaf_row[i]))
        for n in range(1, len(p.new_ids) + 1):
            prefix = p.new_ids[:n]
            at = (n, rows[prefix])
            ax.plot([prev[0], at[0]], [prev[1], at[1]], color=colour, lw=1.5, alpha=0.8)
            if prefix not in drawn:
                drawn.add(prefix)
                ax.text(at[0], at[1], short_label(p.tokens[n - 1], 10), ha="center", va="center", fontsize=8,
                        bbox=dict(boxstyle="round,pad=0.2", fc="white", ec=colour, lw=0.8))
            prev = at
        ax.text(length + 0.7, leaf_row[i], f"{p.label}: log p = {p.logprob:.1f}, repeats {p.repeats:.0%}",
                va="center", fontsize=8, color=colour)
    ax.text(0, (len(paths) - 1) / 2, "prompt", ha="right", va="center", fontsize=9)
    ax.set_xlim(-0.8, length + 6)
    ax.set_ylim(len(paths) - 0.5, -0.5)
    ax.set_xlabel("new token")
    ax.set_yticks([])
    ax.set_title(title)
    return fig
