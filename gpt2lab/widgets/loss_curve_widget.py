"""A loss curve that redraws itself while a model trains: pass its ``update`` as the training callback.

    curve = LiveLossCurve("Fine-tuning on the ship's log")
    curve                                            # shows it (an empty plot and a status line)
    finetune_lm(lab, text, config, on_eval=curve.update)

Each ``update(history)`` draws :func:`gpt2lab.viz.finetune_plots.loss_curve_plot` as a PNG into an
``Image`` widget (core ipywidgets, so it works in JupyterLab, Notebook 7 and Colab) and writes the latest
numbers in a line of text above it.
"""

from __future__ import annotations

import math

import ipywidgets as widgets

from gpt2lab.viz.presenter import themed
from gpt2lab.viz.figures import figure_png
from gpt2lab.viz.finetune_plots import loss_curve_plot


def status_line(history) -> str:
    """The latest numbers in words: ``"step 20 of 40 · validation loss 3.912 · perplexity 50.0"``."""
    parts = [f"step {history.step} of {history.total_steps}"]
    if history.eval_losses:
        loss = history.eval_losses[-1]
        parts.append(f"{history.eval_label} loss {loss:.3f}")
        if history.eval_accuracies:
            parts.append(f"{history.eval_label} accuracy {history.eval_accuracies[-1]:.0%}")
        else:
            parts.append(f"perplexity {math.exp(min(loss, 700)):.3g}")
    return " · ".join(parts)


class LiveLossCurve:
    """A status line and a loss-curve image, redrawn by :meth:`update` (the training callback)."""

    def __init__(self, title: str = "Fine-tuning loss"):
        self.title = title
        self.status = widgets.HTML("waiting for the first measurement ...")
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.history = None  # the last history drawn
        self.view = themed(widgets.VBox([self.status, self.image]))

    def update(self, history) -> None:
        """Redraw from ``history`` (a :class:`~gpt2lab.training.history.LossHistory`)."""
        self.history = history
        self.status.value = status_line(history)
        self.image.value = figure_png(loss_curve_plot(history, title=self.title))

    def _repr_mimebundle_(self, **kwargs):
        return self.view._repr_mimebundle_(**kwargs)
