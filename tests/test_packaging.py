"""Packaging: environment.yml agrees with pyproject.toml, CI runs the README's commands, the wheel is the course,
doctests pass."""

from __future__ import annotations

import doctest
import importlib
import json
import os
import re
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_lists_the_same_packages_as_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    packages = [p for p in pip_section if not p.startswith("-e")]
    assert sorted(packages) == sorted(pyproject()["project"]["dependencies"])
    assert any(p.startswith("-e .") for p in pip_section)  # and installs the kit itself
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    minimum = pyproject()["project"]["requires-python"].removeprefix(">=")
    assert tuple(map(int, python.split("=")[-1].split("."))) >= tuple(map(int, minimum.split(".")))


def test_torch_requirement_is_satisfied_by_the_local_cpu_build():
    from packaging.requirements import Requirement

    torch_req = next(Requirement(r) for r in pyproject()["project"]["dependencies"] if r.startswith("torch"))
    assert torch_req.specifier.contains("2.13.0")


def readme_command(marker: str) -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(rf"<!-- {marker} -->\s*```bash\n(.+?)\n```", text, re.S)
    assert match, f"README.md must mark its command with <!-- {marker} -->"
    return match.group(1).strip()


def readme_test_command() -> str:
    return readme_command("test-command")


def readme_course_command() -> str:
    return readme_command("course-command")


def ci_lines() -> list[str]:
    return [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]


def test_ci_runs_the_readme_test_command():
    """The whole command, verbatim, on a line of its own (after `if`, so CI still runs the benchmark when a test fails)."""
    command = readme_test_command()
    assert command.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install") and command.endswith("python -m pytest")
    assert any(line in (command, f"if {command}; then") for line in ci_lines()), f"{command!r} is not a line of .ci/run"


def test_ci_runs_the_readme_course_command_install_part():
    command = readme_course_command()
    install, _, opens = command.rpartition(" && ")
    assert opens == "gpt2lab course" and install.endswith("pip install -e .")
    assert install in ci_lines(), f"{install!r} is not a line of .ci/run"
    assert "torch==" not in (ROOT / ".ci" / "run").read_text()  # CI takes whatever pip resolves, as a newcomer does


def test_the_console_command_is_declared():
    assert pyproject()["project"]["scripts"] == {"gpt2lab": "gpt2lab.apps.cli:main"}


# --- the course the command copies ---------------------------------------------------------------------------


def test_course_copies_every_notebook_and_keeps_the_learners_changes(tmp_path):
    from gpt2lab.apps.course import MANIFEST, copy_course, shipped_notebooks

    source = tmp_path / "shipped"
    source.mkdir()
    def notebook(text, outputs=()):
        return json.dumps({"cells": [{"cell_type": "code", "source": [text], "outputs": list(outputs), "execution_count": None}],
                           "metadata": {}, "nbformat": 4, "nbformat_minor": 5})

    for name in ("00_a.ipynb", "01_b.ipynb", "02_c.ipynb"):
        (source / name).write_text(notebook(f"print('{name}')"))
    folder = tmp_path / "course"
    first = copy_course(folder, source)
    assert first.copied == ["00_a.ipynb", "01_b.ipynb", "02_c.ipynb"] and not (first.updated or first.unchanged or first.kept)
    assert all((folder / n).read_bytes() == (source / n).read_bytes() for n in first.copied)
    # the learner runs 00 (outputs saved) and edits 01; a new version of the kit changes 01 and 02
    ran = notebook("print('00_a.ipynb')", [{"output_type": "stream", "name": "stdout", "text": ["00_a.ipynb\n"]}])
    (folder / "00_a.ipynb").write_text(ran)
    (folder / "01_b.ipynb").write_text(notebook("my own code"))
    (source / "01_b.ipynb").write_text(notebook("version 2"))
    (source / "02_c.ipynb").write_text(notebook("version 2"))
    second = copy_course(folder, source)
    assert second.unchanged == ["00_a.ipynb"] and second.updated == ["02_c.ipynb"] and second.copied == []
    assert second.kept == [("01_b.ipynb", "01_b.fresh.ipynb")]
    assert (folder / "00_a.ipynb").read_text() == ran  # the outputs stay
    assert (folder / "01_b.ipynb").read_text() == notebook("my own code")  # never overwritten
    assert (folder / "01_b.fresh.ipynb").read_text() == notebook("version 2") == (folder / "02_c.ipynb").read_text()
    assert second.lines() == ["kept your changed 01_b.ipynb; the fresh copy is 01_b.fresh.ipynb",
                              "0 notebooks copied, 1 updated, 1 already up to date, 1 kept as you changed them"]
    # still the learner's on a third run, even though a fresh copy already exists
    assert copy_course(folder, source).kept == [("01_b.ipynb", "01_b.fresh.ipynb")]
    assert (folder / "01_b.ipynb").read_text() == notebook("my own code") and MANIFEST in os.listdir(folder)
    # in this (editable) checkout the shipped notebooks are the repository's
    assert sorted(p.name for p in shipped_notebooks().glob("*.ipynb")) == sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))


def test_course_copy_only_from_the_command_line(tmp_path, capsys):
    from gpt2lab.apps.cli import main

    assert main(["course", "--copy-only", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert f"the course is in {tmp_path / 'c'}" in out and "notebooks copied" in out
    assert sorted(os.listdir(tmp_path / "c")) == sorted([".gpt2lab-course.json"] + [p.name for p in (ROOT / "notebooks").glob("*.ipynb")])


def test_course_jupyterlab_command_is_local_and_root_safe(tmp_path):
    from gpt2lab.apps.course import FIRST_NOTEBOOK, jupyterlab_command

    command = jupyterlab_command(tmp_path, 8899, "abc", open_browser=False)
    assert command[:4] == [sys.executable, "-m", "jupyterlab", FIRST_NOTEBOOK]
    assert {"--ServerApp.ip=127.0.0.1", "--ServerApp.port=8899", "--ServerApp.port_retries=0",
            "--IdentityProvider.token=abc", "--no-browser", f"--ServerApp.root_dir={tmp_path}"} <= set(command)
    assert ("--allow-root" in command) == (os.geteuid() == 0)
    assert "--no-browser" not in jupyterlab_command(tmp_path, 8899, "abc", open_browser=True)


def test_course_refuses_a_taken_port_in_one_line(tmp_path, capsys):
    import socket

    from gpt2lab.apps.cli import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["course", "--no-browser", "--port", str(port), str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"gpt2lab: port {port} is taken; choose another with --port, or leave --port out"]


def test_ctrl_c_stops_the_course_and_its_jupyterlab(tmp_path):
    """Ctrl-C (SIGINT to the command) stops JupyterLab, which runs as the command's child, and exits cleanly."""
    import signal
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, HF_HUB_OFFLINE="1", JUPYTER_CONFIG_DIR=str(tmp_path / "config"), PYTHONPATH=str(ROOT))
    # started with SIGINT ignored, as a script's background job inherits it: Ctrl-C must still stop the course
    proc = subprocess.Popen([sys.executable, "-m", "gpt2lab", "course", "--no-browser", "--port", str(port), str(tmp_path / "c")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    lines = []
    try:
        for line in proc.stdout:  # JupyterLab logs little before it answers; the command prints its address then
            lines.append(line)
            if "the course is open at" in line:
                break
        address = "".join(lines).split("the course is open at ")[1].split()[0]
        token = address.split("token=")[1]
        assert address.startswith(f"http://127.0.0.1:{port}/lab/tree/00_start_here.ipynb?token=")
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=5)
        proc.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal sends
        rest = proc.communicate(timeout=60)[0]  # to the end: the command and JupyterLab have exited
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0 and "stopping JupyterLab" in rest, "".join(lines) + rest
    time.sleep(0.5)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2)


# --- the wheel is the course -----------------------------------------------------------------------------------


def source_tree(dest: Path) -> Path:
    """The repository's tracked files (as a fresh clone has them, plus uncommitted edits), copied to ``dest``."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            (dest / name).write_bytes((ROOT / name).read_bytes())
    return dest


@pytest.mark.slow
def test_the_wheel_is_the_course(tmp_path):
    """Build the wheel, install it (not editable) in a fresh venv, copy the course with its command, run a notebook."""
    if not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to list the source files")
    source = source_tree(tmp_path / "src")
    # no build isolation: the outer environment's setuptools builds it, so nothing is downloaded
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"),
                    str(source)], check=True, capture_output=True, timeout=300)
    wheel = next((tmp_path / "dist").glob("gpt2lab-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    new_site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True, check=True).stdout.strip()
    # the outer environment's packages (torch, transformers, jupyter, pip ...) after the venv's own: plain path lines,
    # so the outer editable gpt2lab's finder (a .pth of its own) is not loaded
    outer = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    Path(new_site, "outer-environment.pth").write_text("\n".join(dict.fromkeys(outer)) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(HF_HUB_OFFLINE="1", PATH=f"{venv / 'bin'}:{env.get('PATH', '')}", OMP_NUM_THREADS="1")
    env.pop("GPT2LAB_MODEL", None)
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed", str(wheel)],
                   check=True, capture_output=True, env=env, cwd=tmp_path, timeout=300)
    where = subprocess.run([python, "-c", "import gpt2lab; print(gpt2lab.__file__)"], capture_output=True, text=True,
                           env=env, cwd=tmp_path, check=True).stdout.strip()
    assert Path(where).is_relative_to(venv), where  # gpt2lab comes from the wheel, not from this checkout
    course = tmp_path / "my course"
    run = subprocess.run([venv / "bin" / "gpt2lab", "course", "--copy-only", str(course)], capture_output=True,
                         text=True, env=env, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    shipped = {p.name: p.read_bytes() for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert {p.name: p.read_bytes() for p in course.glob("*.ipynb")} == shipped and len(shipped) >= 9
    # one notebook, run top to bottom from the copied folder in the new venv's own kernel (plus a last cell that
    # says where that kernel's gpt2lab comes from)
    script = ("import sys, nbformat, nbclient; nb = nbformat.read(sys.argv[1], as_version=4); "
              "nb.cells.append(nbformat.v4.new_code_cell('import gpt2lab; print(gpt2lab.__file__)')); "
              "nbclient.NotebookClient(nb, timeout=600, kernel_name='python3', resources={'metadata': {'path': sys.argv[2]}}).execute(); "
              "nbformat.write(nb, sys.argv[1])")
    run = subprocess.run([python, "-c", script, str(course / "01_tokenization.ipynb"), str(course)], capture_output=True,
                         text=True, env=env, cwd=tmp_path, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    executed = json.loads((course / "01_tokenization.ipynb").read_text())
    code = [c for c in executed["cells"] if c["cell_type"] == "code"]
    assert all(c["execution_count"] for c in code)
    assert not [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
    shown = json.dumps([c["outputs"] for c in code])
    assert "BPETokenizer(50257 tokens, 50000 merges)" in shown  # GPT-2's tokenizer, from the wheel's assets
    kernel_gpt2lab = "".join(code[-1]["outputs"][0]["text"]).strip()
    assert Path(kernel_gpt2lab).is_relative_to(venv), kernel_gpt2lab


def every_module() -> list[str]:
    """Every module of the package (the command-line entry point aside, which runs on import)."""
    import pkgutil

    import gpt2lab

    return sorted(m.name for m in pkgutil.walk_packages(gpt2lab.__path__, "gpt2lab.") if not m.name.endswith("__main__"))


def test_every_module_is_found():
    assert {"gpt2lab.model.attention", "gpt2lab.tokenizer.bpe", "gpt2lab.generation.sampling",
            "gpt2lab.analysis.logit_lens", "gpt2lab.training.optim", "gpt2lab.viz.labels"} <= set(every_module())


@pytest.mark.parametrize("name", every_module())
def test_docstring_examples_are_true(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
