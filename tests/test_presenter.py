"""Presenter and compact modes resize figures and widget text; a bad mode name gets one sentence."""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import pytest
import torch

import gpt2lab
from gpt2lab.viz import presenter


@pytest.fixture(autouse=True)
def back_to_default():
    yield
    gpt2lab.set_display_mode("default")


def rendered_size(fig):
    fig.canvas.draw()
    return fig.canvas.get_width_height()


def kit_figure():
    from gpt2lab.viz.attention_plots import pattern_heatmap

    fig = pattern_heatmap(torch.tensor([[1.0, 0.0], [0.5, 0.5]]), ["a", "b"], title="attention")
    return fig, fig.axes[0].title


def test_presenter_mode_enlarges_the_kits_figures_and_text():
    gpt2lab.set_display_mode("default")
    fig, title = kit_figure()
    default_px, default_pt = rendered_size(fig), title.get_fontsize()
    html = gpt2lab.set_display_mode("presenter")
    fig, title = kit_figure()
    assert rendered_size(fig)[0] > default_px[0] and title.get_fontsize() > 1.4 * default_pt
    assert "font-size: 22px" in html.data and ".gpt2lab" in html.data
    gpt2lab.set_display_mode("compact")
    assert kit_figure()[1].get_fontsize() < default_pt and presenter.current_display_mode().name == "compact"


def test_the_display_mode_never_changes_the_learners_own_matplotlib_settings():
    before = dict(plt.rcParams)
    gpt2lab.set_display_mode("presenter")
    kit_figure()
    assert dict(plt.rcParams) == before
    fig, ax = plt.subplots()
    assert fig.dpi == before["figure.dpi"]
    plt.close(fig)


def test_a_display_mode_for_one_block_only():
    gpt2lab.set_display_mode("default")
    with gpt2lab.display_mode("presenter") as mode:
        assert mode.name == "presenter" and kit_figure()[0].dpi == presenter.MODES["presenter"].dpi > 100
    assert presenter.current_display_mode().name == "default" and kit_figure()[0].dpi == 100


def test_themed_widgets_carry_the_current_style():
    gpt2lab.set_display_mode("presenter")
    box = presenter.themed(widgets.VBox([widgets.Button(description="Step")]))
    assert "gpt2lab" in box._dom_classes
    assert isinstance(box.children[0], widgets.HTML) and "22px" in box.children[0].value
    assert box.children[1].description == "Step"


def test_unknown_mode_is_one_sentence():
    with pytest.raises(gpt2lab.LabError, match="no display mode 'projector'.*'presenter'"):
        gpt2lab.set_display_mode("projector")


def test_every_widget_of_the_kit_carries_the_display_mode():
    from helpers import random_lab
    from gpt2lab.tokenizer.bpe_training import train_bpe  # noqa: F401  (the trainer explorer's engine)
    from gpt2lab.widgets.attention_explorer import AttentionExplorer
    from gpt2lab.widgets.essay_widget import EssayWidget
    from gpt2lab.widgets.sampling_lab import SamplingLabWidget
    from gpt2lab.widgets.stepper_widget import GenerationStepperWidget
    from gpt2lab.widgets.tokenizer_widget import BPETrainingExplorer, TokenizerExplorer

    gpt2lab.set_display_mode("presenter")
    lab = random_lab((1, 2, 16, 64, 400))
    views = [
        GenerationStepperWidget(lab, "The cat sat").view, EssayWidget(lab).view, SamplingLabWidget(lab, "The cat").view,
        AttentionExplorer(lab, "The cat sat").view, TokenizerExplorer(lab.tokenizer).view,
        BPETrainingExplorer("the cat sat on the mat. the cat sat.", 5).view,
    ]
    for view in views:
        assert "gpt2lab" in view._dom_classes
        assert "22px" in view.children[0].value  # the presenter style travels inside the widget


def test_set_display_mode_restyles_the_widgets_already_shown():
    """A widget built in the default mode takes presenter sizes when the mode changes later, and redraws its figures."""
    from helpers import random_lab
    from gpt2lab.widgets.stepper_widget import GenerationStepperWidget

    gpt2lab.set_display_mode("default")
    stepper = GenerationStepperWidget(random_lab((1, 2, 16, 64, 400)), "The cat sat")
    stepper.step_button.click()
    stepper.why.enabled.value = True  # its "why this token" bars are a figure, drawn at the mode's size
    style, bars = stepper.view.children[0], stepper.why.bars.value
    assert "14px" in style.value and "22px" not in style.value
    scope = [c for c in stepper.view._dom_classes if c.startswith("gpt2lab-")][0]
    assert f".gpt2lab.{scope}" in style.value  # its own style, for itself alone: a page-wide rule cannot override it
    html = gpt2lab.set_display_mode("presenter")
    assert "22px" in style.value and "14px" not in style.value and "presenter" in html.data
    assert stepper.why.bars.value != bars  # the figure was drawn again, larger
    gpt2lab.set_display_mode("compact")
    assert "12px" in style.value
