"""Notebook 00's course map renders as a table (one row per notebook, two cells each) and matches COURSE."""

from __future__ import annotations

import json
import re
from pathlib import Path

from markdown_it import MarkdownIt

from gpt2lab.exercises.start_here import COURSE

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"


def test_course_map_renders_and_lists_every_notebook():
    nb = json.loads((NOTEBOOKS / "00_start_here.ipynb").read_text(encoding="utf-8"))
    cell = next("".join(c["source"]) for c in nb["cells"] if "| notebook | what you will see |" in "".join(c["source"]))
    html = MarkdownIt("commonmark").enable("table").render(cell)
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)[1:]
    assert [len(re.findall(r"<td", r)) for r in rows] == [2] * len(COURSE)  # a bare | inside a cell would split it
    numbers = [re.search(r"<strong>(\d\d) ", r).group(1) for r in rows]
    assert numbers == sorted(COURSE) == [f"{i:02d}" for i in range(12)]
    assert any("<code>&lt;|endoftext|&gt;</code>" in r for r in rows)


def test_course_stems_are_the_notebooks():
    present = {p.stem for p in NOTEBOOKS.glob("*.ipynb")}
    missing = {stem for stem, _ in COURSE.values()} - present
    assert not missing
