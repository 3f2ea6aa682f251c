"""Attention figures and bertviz views: each one draws exactly the numbers of the trace it was given."""

from __future__ import annotations

import json
import re

import matplotlib
import numpy as np
import pytest
import torch

from gpt2lab.model.attention import causal_mask
from gpt2lab.errors import LabError
from gpt2lab.analysis.unmasked_attention import unmasked_pattern, weight_on_future
from gpt2lab.viz import attention_plots as plots
from gpt2lab.viz import bertviz_views as bv
from gpt2lab.viz.figures import LabFigure, figure_png
from gpt2lab.viz.labels import token_label

from helpers import random_lab

TEXT = "The cat sat on the mat."


@pytest.fixture(scope="module")
def lab():
    return random_lab((2, 4, 32, 64, 512), seed=1)


@pytest.fixture(scope="module")
def trace(lab):
    return lab.trace(TEXT)


def image_data(fig, axis=0):
    return fig.axes[axis].images[0].get_array()


def test_pattern_heatmap_shows_the_pattern_and_masked_cells_are_zero(trace):
    T = len(trace.tokens)
    pattern = trace["blocks.1.attn.pattern"][2]  # (T, T)
    fig = plots.pattern_heatmap(pattern, trace.tokens)
    assert isinstance(fig, LabFigure)
    shown = np.asarray(image_data(fig))
    np.testing.assert_array_equal(shown, pattern.numpy())
    above = np.triu(np.ones((T, T), dtype=bool), k=1)
    assert (shown[above] == 0.0).all()  # exactly zero after softmax, not merely small
    assert (shown[~above] > 0).all()
    np.testing.assert_allclose(shown.sum(axis=1), 1.0, atol=1e-6)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == [token_label(t) for t in trace.tokens]
    assert [t.get_text() for t in ax.get_yticklabels()] == [token_label(t) for t in trace.tokens]
    assert ax.images[0].get_clim() == (0.0, 1.0)
    cells = [t.get_text() for t in ax.texts]  # every weight written in its cell
    assert len(cells) == T * T and cells[1] == f"{pattern[0, 1].item():.2f}" == "0.00"


def test_mask_steps_draws_scores_then_minus_infinity_then_the_pattern(trace):
    scores, pattern = trace["blocks.0.attn.scores"][1], trace["blocks.0.attn.pattern"][1]
    T = len(trace.tokens)
    fig = plots.mask_steps(scores, pattern, trace.tokens)
    np.testing.assert_array_equal(np.asarray(image_data(fig, 0)), scores.numpy())
    np.testing.assert_array_equal(np.asarray(image_data(fig, 2)), pattern.numpy())
    masked = image_data(fig, 1)
    # -inf is drawn as a masked cell: the mask is the causal mask, the data underneath is -inf ...
    assert isinstance(masked, np.ma.MaskedArray)
    np.testing.assert_array_equal(np.ma.getmaskarray(masked), causal_mask(T, T).numpy())
    assert np.isneginf(masked.data[causal_mask(T, T).numpy()]).all()
    lower = ~causal_mask(T, T).numpy()
    np.testing.assert_array_equal(masked.data[lower], scores.numpy()[lower])
    # ... painted in MASKED_COLOUR, outside the score colour scale, and labelled −∞
    image = fig.axes[1].images[0]
    assert matplotlib.colors.to_hex(image.cmap.get_bad()) == plots.MASKED_COLOUR
    assert [t.get_text() for t in fig.axes[1].texts].count(plots.NEG_INF) == T * (T - 1) // 2
    assert plots.NEG_INF not in [t.get_text() for t in fig.axes[0].texts]
    assert image.get_clim() == fig.axes[0].images[0].get_clim()  # one scale for both score panels
    # and the pattern panel is the softmax of the masked panel
    softmax = torch.softmax(torch.from_numpy(masked.filled(-np.inf)), dim=-1)
    torch.testing.assert_close(softmax, pattern)


def test_head_grid_has_one_panel_per_head(lab, trace):
    patterns = trace["blocks.1.attn.pattern"]
    fig = plots.head_grid(patterns, trace.tokens)
    heatmaps = [ax for ax in fig.axes if ax.images]
    assert len(heatmaps) == lab.config.n_head
    for h, ax in enumerate(heatmaps):
        np.testing.assert_array_equal(np.asarray(ax.images[0].get_array()), patterns[h].numpy())
        assert ax.get_title() == f"head {h}"
    three = plots.head_grid(patterns[:3], trace.tokens)  # an odd number of heads leaves no empty panel
    assert len([ax for ax in three.axes if ax.images]) == 3


def test_query_row_bars_are_one_row_of_the_pattern(trace):
    pattern = trace["blocks.0.attn.pattern"][3]
    query = 2
    fig = plots.query_row_bars(pattern, query, trace.tokens)
    heights = [bar.get_height() for bar in fig.axes[0].patches]
    np.testing.assert_allclose(heights, pattern[query].numpy(), rtol=0, atol=0)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts.count("masked") == len(trace.tokens) - 1 - query
    assert f"'{token_label(trace.tokens[query])}'" in fig.axes[0].get_title()
    same = plots.query_row_bars(pattern, -1, trace.tokens)  # -1: the last query
    np.testing.assert_allclose([b.get_height() for b in same.axes[0].patches], pattern[-1].numpy())
    with pytest.raises(LabError, match="outside"):
        plots.query_row_bars(pattern, 99, trace.tokens)


def test_qkv_vectors_shows_q_k_v_of_the_token(trace):
    head, t = 1, 4
    q, k, v = (trace[f"blocks.0.attn.{n}"][head, t] for n in "qkv")
    fig = plots.qkv_vectors(q, k, v, trace.tokens[t])
    np.testing.assert_array_equal(np.asarray(image_data(fig)), torch.stack([q, k, v]).numpy())
    score = trace["blocks.0.attn.scores"][head, t, t].item()
    assert f"{score:.2f}" in fig.axes[0].get_title()  # its own score, as the trace computed it
    with pytest.raises(LabError, match="d_head"):
        plots.qkv_vectors(trace["blocks.0.attn.q"][head], k, v)


def test_unmasked_attention_is_the_softmax_of_the_same_scores(trace):
    scores = trace["blocks.0.attn.scores"]
    free = unmasked_pattern(scores)
    torch.testing.assert_close(free.sum(-1), torch.ones(free.shape[:2]))
    T = len(trace.tokens)
    assert (free[:, :, -1] > 0).all()  # every query now sees the last token too
    assert torch.equal(free[:, -1], trace["blocks.0.attn.pattern"][:, -1])  # the last query saw everything anyway
    assert (weight_on_future(trace["blocks.0.attn.pattern"]) == 0).all()
    future = weight_on_future(free)
    assert (future[:, :-1] > 0).all() and (future[:, -1] == 0).all()
    fig = plots.masked_vs_unmasked(trace["blocks.0.attn.pattern"][0], free[0], trace.tokens)
    np.testing.assert_array_equal(np.asarray(image_data(fig, 0)), trace["blocks.0.attn.pattern"][0].numpy())
    np.testing.assert_array_equal(np.asarray(image_data(fig, 1)), free[0].numpy())
    assert T > 2


def test_figures_render_and_refuse_wrong_shapes(trace):
    pattern = trace["blocks.0.attn.pattern"]
    assert figure_png(plots.pattern_heatmap(pattern[0], trace.tokens)).startswith(b"\x89PNG")
    assert plots.pattern_heatmap(pattern[0], trace.tokens)._repr_png_().startswith(b"\x89PNG")
    with pytest.raises(LabError, match="one head"):
        plots.pattern_heatmap(pattern, trace.tokens)
    with pytest.raises(LabError, match="KV cache"):
        plots.pattern_heatmap(pattern[0], trace.tokens[:-1])
    with pytest.raises(LabError, match="n_head"):
        plots.head_grid(pattern[0], trace.tokens)


def test_heatmap_of_a_cached_step_labels_keys_with_the_context(lab):
    cache = lab.new_cache()
    lab.trace(TEXT, cache=cache)
    step = lab.trace([5], cache=cache)
    pattern = step["blocks.0.attn.pattern"][0]  # (1, T_all)
    fig = plots.pattern_heatmap(pattern, step.tokens, step.context_tokens)
    np.testing.assert_array_equal(np.asarray(image_data(fig)), pattern.numpy())
    assert len(fig.axes[0].get_xticklabels()) == len(step.context_tokens)


# --- bertviz ----------------------------------------------------------------------------------------


def bertviz_params(html: str) -> dict:
    """The JSON bertviz embeds in its script (the PYTHON_PARAMS it fills in)."""
    match = re.search(r"const params = (\{.*?\}); // HACK", html, re.S)
    assert match, "bertviz's parameters were not found in the HTML"
    return json.loads(match.group(1))


def test_head_view_is_built_from_the_trace_and_offline(trace):
    pytest.importorskip("nbclassic")
    pytest.importorskip("mpld3")
    html = bv.head_view(trace).data
    params = bertviz_params(html)
    attn = np.array(params["attention"][0]["attn"])  # (layers, heads, T, T)
    expected = torch.stack([trace[f"blocks.{i}.attn.pattern"] for i in range(2)]).numpy()
    np.testing.assert_allclose(attn, expected, atol=0.5 * 10**-bv.DECIMALS, rtol=0)
    assert params["include_layers"] == [0, 1]
    assert params["attention"][0]["left_text"] == [t.replace("Ġ", " ") for t in trace.tokens]
    # self-contained: no script is fetched from anywhere
    assert not re.search(r"<script[^>]*src=", html)
    assert "cdnjs" not in html and "require.config" in html
    assert "data:text/javascript;base64," in html
    assert html.count("<script") == 2  # require.js inlined, then bertviz's own code


def test_model_view_keeps_the_chosen_layers_and_heads_with_their_numbers(trace):
    pytest.importorskip("nbclassic")
    pytest.importorskip("mpld3")
    html = bv.model_view(trace, layers=[1], heads=[3, 1]).data
    params = bertviz_params(html)
    assert params["include_layers"] == [1] and params["include_heads"] == [1, 3]
    # bertviz picks them out of our stack itself, so check the numbers it would draw
    attn = np.array(params["attention"][0]["attn"])  # (1, 2, T, T)
    expected = trace["blocks.1.attn.pattern"][[1, 3]].numpy()[None]
    np.testing.assert_allclose(attn, expected, atol=0.5 * 10**-bv.DECIMALS, rtol=0)
    head = bertviz_params(bv.head_view(trace, layers=[0], heads=[2]).data)
    np.testing.assert_allclose(np.array(head["attention"][0]["attn"]),
                               trace["blocks.0.attn.pattern"][[2]].numpy()[None], atol=1e-4, rtol=0)


def test_long_inputs_are_cut_and_the_view_says_so(lab):
    long = lab.trace(" ".join(["the cat sat"] * 15))
    assert len(long.tokens) > 20
    chosen = bv.trace_attention(long, max_tokens=20)
    assert len(chosen.tokens) == 20 and "first 20 of" in chosen.note
    # the first 20 tokens' attention is exactly what a trace of them alone gives: the mask makes it so
    alone = lab.trace(long.ids[:20])
    torch.testing.assert_close(chosen.attention[1][0], alone["blocks.1.attn.pattern"], atol=1e-4, rtol=0)
    html = bv.head_view(long, max_tokens=20, scripts="cdn").data
    assert "first 20 of" in html
    with pytest.raises(LabError, match="too many"):
        bv.trace_attention(long, max_tokens=40, max_weights=1000)
    with pytest.raises(LabError, match="layers between"):
        bv.head_view(long, layers=[5])
    with pytest.raises(LabError, match="heads between"):
        bv.model_view(long, heads=[4])


def test_cdn_mode_is_bertviz_own_html(trace):
    html = bv.head_view(trace, scripts="cdn").data
    assert 'src="https://cdnjs' in html
    np.testing.assert_allclose(np.array(bertviz_params(html)["attention"][0]["attn"])[0],
                               trace["blocks.0.attn.pattern"].numpy(), atol=1e-4, rtol=0)


def test_missing_scripts_give_one_line_pointing_to_the_built_in_views(trace, monkeypatch):
    monkeypatch.setitem(bv.SCRIPT_FILES, "d3", ("no_such_package_gpt2lab", "d3.js"))
    assert bv.local_scripts() is None
    notice = bv.head_view(trace).data
    assert "<script" not in notice and notice.count("\n") == 0
    assert "attention_plots" in notice and "pip install nbclassic mpld3" in notice
    with pytest.raises(LabError, match="not installed"):
        bv.model_view(trace, scripts="inline")


def test_bertviz_refuses_a_cached_step(lab):
    cache = lab.new_cache()
    lab.trace(TEXT, cache=cache)
    with pytest.raises(LabError, match="without a KV cache"):
        bv.head_view(lab.trace([5], cache=cache), scripts="cdn")


def test_the_html_views_draw_the_same_numbers(trace):
    """The explorer's HTML views (fast to redraw) carry exactly the trace's weights, −∞ above the diagonal."""
    from gpt2lab.viz import attention_html as views

    T = len(trace.tokens)
    pattern, scores = trace["blocks.1.attn.pattern"][2], trace["blocks.1.attn.scores"][2]
    html = views.pattern_html(pattern, trace.tokens)
    shown = [float(v) for v in re.findall(r'<td [^>]*title="([^"]+)"', html)]
    np.testing.assert_allclose(np.array(shown).reshape(T, T), pattern.numpy(), atol=0.005)  # written to 2 decimals
    steps = views.mask_steps_html(scores, pattern, trace.tokens)
    cells = re.findall(r'<td [^>]*title="([^"]+)"', steps)
    assert len(cells) == 3 * T * T and cells[T * T:2 * T * T].count(plots.NEG_INF) == T * (T - 1) // 2
    assert views.head_grid_html(trace["blocks.1.attn.pattern"], trace.tokens).count("<table") == 4
    assert "masked" in views.query_row_html(pattern, 0, trace.tokens)
    with pytest.raises(LabError, match="one row per row label"):
        views.heatmap_html(pattern, trace.tokens[:-1], trace.tokens)
