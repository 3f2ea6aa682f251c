"""Presenter and compact modes: figures and widget text sized for a lecture hall, or for a laptop.

    gpt2lab.set_display_mode("presenter")   # large type, readable from the back row
    gpt2lab.set_display_mode("compact")     # smaller type, more on a laptop screen
    gpt2lab.set_display_mode("default")

    with gpt2lab.display_mode("presenter"):  # only inside the block
        ...

The mode is the kit's own setting: gpt2lab's figures are drawn with it (each plotting function applies
it around its own drawing, through ``matplotlib.rc_context``), and matplotlib's global rcParams -- the
learner's own plots -- are never touched.

Every mode is built for a projector's 1280x800 screen, where a JupyterLab notebook (file browser open)
leaves about :data:`PAGE_WIDTH_PX` pixels for an output. So a figure is never drawn wider than that (the
browser would shrink it, and its text with it), and no text of a figure is drawn smaller than the mode's
``min_text_px`` (12 px; presenter 18 px): see :func:`gpt2lab.viz.figures.LabFigure`.

Widgets carry the CSS class ``gpt2lab`` and a style block of their own, which is what reaches them in
Colab, where each output lives in its own frame. The style sets ipywidgets' own size variables (font,
control height, label and slider widths) in ``em``, so a label grows with its text and is never cut
short. :func:`set_display_mode` restyles every widget already shown as well as the ones built after it.
"""

from __future__ import annotations

import contextlib
import itertools
import weakref
from dataclasses import dataclass

from gpt2lab.errors import LabError

PAGE_WIDTH_PX = 820  # an output's width in JupyterLab at 1280x800 with the file browser open (848 px), less a margin


@dataclass(frozen=True)
class DisplayMode:
    name: str  # "default", "presenter" or "compact"
    font_size: float  # matplotlib's base font size, in points
    dpi: int  # pixels per inch of figures on screen: larger draws every figure larger
    line_width: float  # matplotlib's default line width, in points
    widget_font: str  # CSS font size of widget text
    widget_control_height: str  # CSS height of buttons, sliders and boxes
    min_text_px: float = 12.0  # no figure text is drawn smaller than this many pixels

    def rc(self) -> dict:
        """The matplotlib settings gpt2lab's figures are drawn with in this mode."""
        return {"font.size": self.font_size, "figure.dpi": self.dpi, "savefig.dpi": "figure",
                "lines.linewidth": self.line_width, "axes.titlesize": "large", "axes.labelsize": "medium"}

    @property
    def max_figure_width(self) -> float:
        """The widest figure, in inches, that the page shows at full size."""
        return PAGE_WIDTH_PX / self.dpi

    def px(self, points: float) -> float:
        """A font size in points as pixels on screen in this mode: ``MODES["default"].px(9) == 12.5``."""
        return points * self.dpi / 72


MODES = {
    "default": DisplayMode("default", font_size=10, dpi=100, line_width=1.5, widget_font="14px", widget_control_height="28px"),
    "presenter": DisplayMode("presenter", font_size=15, dpi=110, line_width=2.5, widget_font="22px",
                             widget_control_height="40px", min_text_px=18.0),
    "compact": DisplayMode("compact", font_size=9, dpi=96, line_width=1.0, widget_font="12px", widget_control_height="24px"),
}

_current = MODES["default"]  # the mode set by the last set_display_mode call
_shown: weakref.WeakSet = weakref.WeakSet()  # every themed widget box, restyled when the mode changes
_redraws: list = []  # weak references to the widgets' own "redraw in the new mode" methods
_numbers = itertools.count()  # each themed box gets a class of its own, so its style applies to it alone


def current_display_mode() -> DisplayMode:
    """The mode set by the last :func:`set_display_mode` (``default`` until then)."""
    return _current


def check_mode(name: str) -> DisplayMode:
    if name not in MODES:
        raise LabError(f"There is no display mode {name!r}: use one of {', '.join(map(repr, MODES))}.")
    return MODES[name]


def set_display_mode(name: str):
    """Switch gpt2lab's figures and widgets to ``"presenter"``, ``"compact"`` or ``"default"`` sizes.

    Widgets already shown are restyled (and redraw their figures) at once; figures drawn from now on use
    the new sizes. Returns an ``IPython.display.HTML`` with the style and one line saying so. matplotlib's
    own defaults are left as they are.
    """
    global _current
    from IPython.display import HTML

    _current = check_mode(name)
    restyle_shown_widgets()
    return HTML(widget_css(_current) + f'<div style="color:#666">gpt2lab display mode: <b>{_current.name}</b> '
                f"(widgets already shown are restyled; figures drawn from now on use it)</div>")


@contextlib.contextmanager
def display_mode(name: str):
    """Use a display mode only inside a ``with`` block: ``with display_mode("presenter"): pattern_heatmap(...)``."""
    global _current
    previous, _current = _current, check_mode(name)
    try:
        yield _current
    finally:
        _current = previous


def widget_css(mode: DisplayMode | None = None, scope: str = ".gpt2lab") -> str:
    """A ``<style>`` block that sizes every gpt2lab widget (under ``scope``) for ``mode``.

    ipywidgets sizes its controls with CSS variables; setting them in ``em`` makes every label, slider and
    button grow with the text, so nothing is cut short in any mode.
    """
    mode = mode or _current
    font, height = mode.widget_font, mode.widget_control_height
    text = ", ".join(f"{scope} {s}" for s in (".widget-label", ".widget-label-basic", ".widget-html-content", "button",
                                               "input", "select", "textarea", ".widget-readout", "table"))
    return (
        "<style>"
        f"{scope} {{ --jp-widgets-font-size: {font}; --jp-widgets-inline-height: {height}; "
        "--jp-widgets-inline-label-width: 6em; --jp-widgets-inline-width: 24em; "
        "--jp-widgets-inline-width-short: 11em; --jp-widgets-inline-width-tiny: 5em; "
        f"--jp-widgets-slider-handle-size: calc({height} * 0.55); font-size: {font}; max-width: 100%; }}"
        f"{scope}, {text} {{ font-size: {font} !important; }}"
        f"{scope} button, {scope} .widget-dropdown select, {scope} .widget-text input {{ min-height: {height}; }}"
        # a label, button or readout is never narrower than its text: a set width is a minimum, for alignment
        f"{scope} .widget-label, {scope} .widget-label-basic, {scope} .jupyter-button, {scope} .widget-readout "
        "{ min-width: max-content; }"
        f"{scope} .widget-button, {scope} .widget-toggle-button {{ width: auto; padding: 0 0.6em; }}"
        f"{scope} .widget-checkbox {{ width: auto; }}"
        f"{scope} .widget-html-content {{ max-width: 100%; overflow-wrap: break-word; }}"
        f"{scope} code {{ font-size: 0.95em !important; }}"  # JupyterLab draws code smaller than the text around it
        f"{scope} input[type=checkbox] {{ width: 0.9em; height: 0.9em; }}"
        f"{scope} img {{ max-width: 100%; height: auto; }}"
        "</style>"
    )


def themed(box, redraw=None):
    """Mark a widget's top-level box as a gpt2lab widget and give it the current mode's style inside.

    The style travels inside the widget, so the sizes hold in Colab too; it is scoped to this box (a
    class of its own) and updated by :func:`set_display_mode`, which also calls ``redraw()`` (a bound
    method, held weakly), so a widget can redraw its figures at the new size.
    """
    import ipywidgets as widgets

    own = f"gpt2lab-{next(_numbers)}"
    box.add_class("gpt2lab")
    box.add_class(own)
    box._gpt2lab_scope = f".gpt2lab.{own}"  # two classes: this box's style wins over any page-wide one
    box.children = (widgets.HTML(widget_css(scope=box._gpt2lab_scope)), *box.children)
    _shown.add(box)
    if redraw is not None:
        _redraws.append(weakref.WeakMethod(redraw))
    return box


def restyle_shown_widgets() -> None:
    """Give every themed widget still alive the current mode's style, and let it redraw its figures."""
    for box in list(_shown):
        if box.children and getattr(box, "_gpt2lab_scope", None):
            box.children[0].value = widget_css(scope=box._gpt2lab_scope)
    alive = []
    for ref in _redraws:
        method = ref()
        if method is not None:
            alive.append(ref)
            method()
    _redraws[:] = alive
