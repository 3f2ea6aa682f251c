"""The figure type every gpt2lab plot returns, and helpers shared by the plotting modules.

Plots are built on ``matplotlib.figure.Figure`` directly, not through ``pyplot``: a pyplot figure is shown
once by the notebook backend when the cell ends and once more as the cell's value, and it stays in
pyplot's memory until closed. A :class:`LabFigure` is shown exactly once, as a PNG, wherever it is the
value of a cell (JupyterLab, Notebook 7, Colab), and is freed like any Python object.
"""

from __future__ import annotations

import functools
import io

import matplotlib

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.text import Text

from gpt2lab.inputs import explained
from gpt2lab.viz.labels import token_label

MAX_LABELLED = 40  # more tick labels than this on an axis overlap: label every n-th position instead


def to_numpy(x) -> np.ndarray:
    """A tensor as a float NumPy array for drawing, wherever it lives (CPU or GPU) and whatever its dtype."""
    if isinstance(x, torch.Tensor):
        return x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=float)


class LabFigure(Figure):
    """A matplotlib Figure that displays itself as a PNG in a notebook, and draws all its text literally.

    Tokens and prompts are a learner's text: ``"$$x$$"`` must show as typed, not as matplotlib's
    mathematics (which would raise a ParseException, or silently render something else).
    """

    def draw(self, renderer):
        for text in self.findobj(match=Text):  # every title, tick label, legend and annotation
            text.set_parse_math(False)
        super().draw(renderer)

    def _repr_png_(self) -> bytes:
        return figure_png(self)

    def save(self, path, dpi: float | None = 200) -> str:
        """Save for a slide: ``fig.save("attention.svg")`` or ``.png`` (or ``.pdf``), chosen by the file's ending."""
        return save_figure(self, path, dpi=dpi)


def styled(draw):
    """Decorate a plotting function so it draws in the current display mode (see :mod:`gpt2lab.viz.presenter`),
    inside ``matplotlib.rc_context``: the learner's own rcParams are never changed."""
    from gpt2lab.viz.presenter import current_display_mode

    @functools.wraps(draw)
    def drawn_in_the_current_mode(*args, **kwargs):
        with matplotlib.rc_context(current_display_mode().rc()):
            return draw(*args, **kwargs)

    return explained(drawn_in_the_current_mode)  # a wrong argument ends in one LabError sentence


def new_figure(nrows: int = 1, ncols: int = 1, *, width: float = 6.4, height: float = 4.8, **subplot_kw):
    """A :class:`LabFigure` with a grid of axes, laid out so labels never overlap: ``fig, axes = new_figure(1, 3)``."""
    fig = LabFigure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **subplot_kw)
    return fig, axes


def figure_png(fig: Figure, dpi: float | None = None) -> bytes:
    """The figure drawn as PNG bytes (for an ``<img>`` in an HTML widget, or a file)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


SAVE_FORMATS = ("png", "svg", "pdf")  # what a figure can be saved as, by the file name's ending


def save_figure(fig: Figure, path, dpi: float | None = 200) -> str:
    """Write ``fig`` to ``path`` as PNG, SVG or PDF (by its ending); return the path written.

    One clear sentence for a bad name or a folder that cannot be written, never matplotlib's traceback.
    """
    from pathlib import Path

    from gpt2lab.errors import LabError

    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in SAVE_FORMATS:
        raise LabError(f"Give the file name an ending that says the format: .png, .svg or .pdf (not {path.name!r}).")
    try:
        with matplotlib.rc_context({"svg.fonttype": "none"}):  # SVG text stays text, editable on a slide
            fig.savefig(path, format=fmt, dpi=dpi)
    except OSError as err:
        raise LabError(f"Could not write {str(path)!r} ({err.strerror}); choose another folder or file name.") from None
    return str(path)


def set_token_ticks(ax, tokens, axis: str = "x", rotate: bool = True) -> None:
    """Label an axis with tokens, one tick per position (every n-th one when there are many)."""
    step = max(1, -(-len(tokens) // MAX_LABELLED))  # ceil division
    ticks = list(range(0, len(tokens), step))
    labels = [token_label(tokens[i]) for i in ticks]
    if axis == "x":
        ax.set_xticks(ticks, labels, rotation=90 if rotate else 0)
    else:
        ax.set_yticks(ticks, labels)
