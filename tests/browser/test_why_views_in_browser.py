"""Notebook 05 (why this token) in a real JupyterLab in Chromium: it runs without errors, the surprisal
text is coloured and opens its alternatives on click, and the attribution and patching figures are shown."""

from __future__ import annotations

from browser_fixtures import ARTIFACTS, needs_browser  # the fixtures come from conftest.py
from lab_driver import NOTEBOOK, all_cells_ran, count, error_outputs, open_notebook, run_all_cells, widget_problems

pytestmark = needs_browser


def test_why_this_token_notebook_renders_its_views(jupyter, page):
    open_notebook(page, jupyter, "07_why_this_token.ipynb")
    run_all_cells(page)
    ARTIFACTS.mkdir(exist_ok=True)
    assert error_outputs(page) == []
    assert all_cells_ran(page), "some cells did not run"
    assert widget_problems(page) == []
    # the surprisal views: the plain output, the side-by-side comparison, and the widget's own view
    assert count(page, ".gpt2lab-surprisal") >= 3
    assert count(page, ".gpt2lab-surprisal-view .gpt2lab-surprisal-token") > 0
    token = page.locator(f"{NOTEBOOK} .gpt2lab-surprisal details.gpt2lab-surprisal-token").first
    token.scroll_into_view_if_needed()
    assert token.locator("summary").get_attribute("title").startswith("p = ")
    assert not token.evaluate("el => el.open")
    token.locator("summary").click()  # a click opens the alternatives
    assert token.evaluate("el => el.open") and "expected:" in token.inner_text()
    page.screenshot(path=str(ARTIFACTS / "05-surprisal.png"))
    # figures (attribution bars, head heatmap, patching heatmap) came out as images
    assert count(page, ".jp-OutputArea-output img") >= 3
    # the attention explorer's head switch and the stepper's why-this-token panel are live widgets
    assert count(page, ".jupyter-widgets .gpt2lab-ablation") >= 1
    bars = page.locator(f"{NOTEBOOK} .gpt2lab-why-bars img")
    assert bars.count() == 1
    bars.first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "05-why-panel.png"))
