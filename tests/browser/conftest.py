"""The browser suite's fixtures, registered once for every module in this folder: one Chromium and one
JupyterLab for the whole session (a sync Playwright per module would clash with the first one's loop).

The fixtures themselves live in browser_fixtures.py, beside the helpers the test modules import from it."""

from browser_fixtures import browser, jupyter, page, shut_down_kernels  # noqa: F401 (fixtures)
