"""Fixtures shared by the tests; the helpers they use live in helpers.py."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never touch the network

import pytest

from helpers import RANDOM_SHAPES, random_lab


@pytest.fixture(params=RANDOM_SHAPES, ids=lambda s: "L{}H{}D{}C{}V{}".format(*s))
def any_random_lab(request):
    return random_lab(request.param)
