"""Every notebook, run top to bottom in a real JupyterLab in Chromium: no errors, every widget rendered."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ARTIFACTS, ROOT
from lab_driver import all_cells_ran, count, error_outputs, open_notebook, run_all_cells, widget_problems, NOTEBOOK

NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))

# What each notebook must show once run: matplotlib figures (as images) and live widgets.
SHOWS_FIGURES = {"02_embeddings", "03_masked_self_attention", "04_transformer_block", "05_logits_and_sampling",
                 "06_autoregressive_generation", "07_model_sizes", "08_fine_tuning"}
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
