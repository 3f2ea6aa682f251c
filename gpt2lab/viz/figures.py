"""The figure type every gpt2lab plot returns, and helpers shared by the plotting modules.

Plots are built on ``matplotlib.figure.Figure`` directly, not through ``pyplot``: a pyplot figure is shown
once by the notebook backend when the cell ends and once more as the cell's value, and it stays in
pyplot's memory until closed. A :class:`LabFigure` is shown exactly once, as a PNG, wherever it is the
value of a cell (JupyterLab, Notebook 7, Colab), and is freed like any Python object.
"""

from __future__ import annotations

import functools
import io
import textwrap

import matplotlib
import matplotlib.font_manager

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

    Built for the room it is shown in (see :mod:`gpt2lab.viz.presenter`): it is never wider than the
    display mode's page (the browser would shrink it, text and all), no text in it is drawn smaller than
    the mode's ``min_text_px``, and titles and axis labels wrap rather than run off its edges.
    """

    def __init__(self, *args, figsize=None, **kwargs):
        from gpt2lab.viz.presenter import current_display_mode

        mode = current_display_mode()
        self.min_text_px = mode.min_text_px  # the mode it was made in decides its smallest text
        if figsize is not None:
            figsize = (min(figsize[0], mode.max_figure_width), figsize[1])
        super().__init__(*args, figsize=figsize, **kwargs)

    def draw(self, renderer):
        smallest = self.min_text_px * 72 / self.dpi  # points, at the dpi it is drawn with now
        for text in self.findobj(match=Text):  # every title, tick label, legend and annotation
            text.set_parse_math(False)
            if text.get_fontsize() < smallest:
                text.set_fontsize(smallest)
        if self.get_layout_engine() is not None and self.axes and self._long_titles(renderer):
            self.get_layout_engine().execute(self)  # where the titles sit, before they are wrapped to fit
        for ax in self.axes:  # long titles and labels wrap inside the figure
            for text in (ax.title, ax._left_title, ax._right_title, ax.xaxis.label):
                wrap_within(text, self.bbox.width, renderer)
            wrap_within(ax.yaxis.label, self.bbox.height, renderer, horizontal=False)
        if self._suptitle is not None:
            wrap_within(self._suptitle, self.bbox.width, renderer)
        super().draw(renderer)  # lays the figure out again, around the wrapped text

    def _long_titles(self, renderer) -> bool:
        """Is any title or label long enough that it may need wrapping (over a quarter of the figure's width)?"""
        texts = [t for ax in self.axes for t in (ax.title, ax._left_title, ax._right_title, ax.xaxis.label)]
        texts += [self._suptitle] if self._suptitle is not None else []
        return any(t.get_text() and t.get_window_extent(renderer).width > 0.25 * self.bbox.width for t in texts)

    def _repr_png_(self) -> bytes:
        return figure_png(self)

    def save(self, path, dpi: float | None = 200) -> str:
        """Save for a slide: ``fig.save("attention.svg")`` or ``.png`` (or ``.pdf``), chosen by the file's ending."""
        return save_figure(self, path, dpi=dpi)


def wrap_within(text: Text, room_px: float, renderer, horizontal: bool = True) -> None:
    """Break a title or label onto more lines when it would run past the figure's edge (``room_px`` is the
    figure's width, or its height for a vertical label); a centred title has twice its distance to the
    nearer edge.

    matplotlib's own ``wrap=True`` reads a ``$`` as mathematics, and a learner's token may hold one.
    """
    if not text.get_text() or not text.get_visible():
        return
    written, wrapped = getattr(text, "_gpt2lab_wrapping", (None, None))
    if text.get_text() != wrapped:  # new text (or never wrapped): wrap it as written, at every draw
        written = text.get_text()
    content = written
    text.set_text(content)
    width = text.get_window_extent(renderer).width if horizontal else text.get_window_extent(renderer).height
    if horizontal:  # where the text is anchored, in pixels from the figure's left edge
        x = text.get_transform().transform(text.get_position())[0]
        align = text.get_horizontalalignment()
        if align == "center":
            room_px = 2 * min(max(x, 0.0), max(room_px - x, 0.0)) or room_px
        elif align == "left":
            room_px = max(room_px - x, 0.3 * room_px)
        elif align == "right":
            room_px = max(x, 0.3 * room_px)
    room = 0.94 * room_px
    if width > room:
        longest = max(len(line) for line in content.split("\n"))
        chars = max(8, int(longest * room / width))
        text.set_text("\n".join(textwrap.fill(line, chars) for line in content.split("\n")))
    text._gpt2lab_wrapping = (content, text.get_text())


def styled(draw):
    """Decorate a plotting function so it draws in the current display mode (see :mod:`gpt2lab.viz.presenter`),
    inside ``matplotlib.rc_context``: the learner's own rcParams are never changed."""
    from gpt2lab.viz.presenter import current_display_mode

    @functools.wraps(draw)
    def drawn_in_the_current_mode(*args, **kwargs):
        with matplotlib.rc_context(current_display_mode().rc()):
            return draw(*args, **kwargs)

    return explained(drawn_in_the_current_mode)  # a wrong argument ends in one LabError sentence


def new_figure(nrows: int = 1, ncols: int = 1, *, width: float = 6.4, height: float = 4.8, layout: str = "constrained",
               **subplot_kw):
    """A :class:`LabFigure` with a grid of axes, laid out so labels never overlap: ``fig, axes = new_figure(1, 3)``.

    ``layout="compressed"`` for a grid of square heatmaps (matplotlib's layout for fixed-aspect axes).
    """
    fig = LabFigure(figsize=(width, height), layout=layout)
    axes = fig.subplots(nrows, ncols, squeeze=False, **subplot_kw)
    return fig, axes


def figure_png(fig: Figure, dpi: float | None = None) -> bytes:
    """The figure drawn as PNG bytes (for an ``<img>`` in an HTML widget, or a file).

    Laid out once, then drawn with the layout held still: matplotlib's ``savefig`` would lay a figure out
    twice (a widget redraws its figure at every control change, and this halves the time).
    """
    buffer = io.BytesIO()
    engine = fig.get_layout_engine()
    if engine is None or dpi not in (None, fig.dpi):
        fig.savefig(buffer, format="png", dpi=dpi)
        return buffer.getvalue()
    fig.draw_without_rendering()
    fig.set_layout_engine("none")
    try:
        fig.savefig(buffer, format="png")
    finally:
        fig.set_layout_engine(engine)
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


def set_token_ticks(ax, tokens, axis: str = "x", rotate: bool = True, length_in: float | None = None) -> None:
    """Label an axis with tokens, one tick per position, or every n-th one when their labels would not fit
    side by side (or there are more than :data:`MAX_LABELLED`). ``length_in``: the axis length in inches,
    when the caller knows it (else it is read from the axes' place in the figure)."""
    fit = labels_that_fit(ax, axis, length_in)
    step = max(1, -(-len(tokens) // MAX_LABELLED), -(-len(tokens) // fit))  # ceil divisions
    ticks = list(range(0, len(tokens), step))
    labels = [token_label(tokens[i]) for i in ticks]
    if axis == "x":
        ax.set_xticks(ticks, labels, rotation=90 if rotate else 0)
    else:
        ax.set_yticks(ticks, labels)


def labels_that_fit(ax, axis: str = "x", length_in: float | None = None) -> int:
    """How many tick labels fit along an axis side by side: its length over one line of tick text."""
    fig = ax.get_figure()
    if length_in is None:
        box = ax.get_position()  # in figure fractions, before the layout's final adjustments
        length_in = box.width * fig.get_figwidth() if axis == "x" else box.height * fig.get_figheight()
    length_px = length_in * fig.dpi
    size_pt = matplotlib.rcParams[f"{axis}tick.labelsize"]
    if isinstance(size_pt, str):
        size_pt = matplotlib.font_manager.FontProperties(size=size_pt).get_size_in_points()
    line_px = max(size_pt, fig.min_text_px * 72 / fig.dpi if hasattr(fig, "min_text_px") else 0) * fig.dpi / 72
    return max(1, int(length_px / (0.95 * line_px)))


def text_em_in() -> float:
    """One line of figure text in the current display mode (its font size, or its smallest size), in inches."""
    from gpt2lab.viz.presenter import current_display_mode

    mode = current_display_mode()
    return max(mode.font_size, mode.min_text_px * 72 / mode.dpi) / 72


def label_room(labels) -> float:
    """Inches the longest of these labels takes, drawn as tick labels (below a panel, rotated, or beside it)."""
    return min(max((len(token_label(t)) for t in labels), default=1), 16) * 0.62 * text_em_in() + 0.15


def panel_layout(n_panels: int, needed_in: float, *, max_cols: int, side_in: float = 1.3,
                 min_panel_in: float = 2.0) -> tuple[int, int, float]:
    """Square panels that fit the page: (columns, rows, panel size in inches).

    As many panels side by side as the notebook's width allows while each is at least ``needed_in``
    inches (room for its token labels, or the numbers in its cells, in the current display mode); the
    rest go on further rows. ``side_in`` is the room beside the panels (tick labels, a colour bar).
    """
    from gpt2lab.viz.presenter import current_display_mode

    room = current_display_mode().max_figure_width - side_in
    needed = max(min_panel_in, needed_in)
    cols = max(1, min(max_cols, n_panels, int(room // needed)))
    rows = -(-n_panels // cols)
    return cols, rows, min(room / cols, needed)
