"""The README's ``gpt2lab course``, started as a learner starts it (as root here): JupyterLab answers on 127.0.0.1,
the first notebook opens in Chromium alone, with no news or update pop-up (the course's own JupyterLab defaults),
and stopping the command by its PID stops JupyterLab. Started a second time, it opens 00 alone again."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from browser_fixtures import ARTIFACTS, ROOT, free_port, needs_browser  # the fixtures come from conftest.py
from lab_driver import NOTEBOOK, wait_for_idle_kernel

pytestmark = needs_browser

FIRST = "00_start_here.ipynb"
ADDRESS = re.compile(r"gpt2lab: the course is open at (http://127\.0\.0\.1:(\d+)/lab/tree/00_start_here\.ipynb\?token=(\w+))")


def answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2)
        return True
    except OSError:
        return False


TABS = ".lm-DockPanel-tabBar .lm-TabBar-tab .lm-TabBar-tabLabel"
TOASTS = ".jp-Notification-Toast, .Toastify__toast"  # JupyterLab's pop-up notifications


def test_course_command_serves_the_course_and_opens_the_first_notebook(tmp_path, page):
    folder = tmp_path / "course"
    # a learner's own, empty JupyterLab settings: the course itself must turn the news question off
    env = dict(os.environ, HF_HUB_OFFLINE="1", JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"))
    env.pop("MPLBACKEND", None)
    env.pop("JUPYTER_CONFIG_PATH", None)
    first = run_course(folder, env, tmp_path, page, open_another="01_tokenization.ipynb")
    assert first == ["00_start_here.ipynb", "01_tokenization.ipynb"]  # the learner opened a second notebook
    again = run_course(folder, env, tmp_path, page)
    assert again == ["00_start_here.ipynb"]  # a fresh start: 00 alone, not the tabs of the last session


def run_course(folder, env, tmp_path, page, open_another: str | None = None) -> list[str]:
    """Start ``gpt2lab course``, open its address, check the first view, stop it; return the open tabs."""
    port = free_port()
    # python -m gpt2lab is the `gpt2lab` console command of this checkout (tests/test_packaging.py runs the script itself)
    proc = subprocess.Popen([sys.executable, "-m", "gpt2lab", "course", "--no-browser", "--port", str(port), str(folder)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path)
    lines: list[str] = []  # read all along, so JupyterLab's log never fills the pipe
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        deadline = time.time() + 120
        while not (match := ADDRESS.search("".join(lines))):
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail("gpt2lab course did not print its address:\n" + "".join(lines)[-3000:])
            time.sleep(0.2)
        url, printed_port, token = match.group(1), int(match.group(2)), match.group(3)
        assert printed_port == port and len(token) >= 32
        assert sorted(p.name for p in folder.glob("*.ipynb")) == sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
        assert answers(f"http://127.0.0.1:{port}/api/status?token={token}")
        assert not answers(f"http://127.0.0.1:{port}/api/contents?token=wrong")  # a token is needed
        if os.geteuid() == 0:
            assert "--allow-root" in open(f"/proc/{jupyterlab_pid(proc.pid)}/cmdline").read().split("\0")
        page.set_viewport_size({"width": 1280, "height": 800})  # a projector
        page.goto(url)
        page.wait_for_selector(f"{NOTEBOOK} .jp-Notebook .jp-Cell", timeout=90_000)
        wait_for_idle_kernel(page, 90_000)
        assert page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel").first.inner_text() == "00_start_here.ipynb"
        assert "gpt2lab" in page.locator(NOTEBOOK).inner_text()  # the notebook's own text, rendered
        time.sleep(3)  # the news question, when it comes, comes within a second or two of the page
        assert page.locator(TOASTS).count() == 0, page.locator(TOASTS).all_inner_texts()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "course-command.png"))
        if open_another:
            page.goto(url.replace(FIRST, open_another))
            page.wait_for_selector(f"{NOTEBOOK} .jp-Notebook .jp-Cell", timeout=90_000)
            time.sleep(2)  # JupyterLab saves its workspace (the open tabs) shortly after a change
        tabs = page.locator(TABS).all_inner_texts()
    finally:
        proc.send_signal(signal.SIGTERM)  # the course command, by its own PID: it stops JupyterLab
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(timeout=10)
    output = "".join(lines)
    assert proc.returncode == 0, output
    assert "stopping JupyterLab" in output
    assert not answers(f"http://127.0.0.1:{port}/api/status?token={token}")  # JupyterLab went with it
    return [t for t in tabs if t.endswith(".ipynb")]


def jupyterlab_pid(parent: int) -> int:
    """The PID of the course command's JupyterLab child."""
    children = open(f"/proc/{parent}/task/{parent}/children").read().split()
    return next(int(c) for c in children if "jupyterlab" in open(f"/proc/{c}/cmdline").read())
