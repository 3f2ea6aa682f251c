"""Colab: every notebook's first code cell, folded away under the title, installs the kit only inside Colab;
the wheel carries the embedded model."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("colab_sync", Path(__file__).resolve().parents[1] / "scripts" / "colab_sync.py")
colab = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(colab)  # repository tooling, outside the package

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def first_cell(path: Path) -> str:
    """The source of the notebook's first code cell: the Colab set-up cell, right under the title."""
    cells = json.loads(path.read_text())["cells"]
    assert cells[0]["cell_type"] == "markdown" and "".join(cells[0]["source"]).startswith("# "), \
        f"{path.name}: the first cell must be the notebook's title"
    cell = cells[1]
    assert cell["cell_type"] == "code", f"{path.name}: the cell under the title must be the Colab setup cell"
    assert cell["metadata"].get("jupyter", {}).get("source_hidden") is True, "its code is folded away"
    return "".join(cell["source"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_starts_with_the_current_colab_cell(path):
    assert first_cell(path) == colab.colab_cell_source(), "run `python scripts/colab_sync.py` to update the notebooks"
    assert max(map(len, colab.colab_cell_source().splitlines())) <= colab.MAX_LINE  # no horizontal scrollbar


def run_cell(source: str, monkeypatch, in_colab: bool) -> list:
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append((cmd, kw)))
    if in_colab:
        monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(source, "<colab cell>", "exec"), {})
    return calls


def test_the_colab_cell_installs_the_kit_inside_colab_only(monkeypatch):
    source = first_cell(NOTEBOOKS[0])
    calls = run_cell(source, monkeypatch, in_colab=True)
    assert len(calls) == 1
    cmd, kw = calls[0]
    assert cmd[:4] == [sys.executable, "-m", "pip", "install"] and kw == {"check": True}
    assert cmd[-1] == f"gpt2lab @ git+https://github.com/{colab.REPO}@{colab.BRANCH}"
    assert not any("torch" in part for part in cmd)  # Colab keeps its own torch
    assert run_cell(source, monkeypatch, in_colab=False) == []


def test_readme_has_a_colab_badge_for_every_notebook():
    readme = (ROOT / "README.md").read_text()
    for path in NOTEBOOKS:
        assert colab.badge_markdown(path.name) in readme, "run `python scripts/colab_sync.py` to update the README"


def test_the_repository_address_lives_in_one_place():
    tracked = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    hits = [ROOT / p for p in tracked if f'"{colab.REPO}"' in (ROOT / p).read_text()]
    assert [p.relative_to(ROOT).as_posix() for p in hits] == ["scripts/colab_sync.py"]


def test_the_wheel_carries_the_embedded_model_and_gpt2_tokenizer(tmp_path):
    source = tmp_path / "src"  # build from a copy: a build writes build/ and *.egg-info/ next to the sources
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv*", ".git", "build", "runs", "test-artifacts", "*.egg-info"))
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    (wheel,) = tmp_path.glob("gpt2lab-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ["gpt2lab/assets/tiny/config.json", "gpt2lab/assets/tiny/model.safetensors",
                   "gpt2lab/assets/gpt2_tokenizer/vocab.json", "gpt2lab/assets/gpt2_tokenizer/merges.txt"]:
        assert needed in names, f"{needed} is missing from the wheel"
    assert not any(n.startswith(("tests/", "notebooks/")) for n in names)
