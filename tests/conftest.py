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
    """Whole notebooks (nbmake) and the real-browser suite are slow: ``-m "not slow"`` runs the unit tests alone."""
    for item in items:
        path = str(item.path)
        if path.endswith(".ipynb") or "/tests/browser/" in path:
            item.add_marker(pytest.mark.slow)
