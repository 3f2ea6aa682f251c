"""Fixtures shared by the tests; the helpers they use live in helpers.py."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never touch the network

import pytest

from helpers import RANDOM_SHAPES, random_lab


@pytest.fixture(params=RANDOM_SHAPES, ids=lambda s: "L{}H{}D{}C{}V{}".format(*s))
def any_random_lab(request):
    return random_lab(request.param)


def pytest_collection_modifyitems(config, items):
    """Whole notebooks (nbmake) and the real-browser suite are slow: ``-m "not slow"`` runs the unit tests alone.

    Every notebook nbmake runs on the CPU runs in strict device mode (see tests/test_strict_device.py): its
    kernel starts with GPT2LAB_STRICT_DEVICE=1, so a cell that would mix CPU and GPU tensors fails here too.
    """
    for item in items:
        path = str(item.path)
        if path.endswith(".ipynb") or "/tests/browser/" in path:
            item.add_marker(pytest.mark.slow)
        if path.endswith(".ipynb"):
            item.runtest = strict_device_kernel(item.runtest)


def strict_device_kernel(runtest):
    """``runtest`` with GPT2LAB_STRICT_DEVICE=1 in the environment its kernel starts with (nbmake has no
    option for a kernel's environment; the kernel inherits this process's). A GPU run is left as it is."""
    from standin import strict_device_env

    def run():
        saved = {name: os.environ.get(name) for name in strict_device_env()}
        os.environ.update(strict_device_env())
        try:
            runtest()
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    return run
