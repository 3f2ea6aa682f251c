"""The whole-picture figure: it renders, lights the stage asked for, and refuses an unknown one in one sentence."""

from __future__ import annotations

import pytest
from matplotlib.patches import FancyBboxPatch

from gpt2lab.errors import LabError
from gpt2lab.viz.figures import LabFigure
from gpt2lab.viz.pipeline import HIGHLIGHT, PIPELINE_STAGES, pipeline_figure

from helpers import random_lab


def boxes(fig):
    return {p.get_gid().split(":")[1]: p for p in fig.axes[0].patches if isinstance(p, FancyBboxPatch)}


def texts(fig):
    return [t.get_text() for t in fig.axes[0].texts]


@pytest.mark.parametrize("stage", list(PIPELINE_STAGES))
def test_the_highlighted_stage_is_the_one_asked_for(stage):
    fig = pipeline_figure(stage)
    assert isinstance(fig, LabFigure) and fig.gpt2lab_here == [stage]
    lit = [k for k, p in boxes(fig).items() if p.get_facecolor()[:3] == pytest.approx(_rgb(HIGHLIGHT))]
    assert lit == [stage]
    assert texts(fig).count("you are here") == 1
    assert fig._repr_png_().startswith(b"\x89PNG")


def _rgb(hex_colour):
    from matplotlib.colors import to_rgb

    return to_rgb(hex_colour)


def test_every_stage_is_drawn_in_order_and_aliases_light_their_stage():
    fig = pipeline_figure("attention")
    assert list(boxes(fig)) == list(PIPELINE_STAGES)
    assert fig.gpt2lab_here == ["blocks"]
    assert pipeline_figure(None).gpt2lab_here == [] and "you are here" not in texts(pipeline_figure(None))


def test_the_lab_numbers_are_written_in():
    lab = random_lab((3, 2, 48, 64, 300))
    shown = " ".join(texts(pipeline_figure("blocks", lab)))
    assert "3 blocks, 2 heads" in shown and "d_model 48" in shown and "vocabulary 300" in shown


@pytest.mark.parametrize("bad", ["decoder", "", 3])
def test_an_unknown_stage_is_a_lab_error(bad):
    with pytest.raises(LabError, match="No pipeline stage"):
        pipeline_figure(bad)
