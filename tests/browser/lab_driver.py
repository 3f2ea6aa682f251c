"""Driving JupyterLab 4 from Playwright: open a notebook, run every cell, read what the page shows."""

from __future__ import annotations

import time

NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"

# Does every code cell of the visible notebook show an execution count, and is none still running? (A cell whose
# code is folded away, like the Colab set-up cell, shows no count: the counts after it say that it ran.)
ALL_CELLS_RAN = """() => {
  const prompts = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')]
    .filter(p => !p.closest('.jp-CodeCell').querySelector('.jp-InputPlaceholder'));
  return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
}"""
ANY_CELL_RUNNING = """() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')]
  .some(p => p.textContent.includes('[*]'))"""


def open_notebook(page, jupyter, name: str) -> None:
    page.goto(f"{jupyter['base']}/lab/tree/notebooks/{name}?reset&token={jupyter['token']}")
    page.wait_for_selector(f"{NOTEBOOK} .jp-Notebook .jp-Cell", timeout=90_000)
    wait_for_idle_kernel(page, 90_000)


def wait_for_idle_kernel(page, timeout_ms: int) -> None:
    page.wait_for_selector(".jp-StatusBar-TextItem:has-text('| Idle')", timeout=timeout_ms)


def run_all_cells(page, timeout_s: float = 300) -> None:
    """Run All Cells from the menu, then wait until no cell is running and the kernel is idle."""
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
    deadline = time.time() + timeout_s
    page.wait_for_function(ANY_CELL_RUNNING, timeout=30_000)
    while time.time() < deadline:
        if not page.evaluate(ANY_CELL_RUNNING) and page.locator(".jp-StatusBar-TextItem:has-text('| Idle')").count():
            time.sleep(1.0)  # outputs and widgets render just after the last cell finishes
            if not page.evaluate(ANY_CELL_RUNNING):
                return
        time.sleep(0.5)
    raise TimeoutError(f"cells were still running after {timeout_s} s")


def all_cells_ran(page) -> bool:
    return page.evaluate(ALL_CELLS_RAN)


def error_outputs(page) -> list[str]:
    """The text of every error shown by a cell (tracebacks) in the visible notebook."""
    sel = f"{NOTEBOOK} .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error'], " \
          f"{NOTEBOOK} .jp-RenderedText[data-mime-type='application/vnd.jupyter.error']"
    return [e.inner_text()[:500] for e in page.query_selector_all(sel)]


def widget_problems(page) -> list[str]:
    """Widgets that failed to render or are still loading."""
    text = page.locator(NOTEBOOK).inner_text()
    return [msg for msg in ("Error displaying widget", "Loading widget...", "Javascript Error") if msg in text]


def count(page, selector: str) -> int:
    return page.locator(f"{NOTEBOOK} {selector}").count()
