"""The course as a lecture hall sees it: every notebook with widgets, run in JupyterLab in Chromium at a
projector's 1280x800, in the default and the presenter display mode.

Counted on each page (goal 0 for each):
  * cut-short labels: a widget label, button, checkbox label or readout whose text is wider than its box
    (``scrollWidth > clientWidth``: the browser shows "Tempera…" or clips it);
  * figures shrunk to fit: an output image drawn wider than the notebook, so the browser scales it down and
    its text with it;
  * outputs wider than the notebook: a table or view with a horizontal scrollbar.

Screenshots of every widget and every figure, in both modes, go to tests/browser/screenshots/ (git-ignored):
look at them. The presenter (and compact) run is the notebook with ``gpt2lab.set_display_mode("presenter")``
put in after the set-up cell; a second copy of notebook 06 calls it at the END instead, so the widgets already on
the page must grow too.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from browser_fixtures import ROOT, needs_browser  # the fixtures come from conftest.py
from lab_driver import NOTEBOOK, error_outputs, run_all_cells, wait_for_idle_kernel

pytestmark = needs_browser

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
PROJECTOR = {"width": 1280, "height": 800}
WITH_WIDGETS = ["00_start_here", "01_tokenization", "03_masked_self_attention", "05_logits_and_sampling",
                "06_autoregressive_generation", "07_why_this_token"]
MODE_CELL = 'import gpt2lab\ngpt2lab.set_display_mode("{mode}")'

# Every text a widget shows in a box of its own: labels, buttons (toggle buttons too), checkbox labels, readouts.
CUT_LABELS = """() => {
  const sel = ['.widget-label', '.widget-label-basic span', 'button', '.widget-readout', '.widget-checkbox label']
    .map(s => '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output ' + s).join(', ');
  return [...document.querySelectorAll(sel)]
    .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth)
    .map(e => (e.textContent || '').trim() || e.title || e.className);
}"""
SHRUNK_FIGURES = """() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output img')]
  .filter(img => img.offsetParent !== null && img.naturalWidth > img.clientWidth + 1)
  .map(img => `${img.naturalWidth}px shown at ${img.clientWidth}px: ${(img.alt || '').slice(0, 60)}`)"""
WIDE_OUTPUTS = """() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output *')]
  .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1
          && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX))
  .map(e => (e.textContent || '').trim().slice(0, 60))"""
# Anything drawn past the right edge of its output (bertviz's model view was 970 px wide in an 848 px output).
PAST_THE_EDGE = """() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output')]
  .flatMap(out => { const edge = out.getBoundingClientRect().right;
    return [...out.querySelectorAll('svg, table, img, canvas, iframe, .widget-box')]
      .filter(e => e.offsetParent !== null && e.getBoundingClientRect().width > 0 && e.getBoundingClientRect().right > edge + 2
              && !e.closest('svg svg, .jp-OutputArea-output svg g'))
      .map(e => `${e.tagName} ${Math.round(e.getBoundingClientRect().right - edge)} px past the edge`); })"""
WIDGET_FONT = """() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .gpt2lab .widget-label')]
  .filter(e => e.offsetParent !== null).map(e => parseFloat(getComputedStyle(e).fontSize))"""


def notebook_copy(root: Path, name: str, mode: str, at_end: bool = False) -> str:
    """A copy of the notebook in the served folder, in ``mode`` (the presenter cell after the set-up cell, or last)."""
    folder = root / f"notebooks-{mode}{'-at-end' if at_end else ''}"
    folder.mkdir(exist_ok=True)
    for data in (ROOT / "notebooks").iterdir():  # whatever a notebook reads beside it
        if data.is_file() and data.suffix != ".ipynb" and not (folder / data.name).exists():
            shutil.copy(data, folder / data.name)
    nb = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text())
    if mode != "default":
        cell = {"cell_type": "code", "execution_count": None, "id": "display-mode", "metadata": {}, "outputs": [],
                "source": MODE_CELL.format(mode=mode)}
        nb["cells"].insert(len(nb["cells"]) if at_end else 1, cell)
    (folder / f"{name}.ipynb").write_text(json.dumps(nb))
    return f"{folder.name}/{name}.ipynb"


@pytest.fixture
def projector(browser):
    context = browser.new_context(viewport=PROJECTOR)
    page = context.new_page()
    yield page
    context.close()


def open_at(page, jupyter, path: str) -> None:
    page.goto(f"{jupyter['base']}/lab/tree/{path}?reset&token={jupyter['token']}")
    page.wait_for_selector(f"{NOTEBOOK} .jp-Notebook .jp-Cell", timeout=90_000)
    wait_for_idle_kernel(page, 90_000)


def screenshots(page, name: str, mode: str) -> int:
    """Every widget, figure and HTML view of the page, one file each (whole, however tall); returns how many."""
    folder = SCREENSHOTS / mode
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"{name}-*.png"):
        old.unlink()
    page.locator(f"{NOTEBOOK} .jp-Cell").first.scroll_into_view_if_needed()
    page.screenshot(path=str(folder / f"{name}-first-screen.png"))
    outputs = page.locator(f"{NOTEBOOK} .jp-OutputArea-output").filter(
        has=page.locator(".jupyter-widgets.widget-vbox, img, table, iframe, svg, .gpt2lab-surprisal"))
    written = 1
    for i in range(outputs.count()):
        output = outputs.nth(i)
        height = output.evaluate("e => e.getBoundingClientRect().height")
        if height < 20:
            continue
        page.set_viewport_size({"width": PROJECTOR["width"], "height": int(min(max(PROJECTOR["height"], height + 160), 6000))})
        output.scroll_into_view_if_needed()
        kind = "widget" if output.locator(".jupyter-widgets").count() else "figure" if output.locator("img").count() else "view"
        output.screenshot(path=str(folder / f"{name}-{i:02d}-{kind}.png"))
        written += 1
    page.set_viewport_size(PROJECTOR)
    return written


def measure(page) -> dict:
    return {"cut": page.evaluate(CUT_LABELS), "shrunk": page.evaluate(SHRUNK_FIGURES),
            "wide": page.evaluate(WIDE_OUTPUTS) + page.evaluate(PAST_THE_EDGE)}


@pytest.mark.parametrize("mode", ["default", "presenter"])
@pytest.mark.parametrize("name", WITH_WIDGETS)
def test_every_label_whole_and_every_figure_fits_at_1280x800(name, mode, jupyter, projector):
    every_label_whole_and_every_figure_fits(name, mode, jupyter, projector)


@pytest.mark.parametrize("name", ["00_start_here", "06_autoregressive_generation"])
def test_compact_mode_too(name, jupyter, projector):
    every_label_whole_and_every_figure_fits(name, "compact", jupyter, projector)


def every_label_whole_and_every_figure_fits(name, mode, jupyter, projector):
    open_at(projector, jupyter, notebook_copy(jupyter["root"], name, mode))
    run_all_cells(projector)
    assert error_outputs(projector) == []
    found = measure(projector)
    written = screenshots(projector, name, mode)
    print(f"{name} {mode}: {len(found['cut'])} cut labels {found['cut']}; {len(found['shrunk'])} shrunk figures "
          f"{found['shrunk']}; {len(found['wide'])} wide outputs {found['wide']}; {written} screenshots")
    assert found["cut"] == [], f"cut-short labels: {found['cut']}"
    assert found["shrunk"] == [], f"figures scaled down to fit: {found['shrunk']}"
    assert found["wide"] == [], f"outputs wider than the notebook: {found['wide']}"
    if mode == "presenter":
        assert min(projector.evaluate(WIDGET_FONT)) >= 20
    if name == "07_why_this_token":
        alternatives_open_over_the_text(projector, mode)


def alternatives_open_over_the_text(page, mode: str) -> None:
    """Clicking a token of the surprisal view opens its alternatives over the lines below: the sentence stays put."""
    view = page.locator(f"{NOTEBOOK} .gpt2lab-surprisal-view").first
    tokens = view.locator("details.gpt2lab-surprisal-token")
    tokens.nth(3).scroll_into_view_if_needed()
    after = [tokens.nth(i).bounding_box() for i in range(4, 8)]
    tokens.nth(3).locator("summary").click()
    assert tokens.nth(3).evaluate("el => el.open")
    assert [tokens.nth(i).bounding_box() for i in range(4, 8)] == after, "opening a token moved the words after it"
    popup = tokens.nth(3).locator("div").first
    seen = popup.evaluate("""el => { const r = el.getBoundingClientRect();
        const hit = document.elementFromPoint(r.left + r.width / 2, r.bottom - 4); return el.contains(hit); }""")
    assert seen, "the alternatives are hidden (clipped by the output around them)"
    box = view.bounding_box()
    page.screenshot(path=str(SCREENSHOTS / mode / "07_why_this_token-surprisal-open.png"),
                    clip={"x": box["x"], "y": box["y"], "width": box["width"], "height": box["height"] + 220})


def test_presenter_mode_enlarges_the_widgets_already_on_the_page(jupyter, projector):
    name = "06_autoregressive_generation"
    open_at(projector, jupyter, notebook_copy(jupyter["root"], name, "presenter", at_end=True))
    run_all_cells(projector)
    sizes = projector.evaluate(WIDGET_FONT)
    assert sizes and min(sizes) >= 20, f"widget label sizes after set_display_mode('presenter'): {sorted(set(sizes))}"
    found = measure(projector)
    assert found["cut"] == [], f"cut-short labels: {found['cut']}"
    projector.locator(f"{NOTEBOOK} .gpt2lab").first.scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(exist_ok=True)
    projector.screenshot(path=str(SCREENSHOTS / "presenter-set-last-06.png"))


def test_first_screen_shows_the_course_not_the_setup(jupyter, projector):
    """The first screen of notebook 00: the title first, the Colab set-up cell under it with its code folded away."""
    open_at(projector, jupyter, "notebooks/00_start_here.ipynb")
    first = projector.locator(f"{NOTEBOOK} .jp-Cell").first
    assert first.locator(".jp-MarkdownOutput h1").count() == 1, "the first cell is the title"
    setup = projector.locator(f"{NOTEBOOK} .jp-CodeCell").first
    assert "Colab setup" in setup.inner_text()  # one line says what it is ...
    assert setup.locator(".jp-InputPlaceholder").is_visible()  # ... and its code is folded away
    assert setup.locator(".jp-InputArea-editor").is_hidden()
    assert setup.bounding_box()["y"] + setup.bounding_box()["height"] < PROJECTOR["height"]  # on the first screen
    SCREENSHOTS.mkdir(exist_ok=True)
    projector.screenshot(path=str(SCREENSHOTS / "first-screen-00.png"))
