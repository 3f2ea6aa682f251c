"""Presenter and compact modes: figures and widget text sized for a lecture hall, or for a laptop.

    gpt2lab.set_display_mode("presenter")   # large type, readable from the back row
    gpt2lab.set_display_mode("compact")     # small type, more on a laptop screen
    gpt2lab.set_display_mode("default")

    with gpt2lab.display_mode("presenter"):  # only inside the block
        ...

The mode is the kit's own setting: gpt2lab's figures are drawn with it (each plotting function applies
it around its own drawing, through ``matplotlib.rc_context``), and matplotlib's global rcParams -- the
learner's own plots -- are never touched. Widgets carry the CSS class ``gpt2lab``; the call returns a
style block that sizes them (shown as the cell's output in JupyterLab and Notebook 7), and every widget
built afterwards carries the same style inside itself, which is what reaches them in Colab, where each
output lives in its own frame.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from gpt2lab.errors import LabError


@dataclass(frozen=True)
class DisplayMode:
    name: str  # "default", "presenter" or "compact"
    font_size: float  # matplotlib's base font size, in points
    dpi: int  # pixels per inch of figures on screen: larger draws every figure larger
    line_width: float  # matplotlib's default line width, in points
    widget_font: str  # CSS font size of widget text
    widget_control_height: str  # CSS height of buttons, sliders and boxes

    def rc(self) -> dict:
        """The matplotlib settings gpt2lab's figures are drawn with in this mode."""
        return {"font.size": self.font_size, "figure.dpi": self.dpi, "savefig.dpi": "figure",
                "lines.linewidth": self.line_width, "axes.titlesize": "large", "axes.labelsize": "medium"}


MODES = {
    "default": DisplayMode("default", font_size=10, dpi=100, line_width=1.5, widget_font="14px", widget_control_height="28px"),
    "presenter": DisplayMode("presenter", font_size=16, dpi=120, line_width=2.5, widget_font="22px", widget_control_height="40px"),
    "compact": DisplayMode("compact", font_size=8, dpi=80, line_width=1.0, widget_font="12px", widget_control_height="24px"),
}

_current = MODES["default"]  # the mode set by the last set_display_mode call


def current_display_mode() -> DisplayMode:
    """The mode set by the last :func:`set_display_mode` (``default`` until then)."""
    return _current


def check_mode(name: str) -> DisplayMode:
    if name not in MODES:
        raise LabError(f"There is no display mode {name!r}: use one of {', '.join(map(repr, MODES))}.")
    return MODES[name]


def set_display_mode(name: str):
    """Switch gpt2lab's figures and widgets to ``"presenter"``, ``"compact"`` or ``"default"`` sizes.

    Returns an ``IPython.display.HTML`` holding the widget style, so ending a cell with this call
    restyles the widgets already on the page as well. matplotlib's own defaults are left as they are.
    """
    global _current
    from IPython.display import HTML

    _current = check_mode(name)
    return HTML(widget_css(_current))


@contextlib.contextmanager
def display_mode(name: str):
    """Use a display mode only inside a ``with`` block: ``with display_mode("presenter"): pattern_heatmap(...)``."""
    global _current
    previous, _current = _current, check_mode(name)
    try:
        yield _current
    finally:
        _current = previous


def widget_css(mode: DisplayMode | None = None) -> str:
    """A ``<style>`` block that sizes every gpt2lab widget's text and controls for ``mode``."""
    mode = mode or _current
    scope = ".gpt2lab"
    return (
        "<style>"
        f"{scope}, {scope} .widget-label, {scope} .widget-html-content, {scope} button, {scope} input, "
        f"{scope} select, {scope} textarea, {scope} .widget-readout {{ font-size: {mode.widget_font} !important; }}"
        f"{scope} button, {scope} .widget-dropdown select, {scope} .widget-text input {{ min-height: {mode.widget_control_height}; }}"
        "</style>"
    )


def themed(box):
    """Mark a widget's top-level box as a gpt2lab widget and give it the current mode's style inside.

    The style travels inside the widget, so the sizes hold in Colab too.
    """
    import ipywidgets as widgets

    box.add_class("gpt2lab")
    box.children = (widgets.HTML(widget_css()), *box.children)
    return box
