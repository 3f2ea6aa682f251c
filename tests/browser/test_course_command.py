"""The README's ``gpt2lab course``, started as a learner starts it (as root here): JupyterLab answers on 127.0.0.1,
the first notebook opens in Chromium, and stopping the command by its PID stops JupyterLab."""

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

from browser_fixtures import ARTIFACTS, ROOT, free_port, needs_browser, write_settings  # the fixtures come from conftest.py
from lab_driver import NOTEBOOK, wait_for_idle_kernel

pytestmark = needs_browser

ADDRESS = re.compile(r"gpt2lab: the course is open at (http://127\.0\.0\.1:(\d+)/lab/tree/00_start_here\.ipynb\?token=(\w+))")


def answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2)
        return True
    except OSError:
        return False


def test_course_command_serves_the_course_and_opens_the_first_notebook(tmp_path, page):
    folder, port = tmp_path / "course", free_port()
    settings = tmp_path / "settings"
    write_settings(settings)  # no news toasts; the command line itself is the learner's
    env = dict(os.environ, HF_HUB_OFFLINE="1", JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"))
    env.pop("MPLBACKEND", None)
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
        page.goto(url)
        page.wait_for_selector(f"{NOTEBOOK} .jp-Notebook .jp-Cell", timeout=90_000)
        wait_for_idle_kernel(page, 90_000)
        assert page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel").first.inner_text() == "00_start_here.ipynb"
        assert "gpt2lab" in page.locator(NOTEBOOK).inner_text()  # the notebook's own text, rendered
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "course-command.png"))
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


def jupyterlab_pid(parent: int) -> int:
    """The PID of the course command's JupyterLab child."""
    children = open(f"/proc/{parent}/task/{parent}/children").read().split()
    return next(int(c) for c in children if "jupyterlab" in open(f"/proc/{c}/cmdline").read())
