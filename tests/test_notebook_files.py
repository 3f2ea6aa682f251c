"""The course's notebooks as files: valid nbformat 4.5 (every cell with its own id), committed with outputs
cleared, and no notebook that keeps files where they outlive the kernel.

nbformat warns of a missing cell id today ("will become a hard error in future nbformat versions"), and
notebook 10 once left its checkpoints (1 to 13 GB at GPT-2's sizes) in the temporary directory after every
run, until the disk filled. The root conftest.py also checks, after each notebook runs, that it left no
folder behind.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_valid_with_unique_cell_ids(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)  # raises on a schema error
    ids = [cell.get("id") for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]]
    assert None not in ids, f"{path.name}: a cell without an id"
    assert len(set(ids)) == len(ids), f"{path.name}: two cells share an id"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_with_outputs_cleared(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert code
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_files_go_where_the_kernel_cleans_up(path):
    # mkdtemp's folder outlives the kernel; tempfile.TemporaryDirectory's is deleted when the kernel stops
    source = "\n".join("".join(c["source"]) for c in json.loads(path.read_text(encoding="utf-8"))["cells"])
    assert not re.search(r"\bmkdtemp\(", source), f"{path.name} makes a temporary folder nobody deletes"
