"""The figure of an induction head forming: the training loss above, the best heads' scores below, on one step axis.

It takes the numbers of a run (an :class:`~gpt2lab.training.induction_run.InductionHistory`), never a model,
and returns a :class:`~gpt2lab.viz.figures.LabFigure`, so a live view can redraw it after every measurement.

    induction_run_plot(history)
    circuit_plot(patterns, tokens, history.best_head("previous_token"), history.best_head("induction"))
"""

from __future__ import annotations

import torch

from gpt2lab.analysis.head_scores import even_spread_induction, even_spread_previous_token
from gpt2lab.errors import LabError
from gpt2lab.viz.attention_plots import PATTERN_CMAP
from gpt2lab.viz.figures import LabFigure, new_figure, set_token_ticks, styled, to_numpy
from gpt2lab.viz.finetune_plots import SMOOTH_COLOUR, TRAIN_COLOUR, running_mean

INDUCTION_COLOUR = "#d1495b"  # the score the run is about
PREVIOUS_COLOUR = "#2a9d5b"  # its partner in the earlier block
JUMP_COLOUR = "#f2c14e"  # the stretch of steps in which the induction score rose
REPEAT_COLOUR = "#7b4fa0"  # the loss on the measuring sequences: not red, which is the induction score's


@styled
def induction_run_plot(history, title: str = "A small GPT-2 learning to copy") -> LabFigure:
    """Top: the training loss per step and the loss on the measuring sequences' repeated half.
    Bottom: the best head's induction and previous-token scores, with what an even spread would score.

    The x axis spans the whole run (``config.max_steps``), so a live plot fills in from the left. Once the
    induction score has risen (:meth:`~gpt2lab.training.induction_run.InductionHistory.phase_change`),
    the steps of its steep part (a tenth to half of its
    whole rise) are shaded in both panels.
    """
    config = history.config
    fig, axes = new_figure(2, 1, width=7.2, height=6.0, sharex=True)
    top, bottom = axes[0, 0], axes[1, 0]
    rise = history.phase_change() if history.eval_steps else None
    if rise is not None and rise.formed:
        for ax in (top, bottom):
            ax.axvspan(rise.begin_step, rise.half_step, color=JUMP_COLOUR, alpha=0.35, lw=0,
                       label="the jump: a tenth to half of the rise" if ax is bottom else None)

    if history.steps:
        top.plot(history.steps, history.train_losses, color=TRAIN_COLOUR, lw=0.8, label="training batch")
        window = max(1, min(20, len(history.steps) // 5))
        top.plot(history.steps, running_mean(history.train_losses, window), color=SMOOTH_COLOUR,
                 label=f"training, mean of {window}")
    if history.eval_steps:
        top.plot(history.eval_steps, history.repeat_losses, ".-", color=REPEAT_COLOUR, ms=4,
                 label="measuring sequences, repeated half")
    top.set_ylim(bottom=0)
    top.set_ylabel("loss on copied tokens\n(nats per token)")
    top.set_title(title, fontsize="medium")
    top.grid(alpha=0.3)
    if history.steps or history.eval_steps:
        top.legend(loc="lower left", fontsize="small")

    L = config.probe_span
    bottom.axhline(even_spread_induction(L), color=INDUCTION_COLOUR, ls="--", lw=1, alpha=0.7,
                   label=f"induction, even spread ({even_spread_induction(L):.3f})")
    bottom.axhline(even_spread_previous_token(2 * L), color=PREVIOUS_COLOUR, ls=":", lw=1.2, alpha=0.8,
                   label=f"previous-token, even spread ({even_spread_previous_token(2 * L):.3f})")
    if history.eval_steps:
        bottom.plot(history.eval_steps, history.best_induction, "-", color=INDUCTION_COLOUR, lw=2,
                    label=f"best induction score ({history.best_induction[-1]:.2f})")
        bottom.plot(history.eval_steps, history.best_previous_token, "-", color=PREVIOUS_COLOUR, lw=2,
                    label=f"best previous-token score ({history.best_previous_token[-1]:.2f})")
    bottom.set_ylim(0, 1)
    bottom.set_xlim(0, max(1, config.max_steps))
    bottom.set_xlabel("optimizer step")
    bottom.set_ylabel("attention score\n(best head)")
    bottom.grid(alpha=0.3)
    bottom.legend(loc="upper left", fontsize="small")
    return fig


@styled
def circuit_plot(patterns: torch.Tensor, tokens, previous_head: tuple[int, int], induction_head: tuple[int, int],
                 title: str = "The two heads of the copying circuit") -> LabFigure:
    """Two heads' patterns side by side: the previous-token head (a stripe just below the diagonal) and the
    induction head (in the second half, a stripe that points one past each token's earlier copy).

    patterns: every head's pattern on one sequence, (n_layer, n_head, T, T) (rows: queries, columns: keys);
    ``tokens`` labels its T positions; each head is a ``(layer, head)`` pair.
    """
    patterns = torch.as_tensor(patterns)
    if patterns.dim() != 4 or patterns.shape[-1] != len(tokens) or patterns.shape[-2] != len(tokens):
        raise LabError(f"Give every head's pattern as (n_layer, n_head, T, T) with T = {len(tokens)} tokens, "
                       f"not a tensor of shape {tuple(patterns.shape)}.")
    fig, axes = new_figure(1, 2, width=11.0, height=5.6)
    kinds = (("previous-token head", previous_head), ("induction head", induction_head))
    for ax, (kind, (layer, head)) in zip(axes[0], kinds):
        image = ax.imshow(to_numpy(patterns[layer, head]), cmap=PATTERN_CMAP, vmin=0.0, vmax=1.0,
                          interpolation="nearest")
        ax.set_title(f"{kind}: layer {layer}, head {head}", fontsize="medium")
        set_token_ticks(ax, tokens, "x")
        set_token_ticks(ax, tokens, "y")
        ax.set_xlabel("key (looked at)")
    axes[0, 0].set_ylabel("query (looking)")
    fig.colorbar(image, ax=list(axes[0]), label="attention weight", shrink=0.7)
    fig.suptitle(title)
    return fig
