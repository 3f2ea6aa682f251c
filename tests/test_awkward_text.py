"""Text a learner can type -- ``$$x$$``, backslashes, ``_`` and ``^``, control characters, pieces of an
emoji -- renders in every figure, table and widget (matplotlib would read ``$...$`` as mathematics).

The model here uses GPT-2's real tokenizer, in which ``"$$"`` is a single token: exactly the label that
made every attention heatmap raise matplotlib's ParseException."""

from __future__ import annotations

import pytest
import torch

import gpt2lab
from gpt2lab.analysis.head_scores import head_scores
from gpt2lab.model.layernorm import layer_norm_steps
from gpt2lab.loading import GPT2_TOKENIZER_PATH, load_tokenizer
from gpt2lab.analysis.residual_stream import residual_contributions, residual_stream
from gpt2lab.generation.sampling import LAB_SETTINGS, SamplingSettings, compare_settings, filter_distribution
from gpt2lab.viz import attention_plots, block_plots, embedding_plots, finetune_plots, lens_views, sampling_plots
from gpt2lab.viz.bertviz_views import head_view, model_view
from gpt2lab.viz.figures import figure_png
from gpt2lab.viz.labels import token_label
from gpt2lab.viz.token_chips import token_chips_html
from gpt2lab.widgets.attention_explorer import AttentionExplorer
from gpt2lab.widgets.sampling_lab import SamplingLabWidget
from gpt2lab.widgets.stepper_widget import GenerationStepperWidget
from gpt2lab.widgets.tokenizer_widget import TokenizerExplorer

from helpers import random_hf_model

AWKWARD = [
    "$$x$$ costs $5",
    "a\\b_c^d {x}",
    "bell\x07 and \x03 here",
    "smile 😀 and 日本",
    "%$^_\\$$",
]


@pytest.fixture(scope="module")
def lab():
    model = random_hf_model(2, 2, 16, 64, 50257, seed=1)
    return gpt2lab.Lab(model, load_tokenizer(GPT2_TOKENIZER_PATH, 50257), name="gpt2-tokenizer", device="cpu")


def test_dollar_dollar_is_one_token_of_gpt2(lab):
    assert "$$" in lab.token_strings(lab.encode("$$x$$"))


@pytest.mark.parametrize("text", AWKWARD)
def test_every_figure_renders(lab, text):
    trace = lab.trace(text)
    tokens, T = trace.tokens, len(trace.tokens)
    pattern, scores = trace["blocks.0.attn.pattern"], trace["blocks.0.attn.scores"]
    logits = trace.logits[-1]
    dist = filter_distribution(logits, SamplingSettings(top_k=10))
    lens = gpt2lab.logit_lens(lab, trace)
    terms = residual_contributions(trace)
    w = lab.weights.blocks[0]
    figures = [
        attention_plots.pattern_heatmap(pattern[0], tokens, title=f"after {text}"),
        attention_plots.mask_steps(scores[0], pattern[0], tokens),
        attention_plots.head_grid(pattern, tokens),
        attention_plots.query_row_bars(pattern[0], T - 1, tokens),
        attention_plots.qkv_vectors(trace["blocks.0.attn.q"][0, 0], trace["blocks.0.attn.k"][0, 0],
                                    trace["blocks.0.attn.v"][0, 0], tokens[0]),
        attention_plots.masked_vs_unmasked(pattern[0], torch.softmax(scores[0], -1), tokens),
        attention_plots.head_scores_heatmap(head_scores(lab, text if T > 1 else text + " x")),
        block_plots.layer_norm_plot(layer_norm_steps(trace["blocks.0.resid_pre"][0], w.ln1_weight, w.ln1_bias, 1e-5),
                                    title=text),
        block_plots.residual_norm_plot(residual_stream(trace).norms(), residual_stream(trace).labels, tokens),
        block_plots.residual_sum_plot(terms.vectors[:, -1].norm(dim=-1), terms.running_sum()[:, -1].norm(dim=-1),
                                      terms.labels, tokens[-1]),
        embedding_plots.embedding_sum_plot(trace["embed"], trace["pos_embed"], tokens, position=T - 1),
        finetune_plots.state_change_plot(torch.rand(T), tokens, tokens),
        lens_views.logit_lens_heatmap(lens),
        sampling_plots.distribution_chart(dist.probs, dist.filtered, lab.token_strings, n=10, title=f"After {text!r}"),
        sampling_plots.comparison_chart(compare_settings(logits, LAB_SETTINGS), lab.token_strings, n=8),
        sampling_plots.context_attention_chart(pattern[0, -1], tokens),
    ]
    for figure in figures:
        assert figure_png(figure)[:4] == b"\x89PNG"  # drawn, every label laid out


@pytest.mark.parametrize("text", AWKWARD)
def test_every_table_and_widget_renders(lab, text):
    trace = lab.trace(text)
    lens = gpt2lab.logit_lens(lab, trace)
    html = [lens_views.logit_lens_table(lens).data, token_chips_html(lab.bpe.encode_and_show_work(text)).data,
            head_view(trace, scripts="inline").data, model_view(trace, layers=[0], heads=[0], scripts="inline").data]
    assert all("$$" not in h or "\\$" not in h for h in html)  # HTML shows the text as typed, unescaped
    explorer = AttentionExplorer(lab, text)
    from gpt2lab.widgets.attention_explorer import VIEWS

    for _, view in VIEWS:
        explorer.show.value = view
        assert 'role="img"' in explorer.picture.value and explorer.message.value == "", view
        assert figure_png(explorer.figure)[:4] == b"\x89PNG"  # the same view as a figure, for a slide
    SamplingLabWidget(lab, text)
    stepper = GenerationStepperWidget(lab, text, max_new_tokens=3)
    stepper.step_button.click()
    assert "Error" not in str(stepper.message.value)
    TokenizerExplorer(lab.bpe, text)


def test_labels_make_whitespace_and_control_characters_visible():
    assert token_label("$$") == "$$"
    assert token_label(" \n\t\x00") == "·↵⇥<00>"


def test_a_figure_shows_dollars_as_dollars():
    from gpt2lab.viz.figures import new_figure

    fig, axes = new_figure()
    axes[0, 0].set_title("$x^2$ costs $5")
    figure_png(fig)  # plain text: no ParseException, and no mathematics either
    assert axes[0, 0].title.get_parse_math() is False
