"""A real JupyterLab, started on 127.0.0.1 for the browser tests, and Debian's Chromium driven by Playwright.

tests/browser/conftest.py registers the fixtures once for the whole folder (one Chromium, one JupyterLab per
session); the test modules import the helpers below by name.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts"


def browser_available() -> str | None:
    """Why the browser suite cannot run here, or None if it can."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (pip install playwright)"
    return None


# Outside CI a machine without Chromium skips the suite; in CI it must run, so it fails loudly instead.
needs_browser = pytest.mark.skipif(browser_available() is not None and not os.environ.get("CI"),
                                   reason=str(browser_available()))


def write_settings(folder: Path) -> None:
    """JupyterLab settings for testing: every cell in the page (no windowing), no news toasts."""
    import json

    files = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
    }
    for name, value in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def jupyter(tmp_path_factory):
    """JupyterLab serving a copy of the notebooks (so running them never writes into the repo)."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    port, token = free_port(), secrets.token_hex(16)
    settings = root / "settings"
    write_settings(settings)
    env = dict(os.environ, HF_HUB_OFFLINE="1", JUPYTER_CONFIG_DIR=str(root / "config"),
               JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(root / "workspaces"))
    env.pop("MPLBACKEND", None)  # the kernel must use Jupyter's inline backend
    log = open(root / "jupyter.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", f"--ServerApp.token={token}",
         "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={root}", "--allow-root",
         "--LabApp.news_url=", "--ServerApp.open_browser=False"],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError("JupyterLab did not start: " + (root / "jupyter.log").read_text()[-2000:])
                time.sleep(0.5)
        yield {"base": base, "token": token, "root": root}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # our own server, by its PID (and its kernels with it)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(autouse=True)
def shut_down_kernels(request):
    """After each test that used the session's JupyterLab, shut its kernels down: every notebook opened starts
    one, and a kernel holding a model stays in memory until it is shut down (a dozen would fill this machine)."""
    yield
    if "jupyter" not in request.fixturenames:
        return
    import json

    lab = request.getfixturevalue("jupyter")
    with urllib.request.urlopen(f"{lab['base']}/api/kernels?token={lab['token']}", timeout=10) as answer:
        kernels = json.load(answer)
    for kernel in kernels:
        urllib.request.urlopen(urllib.request.Request(f"{lab['base']}/api/kernels/{kernel['id']}?token={lab['token']}",
                                                      method="DELETE"), timeout=30)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()
