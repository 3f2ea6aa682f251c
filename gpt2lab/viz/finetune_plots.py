"""Figures for fine-tuning: the loss curve, the confusion matrix, what the last token sees, before/after text.

Each function takes numbers (a :class:`~gpt2lab.training.history.LossHistory`, tensors, token strings, class
names), never a model, and returns a :class:`~gpt2lab.viz.figures.LabFigure` or a self-contained HTML
string (inline CSS, no script).

    loss_curve_plot(result.history)
    confusion_matrix_plot(report.confusion, report.classes)
    state_change_plot(change, tokens)
"""

from __future__ import annotations

import math
from html import escape

import torch

from gpt2lab.errors import LabError
from gpt2lab.viz.figures import LabFigure, new_figure, set_token_ticks, styled, to_numpy

TRAIN_COLOUR = "#9bb7d4"  # each step's batch loss: light, because it is noisy
SMOOTH_COLOUR = "#2f6db3"  # its running mean
EVAL_COLOUR = "#d1495b"  # loss on text never trained on
ACCURACY_COLOUR = "#2a9d5b"
CONFUSION_CMAP = "Blues"


def running_mean(values: list[float], window: int) -> list[float]:
    """Mean of the last ``window`` values at each point: ``running_mean([1, 3, 5], 2) == [1, 2, 4]``."""
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


@styled
def loss_curve_plot(history, title: str = "Fine-tuning loss") -> LabFigure:
    """Training loss per step (light), its running mean (dark) and the evaluation loss (red dots).

    The x axis spans the whole run (``history.total_steps``), so a live plot fills in from the left.
    The evaluation loss is the one to trust: it is measured on text the model never trained on. A
    classification run also draws the test accuracy, on a second axis.
    """
    fig, axes = new_figure(width=6.4, height=3.6)
    ax = axes[0, 0]
    if history.steps:
        ax.plot(history.steps, history.train_losses, color=TRAIN_COLOUR, lw=0.8, label="training batch")
        window = max(1, min(10, len(history.steps) // 5))
        ax.plot(history.steps, running_mean(history.train_losses, window), color=SMOOTH_COLOUR, label=f"training, mean of {window}")
    if history.eval_steps:
        ax.plot(history.eval_steps, history.eval_losses, "o-", color=EVAL_COLOUR, label=history.eval_label)
        last = history.eval_losses[-1]
        title = f"{title}: {history.eval_label} loss {last:.3f} (perplexity {math.exp(min(last, 700)):.3g})"
    ax.set_xlim(0, max(1, history.total_steps))
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (nats per token)" if history.eval_label == "validation" else "loss (nats)")
    ax.set_title(title, fontsize="medium")
    ax.grid(alpha=0.3)
    if history.eval_accuracies:
        acc = ax.twinx()
        acc.plot(history.eval_steps, history.eval_accuracies, "s--", color=ACCURACY_COLOUR, label=f"{history.eval_label} accuracy")
        acc.set_ylim(0, 1)
        acc.set_ylabel("accuracy", color=ACCURACY_COLOUR)
        acc.legend(loc="upper center", fontsize="small")
    if history.steps or history.eval_steps:
        ax.legend(loc="upper right", fontsize="small")
    return fig


@styled
def confusion_matrix_plot(confusion: torch.Tensor, classes, title: str = "Confusion matrix") -> LabFigure:
    """Counts of (true class, predicted class): the diagonal is right, every other cell a kind of mistake."""
    confusion = torch.as_tensor(confusion)
    n = len(classes)
    if confusion.shape != (n, n):
        raise LabError(f"The confusion matrix has shape {tuple(confusion.shape)} but there are {n} classes; give a ({n}, {n}) matrix.")
    fig, axes = new_figure(width=1.6 + 1.1 * n, height=1.2 + 1.0 * n)
    ax = axes[0, 0]
    counts = to_numpy(confusion)
    ax.imshow(counts, cmap=CONFUSION_CMAP, vmin=0, vmax=max(1.0, counts.max()))
    for i in range(n):
        for j in range(n):
            dark = counts[i, j] > 0.6 * counts.max()
            ax.text(j, i, f"{int(counts[i, j])}", ha="center", va="center", color="white" if dark else "black")
    ax.set_xticks(range(n), classes, rotation=30)
    ax.set_yticks(range(n), classes)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    accuracy = confusion.diagonal().sum().item() / max(1, confusion.sum().item())
    ax.set_title(f"{title} (accuracy {accuracy:.0%})", fontsize="medium")
    return fig


@styled
def state_change_plot(change: torch.Tensor, tokens, changed_tokens=None) -> LabFigure:
    """Bars: how far each position's final hidden state moved when the last token was changed.

    ``change`` is :func:`gpt2lab.training.classify.state_change_per_position`'s (T,) tensor. Every bar but the
    last is zero: causal attention lets no position see the tokens after it.
    """
    change = torch.as_tensor(change).float()
    if change.dim() != 1 or len(change) != len(tokens):
        raise LabError(f"Give one change per token: {len(tokens)} tokens but a tensor of shape {tuple(change.shape)}.")
    fig, axes = new_figure(width=max(4.0, 0.55 * len(tokens) + 1.5), height=3.2)
    ax = axes[0, 0]
    colours = ["#bbbbbb"] * (len(tokens) - 1) + [EVAL_COLOUR]
    ax.bar(range(len(tokens)), to_numpy(change), color=colours)
    labels = list(tokens)
    if changed_tokens is not None:
        labels[-1] = f"{tokens[-1]}→{changed_tokens[-1]}"
    set_token_ticks(ax, labels, "x")
    ax.set_ylabel("hidden-state change")
    ax.set_title("Change the last token: only the last position notices", fontsize="medium")
    return fig


def continuations_html(rows) -> str:
    """A table of prompts continued before and after fine-tuning (rows of :class:`~gpt2lab.training.finetune.Continuation`)."""
    cell = "padding:6px 10px;border-bottom:1px solid #ccc;vertical-align:top;text-align:left;white-space:pre-wrap"
    head = "".join(f'<th style="{cell}">{h}</th>' for h in ("prompt", "before fine-tuning", "after fine-tuning"))
    body = "".join(
        f'<tr><td style="{cell};font-weight:bold">{escape(r.prompt)}</td>'
        f'<td style="{cell}"><span style="opacity:0.6">{escape(r.prompt)}</span>{escape(r.before)}</td>'
        f'<td style="{cell}"><span style="opacity:0.6">{escape(r.prompt)}</span>{escape(r.after)}</td></tr>'
        for r in rows
    )
    return f'<table style="border-collapse:collapse;color:inherit"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
