"""The why-this-token views and widgets: surprisal HTML, attribution and patching figures, the surprisal
widget, the "why this token" panel in the stepper, and the attention explorer's head switch."""

from __future__ import annotations

import re

import pytest
import torch

import gpt2lab
from gpt2lab.analysis.ablation import ablation_effect
from gpt2lab.analysis.attribution import direct_logit_attribution
from gpt2lab.analysis.patching import patch_residual
from gpt2lab.viz.attribution_plots import attribution_bars, head_attribution_heatmap, patching_heatmap
from gpt2lab.viz.labels import token_label
from gpt2lab.viz.surprisal_views import BUCKET_COLOURS, surprisal_comparison_html, surprisal_html
from gpt2lab.widgets.attention_explorer import AttentionExplorer
from gpt2lab.widgets.stepper_widget import GenerationStepperWidget
from gpt2lab.widgets.surprisal_widget import SurprisalWidget
from gpt2lab.widgets.why_panel import WhyThisTokenPanel

from helpers import random_lab

TEXT = "It is a truth universally acknowledged, that a single man"
IOI = ("When Mary and John went to the store, John gave a drink to",
       "When Mary and John went to the store, Mary gave a drink to")


@pytest.fixture(scope="module")
def tiny():
    return gpt2lab.load("tiny")


def test_surprisal_html_colours_each_token_by_its_rank(tiny):
    s = tiny.surprisal(TEXT)
    html = surprisal_html(s).data
    ranks = [int(r) for r in re.findall(r'data-rank="(\d+)"', html)]
    assert ranks == s.ranks.tolist()
    buckets = [int(b) for b in re.findall(r'data-bucket="(\d)"', html)]
    assert buckets == s.buckets()
    for bucket in set(buckets):
        assert BUCKET_COLOURS[bucket] in html
    # the alternatives are on hover (title) and on click (details)
    first_alt = token_label(s.top_tokens[0][0])
    assert f"expected: {first_alt}" in html and "<details" in html and "<ol" in html
    assert f"perplexity {s.perplexity:,.2f}" in html
    assert "<script" not in html and "http" not in html


def test_two_models_side_by_side_with_different_tokenizers(tiny):
    other = random_lab((2, 4, 32, 64, 512))
    text = "The cat sat on the mat."
    html = surprisal_comparison_html([tiny.surprisal(text), other.surprisal(text)]).data
    assert "tiny" in html and other.name in html
    assert html.count("gpt2lab-surprisal-first") == 2
    w = SurprisalWidget(tiny, text, compare_with=other)
    assert len(w.readings) == 2 and "display:flex" in w.output.value


def test_surprisal_widget_reads_and_reports_mistakes(tiny):
    w = SurprisalWidget(tiny, TEXT)
    assert w.readings[0].perplexity == tiny.surprisal(TEXT).perplexity
    good = w.output.value
    w.text.value = "A"
    assert not w.read()
    assert "two tokens" in w.message.value and w.output.value == "" != good  # the sentence replaces the view
    w.text.value = TEXT + " and a wife"
    w.top_k.value = 3  # redraws
    assert w.message.value == "" and w.readings[0].top_ids.shape[1] == 3


def test_figures_draw_the_numbers(tiny):
    trace = tiny.trace(TEXT)
    token = int(trace.logits[-1].argmax())
    a = direct_logit_attribution(tiny, trace, -1, token)
    fig = attribution_bars(a, k=6)
    widths = [p.get_width() for p in fig.axes[0].patches]
    assert widths == pytest.approx([share for _, share in a.top(6)])
    heat = head_attribution_heatmap(a)
    assert heat.axes[0].images[0].get_array().shape == (4, 4)
    result = patch_residual(tiny, *IOI, " Mary", " John")
    fig = patching_heatmap(result)
    assert fig.axes[0].images[0].get_array().shape == (5, 14)
    assert "·John/·Mary" in [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert fig._repr_png_()[:4] == b"\x89PNG"


def test_ablation_effect_compares_the_distributions(tiny):
    effect = ablation_effect(tiny, TEXT, [(3, 1)])
    before = torch.softmax(tiny.trace(TEXT).logits[-1], -1)
    after = torch.softmax(tiny.trace(TEXT, ablate_heads=[(3, 1)]).logits[-1], -1)
    torch.testing.assert_close(effect.before, before[effect.ids])
    torch.testing.assert_close(effect.after, after[effect.ids])
    assert effect.kl > 0
    assert ablation_effect(tiny, TEXT, []).kl == pytest.approx(0, abs=1e-7)


def test_attention_explorer_switches_a_head_off(tiny):
    explorer = AttentionExplorer(tiny, "The cat sat on the mat")
    assert explorer.ablation.value == ""
    explorer.switch_off.value = True
    assert "gpt2lab-ablation" in explorer.ablation.value and "L0 H0" in explorer.ablation.value
    explorer.layer.value, explorer.head.value = 2, 3
    assert "L2 H3" in explorer.ablation.value
    explorer.switch_off.value = False
    assert explorer.ablation.value == ""


def test_why_panel_in_the_stepper(tiny):
    w = GenerationStepperWidget(tiny, "It is a truth", top_k=5)
    assert w.why.view in w.view.children
    w.step_button.click()
    assert w.why.bars.value == ""  # closed until asked: stepping stays fast
    w.why.enabled.value = True
    last = w.stepper.last
    assert w.why.attribution.token_id == last.token_id
    assert w.why.attribution.position == last.position - 1 and "<img" in w.why.bars.value
    w.why.heads_off.value = ((0, 1), (3, 2))
    assert w.why.effect.heads == [(0, 1), (3, 2)] and "L0 H1, L3 H2" in w.why.ablation.value
    w.step_button.click()
    assert w.why.token_id == w.stepper.last.token_id


def test_why_panel_shows_mistakes_in_one_sentence(tiny):
    panel = WhyThisTokenPanel(tiny)
    panel.enabled.value = True
    panel.explain([1, 2, 3], 99999)
    assert "Token id 99999 is outside this model" in panel.message.value
    panel.explain([1, 2, 3], 5)
    assert panel.message.value == "" and panel.attribution.token_id == 5
