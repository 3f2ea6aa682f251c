"""Every notebook, run top to bottom in a real JupyterLab in Chromium: no errors, every widget rendered."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from browser_fixtures import ARTIFACTS, ROOT, needs_browser  # the fixtures come from conftest.py
from lab_driver import all_cells_ran, count, error_outputs, open_notebook, run_all_cells, widget_problems, NOTEBOOK

pytestmark = needs_browser

NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))

# What each notebook must show once run: matplotlib figures (as images) and live widgets.
SHOWS_FIGURES = {"02_embeddings", "03_masked_self_attention", "04_transformer_block", "05_logits_and_sampling",
                 "06_autoregressive_generation", "08_model_sizes", "10_fine_tuning"}
SHOWS_WIDGETS = {"00_start_here", "01_tokenization", "03_masked_self_attention", "05_logits_and_sampling",
                 "06_autoregressive_generation"}


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_and_renders_in_jupyterlab(name, jupyter, page):
    open_notebook(page, jupyter, name)
    run_all_cells(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{Path(name).stem}.png"))
    assert error_outputs(page) == []
    assert all_cells_ran(page), "some cells did not run"
    assert widget_problems(page) == []
    # Figures came out as images, and widgets as live views (not their text fallback).
    stem = Path(name).stem
    if stem in SHOWS_FIGURES:
        assert count(page, ".jp-OutputArea-output img") > 0
        page.locator(f"{NOTEBOOK} .jp-OutputArea-output img").first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"{stem}-figure.png"))
    if stem in SHOWS_WIDGETS:
        assert count(page, ".jupyter-widgets") > 0
        first = page.locator(f"{NOTEBOOK} .jupyter-widgets").first
        first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"{Path(name).stem}-widget.png"))


def test_generation_stepper_steps_and_branches_in_the_browser(jupyter, page):
    """Step three times: three more tokens and a new chart; click a candidate: the newest token is replaced."""
    open_notebook(page, jupyter, "06_autoregressive_generation.ipynb")
    run_all_cells(page)
    widget = page.locator(f"{NOTEBOOK} .gpt2lab").filter(has=page.locator(".gpt2lab-next-token-chart")).first
    widget.scroll_into_view_if_needed()
    generated = widget.locator(".gpt2lab-text-so-far span[title^='generated token']")
    chart = widget.locator(".gpt2lab-next-token-chart")
    step = widget.locator("button.jupyter-button", has_text=re.compile(r"^\s*Step\s*$"))
    before, chart_before = generated.count(), chart.inner_html()
    for i in range(3):
        step.click()
        page.wait_for_function(
            "([el, n]) => el.querySelectorAll(\"span[title^='generated token']\").length === n",
            arg=[widget.locator(".gpt2lab-text-so-far").element_handle(), before + i + 1], timeout=30_000,
        )
    assert generated.count() == before + 3
    assert chart.inner_html() != chart_before
    ARTIFACTS.mkdir(exist_ok=True)
    widget.screenshot(path=str(ARTIFACTS / "stepper-after-3-steps.png"))
    # Take another candidate instead of the sampled one: a branch, marked as chosen by hand.
    candidate = widget.locator("button.gpt2lab-candidate:not(.mod-warning)").first
    candidate.click()
    widget.locator(".gpt2lab-text-so-far span[title$='(chosen by hand)']").wait_for(timeout=30_000)
    assert generated.count() == before + 3
    assert widget.locator("select option").count() >= 2  # the branch list now holds both paths
    widget.screenshot(path=str(ARTIFACTS / "stepper-after-branch.png"))
