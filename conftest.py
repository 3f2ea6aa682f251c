"""Every notebook the test suite runs (nbmake), in strict device mode on a CPU-only machine.

A kernel starts with this process's environment, and nbmake has no option for it, so the variable is set
around each notebook's run; here at the repository's root because ``pytest notebooks/X.ipynb`` alone
loads no conftest from tests/. See gpt2lab/strict_device.py and tests/test_strict_device.py for why.
"""

from __future__ import annotations

import os

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    if item.path.suffix != ".ipynb":
        yield
        return
    from gpt2lab.strict_device import kernel_environment

    env = kernel_environment()
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
