"""Every notebook the test suite runs (nbmake), in strict device mode on a CPU-only machine, and leaving no
temporary folder behind (notebook 10 once left 1-13 GB of checkpoints per run in /tmp, until the disk filled).

A kernel starts with this process's environment, and nbmake has no option for it, so the variable is set
around each notebook's run; here at the repository's root because ``pytest notebooks/X.ipynb`` alone
loads no conftest from tests/. See gpt2lab/strict_device.py and tests/test_strict_device.py for why.
"""

from __future__ import annotations

import os
import tempfile
from unittest import mock
from pathlib import Path

import pytest


def kit_temp_folders() -> set[str]:
    """The folders a notebook could make in the temporary directory: tempfile's (tmp*) and the kit's (gpt2lab-*).
    Files, and folders named otherwise, belong to other programs sharing the machine."""
    return {p.name for p in Path(tempfile.gettempdir()).iterdir()
            if p.name.startswith(("tmp", "gpt2lab-")) and p.is_dir()}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    if item.path.suffix != ".ipynb":
        return (yield)
    from gpt2lab.strict_device import kernel_environment

    before = kit_temp_folders()
    with mock.patch.dict(os.environ, kernel_environment()):  # set around the run, then restored
        result = yield  # raises what the notebook raised
    left = sorted(kit_temp_folders() - before)
    if left:
        pytest.fail(f"{item.path.name} left temporary folders behind: {left}", pytrace=False)
    return result
