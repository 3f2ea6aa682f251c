"""The generation widgets, driven through their callbacks, and the sampling views."""

from __future__ import annotations

import re
import time
from html import escape

import matplotlib
import pytest
import torch
from helpers import random_lab
from matplotlib.figure import Figure

from gpt2lab.generation.stopping import STOPPED_AT_CONTEXT_FULL, STOPPED_AT_END_OF_TEXT, STOPPED_AT_LENGTH
from gpt2lab.generation.sampling import SamplingSettings, filter_distribution
from gpt2lab.viz.sampling_plots import (
    attention_text_html,
    compare_settings_chart,
    compare_settings_html,
    context_attention_chart,
    next_token_bars_html,
    next_token_chart,
    text_so_far_html,
    token_label,
    top_rows,
)
from gpt2lab.widgets.essay_widget import EssayWidget
from gpt2lab.widgets.sampling_lab import SamplingLabWidget
from gpt2lab.widgets.stepper_widget import GenerationStepperWidget

matplotlib.use("Agg")
PROMPT = "The cat sat on the mat."


@pytest.fixture(scope="module")
def lab():
    return random_lab((2, 4, 32, 64, 512), seed=1)


@pytest.fixture(scope="module")
def short_lab():
    return random_lab((1, 1, 8, 16, 300), seed=2)  # a context window of 16 tokens


def shown_error(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


# --- views ------------------------------------------------------------------------------------------------


def test_top_rows_and_bar_chart():
    probs = torch.tensor([0.05, 0.4, 0.3, 0.15, 0.1])
    dist = filter_distribution(torch.log(probs), SamplingSettings(top_k=2))
    rows = top_rows(dist.probs, dist.filtered, n=3, chosen_id=0)
    assert rows.ids == [1, 2, 3, 0] and rows.ranks == [1, 2, 3, 5] and rows.chosen == 3  # a low draw is appended
    tokens = ["a", " b", "\n", "c"]
    fig = next_token_chart(dist.probs[rows.ids], dist.filtered[rows.ids], tokens, rows.ranks, rows.chosen)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    widths = [round(p.get_width(), 4) for p in ax.patches[:4]]
    assert widths == [round(0.4 / 0.7, 4), round(0.3 / 0.7, 4), 0.0, 0.0]  # the drawn-with bars; cut rows are empty
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1. a", "2. ·b", "3. ↵", "5. c"]
    assert any(line.get_linestyle() == "--" and line.get_ydata()[0] == 1.5 for line in ax.get_lines())  # kept/cut
    assert any("chosen" in t.get_text() for t in ax.texts)
    html = next_token_bars_html(dist.probs[rows.ids], dist.filtered[rows.ids], tokens, rows.ranks, rows.chosen).data
    assert "<script" not in html and "http" not in html and html.count("<tr") == 6 and "⋮" in html  # header, 4 rows, a gap
    assert html.count("border-top:2px dashed") == 1 and "◀ chosen" in html and html.count(">cut<") == 1
    assert "◀ chosen (by hand: it was cut)" in html  # only a forced token can be a cut one
    with pytest.raises(ValueError, match="one value per token"):
        next_token_chart(dist.probs[:3], dist.filtered[:3], tokens)


def test_other_views():
    weights = torch.tensor([0.1, 0.6, 0.3])
    fig = context_attention_chart(weights, ["A", " b", " c"], max_tokens=2)
    assert [round(p.get_height(), 3) for p in fig.axes[0].patches] == [0.6, 0.3] and "last 2 of 3" in fig.axes[0].get_title()
    html = attention_text_html(weights, ["A", " b", "\n"], "layer 0").data
    assert "rgba(214,39,40,1.000)" in html and "rgba(214,39,40,0.167)" in html and "<script" not in html
    html = text_so_far_html(["The", " cat"], [" sat", " down"], [False, True]).data
    assert html.count("background:#dbeafe") == 1 and html.count("background:#ffe082") == 1 and "underline" in html
    columns = [("greedy", torch.tensor([1.0, 0.0])), ("top-k 2", torch.tensor([0.6, 0.4]))]
    html = compare_settings_html(["x", "y"], columns, torch.tensor([0.6, 0.4]), [1, 2]).data
    assert html.count(">cut<") == 1 and "2 kept" in html
    fig = compare_settings_chart(["x", "y"], columns, torch.tensor([0.6, 0.4]), [1, 2])
    assert len(fig.axes) == 2 and "1 kept" in fig.axes[0].get_title()
    assert token_label(" a\nb$\x03") == "·a↵b$<03>"  # figures draw text literally: the $ stays a $


# --- the stepper widget ---------------------------------------------------------------------------------------


def test_stepper_widget_step_back_branch_reset(lab):
    w = GenerationStepperWidget(lab, PROMPT, temperature=1.0, top_k=20, seed=0)
    assert "gpt2lab" in w.view._dom_classes and w.chart.value == "" and w.back_button.disabled
    w.step_button.click()
    w.step_button.click()
    s = w.stepper
    assert len(s.steps) == 2 and w.message.value == "" and not w.back_button.disabled
    assert f"The token at position {s.steps[-1].position}" in w.chart.value and "◀ chosen" in w.chart.value
    newest = escape(token_label(s.steps[-1].token))
    assert "background:#ffe082" in w.text.value and "2 of 40 new tokens" in w.status.value
    assert "Layer 1, head 0" in w.attention.value and newest in w.attention.value
    w.head.value = 3
    assert "Layer 1, head 3" in w.attention.value
    # branch: a candidate button forces that token in place of the newest one
    button = next(b for b in w.choice_buttons if b.token_id != s.new_ids[-1])
    before = list(s.new_ids)
    button.click()
    assert s.new_ids == before[:-1] + [button.token_id] and s.steps[-1].forced
    assert len(w.branches.options) == 2 and "◀ here" in w.branches.label
    assert w.tree.value.count("<li>") == 3 and "[1]" in w.tree.value and "[2]" in w.tree.value  # shared start, two ends
    # back to the first branch through the list
    w.branches.value = tuple(before)
    assert s.new_ids == before and "◀ here" in w.branches.label
    w.back_button.click()
    assert s.new_ids == before[:-1]
    assert w.branches.value == tuple(before[:-1]) and w.branches.label.startswith("here:")  # never blank after Back
    w.reset_button.click()
    assert s.steps == [] and w.branches.options == () and w.chart.value == "" and w.tree.value == ""
    # a new prompt typed in the box is used at the next step
    w.prompt.value = "The dog"
    w.step_button.click()
    assert s.prompt == "The dog" and len(s.steps) == 1


def test_stepper_widget_errors_show_and_it_stays_usable(lab):
    w = GenerationStepperWidget(lab, PROMPT)
    w.back_button.click()  # nothing to undo
    assert "nothing to go back to" in shown_error(w.message.value)
    w.controls.use_top_k.value = False
    assert w.controls.top_k.disabled and w.controls.settings().top_k is None
    w.controls.use_top_k.value = True
    w.controls.top_k.value = 0  # the slider stops at 1: top-k 0 cannot be asked for here
    assert w.controls.top_k.value == 1 and not w.controls.top_k.disabled
    w.controls.top_k.value = 5
    w.controls.top_p.value = 0.0
    w.step_button.click()
    assert "top_p must be a number above 0" in shown_error(w.message.value) and w.stepper.steps == []
    w.controls.top_p.value = 0.9
    w.step_button.click()
    assert w.message.value == "" and len(w.stepper.steps) == 1 and w.stepper.steps[0].n_kept <= 5
    w.prompt.value = ""
    w.step_button.click()
    assert "The prompt is empty" in shown_error(w.message.value) and len(w.stepper.steps) == 1
    w.prompt.value = "Hi"
    w.controls.max_new_tokens.value = 0
    w.reset_button.click()
    assert "max_new_tokens must be" in shown_error(w.message.value)
    bad_start = GenerationStepperWidget(lab, "")
    assert "The prompt is empty" in shown_error(bad_start.message.value) and bad_start.stepper is None
    bad_start.prompt.value = "Hello"
    bad_start.step_button.click()
    assert bad_start.message.value == "" and len(bad_start.stepper.steps) == 1


def test_stepper_widget_play_and_three_stop_reasons(lab, short_lab):
    w = GenerationStepperWidget(lab, PROMPT, max_new_tokens=6, play_interval=0.0)
    assert w.play_steps(3) == 3 and len(w.stepper.steps) == 3
    w.play_button.click()  # the threaded auto-play: runs to the stop reason
    w.wait(timeout=60)
    assert not w.playing and w.play_button.description == "Play"
    assert w.stepper.stop_reason == STOPPED_AT_LENGTH and len(w.stepper.steps) == 6 and "Stopped:" in w.status.value
    w.step_button.click()
    assert "Generation has stopped" in shown_error(w.message.value)
    # pause: a slow auto-play stopped after its first step
    w.reset_button.click()
    w.play_interval = 0.5
    w.play_button.click()
    time.sleep(0.1)
    w.play_button.click()  # pause
    w.wait(timeout=60)
    assert not w.playing and 1 <= len(w.stepper.steps) < 6
    # end of text: force <|endoftext|>
    w.reset_button.click()
    w.step_button.click()
    eos = lab.text_model().eos_id
    w.do_branch(eos)
    w.refresh()
    assert w.stepper.stop_reason == STOPPED_AT_END_OF_TEXT and "end-of-document" in w.status.value
    assert w.play_steps(5) == 0
    # the context window: a prompt of 14 tokens in a 16-token window
    w2 = GenerationStepperWidget(short_lab, short_lab.decode([5, 6, 7, 8] * 3 + [9, 10]), max_new_tokens=30,
                                 play_interval=0.0)
    assert w2.play_steps(30) == 2 and w2.stepper.stop_reason == STOPPED_AT_CONTEXT_FULL
    assert "16 of 16 context tokens" in w2.status.value and "context window" in w2.status.value


# --- the sampling lab and the essay widget --------------------------------------------------------------------


def test_sampling_lab_widget(lab):
    w = SamplingLabWidget(lab, PROMPT, n_rows=8)
    assert "gpt2lab" in w.view._dom_classes and w.message.value == ""
    labels = [label for label, _ in w.comparison]
    assert labels == ["greedy", "temperature 0.7", "temperature 1.5", "top-k 40", "top-p 0.9"]
    kept = {label: d.n_kept for label, d in w.comparison}
    assert kept["greedy"] == 1 and kept["top-k 40"] == 40 and kept["temperature 0.7"] == lab.config.vocab_size
    assert w.table.value.count("<tr>") == 1 + 8 and w.chart_figure() is not None
    logits = lab.trace(PROMPT, keep=["logits"]).logits[-1]
    torch.testing.assert_close(w.comparison[3][1].filtered, filter_distribution(logits, SamplingSettings(top_k=40)).filtered)
    w.prompt.value = ""
    assert "The prompt is empty" in shown_error(w.message.value) or "input is empty" in shown_error(w.message.value)
    assert w.table.value == "" and w.summary.value == ""  # the sentence replaces the views
    w.prompt.value = "A dog"
    w.rows.value = 5
    assert w.message.value == "" and w.table.value.count("<tr>") == 6


def test_essay_widget(lab):
    w = EssayWidget(lab, "The cat sat", paragraphs=1, max_new_tokens=20)
    assert "gpt2lab" in w.view._dom_classes
    essay = w.generate_button.click() or w.essay
    assert essay is not None and essay.text.startswith("The cat sat") and "<b>The cat sat</b>" in w.output.value
    assert "tokens in" in w.status.value and w.message.value == "" and not w.generate_button.disabled
    first = w.output.value
    w.generate_button.click()
    assert w.output.value == first  # the same seed, the same essay
    w.controls.temperature.value = 0.0
    w.generate_button.click()
    assert "greedy" in w.status.value
    w.prompt.value = ""
    w.generate_button.click()
    assert "The prompt is empty" in shown_error(w.message.value) and w.output.value == ""  # it replaces the essay
    w.prompt.value = "Once"
    w.generate_button.click()
    assert w.message.value == "" and "<b>Once</b>" in w.output.value
