"""A live view of an induction head forming: pass its ``update`` as the run's ``on_measure`` callback.

    view = LiveInductionPlot()
    view                                             # shows it (a status line and an empty plot)
    history = train_induction_run(config, on_measure=view.update)

It is :class:`~gpt2lab.widgets.loss_curve_widget.LiveLossCurve` drawing a different figure
(:func:`gpt2lab.viz.induction_plots.induction_run_plot`) and status line. Drawing a figure takes a good
part of a second on a slow CPU, so it redraws at most every ``min_interval_s`` seconds; the status line
follows every measurement, and the last measurement is always drawn (:meth:`finish`).
"""

from __future__ import annotations

import time

from gpt2lab.viz.figures import figure_png
from gpt2lab.viz.induction_plots import induction_run_plot
from gpt2lab.widgets.loss_curve_widget import LiveLossCurve


def induction_status(history) -> str:
    """The latest numbers in words: ``"step 300 of 800 · 41 s · best induction score 0.14 · ..."``."""
    config = history.config
    return (f"step {history.eval_steps[-1]} of {config.max_steps} · {history.seconds[-1]:.0f} s · "
            f"best induction score {history.best_induction[-1]:.2f} · "
            f"best previous-token score {history.best_previous_token[-1]:.2f} · "
            f"loss on the repeated half {history.repeat_losses[-1]:.2f}")


class LiveInductionPlot(LiveLossCurve):
    """A status line and the induction-run figure, redrawn by :meth:`update` (the run's callback)."""

    def __init__(self, title: str = "A small GPT-2 learning to copy", min_interval_s: float = 2.0):
        super().__init__(title)
        self.min_interval_s = min_interval_s  # seconds between redraws of the figure
        self._drawn_at = None  # when the figure was last drawn

    def update(self, history) -> None:
        """Show ``history``'s latest numbers; redraw the figure if it was last drawn ``min_interval_s`` ago."""
        self.history = history
        self.status.value = induction_status(history)
        if self._drawn_at is None or time.perf_counter() - self._drawn_at >= self.min_interval_s:
            self.finish()

    def finish(self) -> None:
        """Draw the last history received, whenever it was received."""
        if self.history is not None:
            self.image.value = figure_png(induction_run_plot(self.history, title=self.title))
            self._drawn_at = time.perf_counter()
