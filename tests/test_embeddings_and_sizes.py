"""The embedding lesson's helpers and figures, and the model-size arithmetic, checked against the library."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gpt2lab.model.embeddings import cosine_similarity_matrix, nearest_tokens
from gpt2lab.exercises import embeddings as ex_embed
from gpt2lab.exercises import model_sizes as ex_sizes
from gpt2lab.analysis.model_sizes import FAMILY, count_parameters, family_sizes, hf_parameter_count, sizes_table_html
from gpt2lab.viz.embedding_plots import embedding_sum_plot, position_embedding_heatmap, position_similarity_heatmap
from gpt2lab.viz.size_plots import parameter_breakdown_plot

from helpers import RANDOM_SHAPES, random_lab


@pytest.mark.parametrize("name", list(FAMILY))
def test_parameter_counts_equal_transformers_own_count(name):
    assert count_parameters(FAMILY[name]).total == hf_parameter_count(FAMILY[name])


def test_parameter_counts_of_real_models_and_published_figures():
    lab = random_lab(RANDOM_SHAPES[3])
    assert count_parameters(lab.config).total == lab.n_params()
    assert count_parameters(FAMILY["gpt2"]).total == 124_439_808
    assert count_parameters(FAMILY["gpt2-xl"]).total == 1_557_611_200
    sizes = family_sizes()
    assert [s.name for s in sizes] == ["gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl", "distilgpt2"]
    assert sizes[0].fp32_bytes == 4 * 124_439_808 and sizes[0].fp16_bytes == 2 * 124_439_808
    html = sizes_table_html(sizes)
    assert "124.4M" in html and "1,557.6M" in html and "<script" not in html


def test_breakdown_plot_bars_are_the_counts():
    sizes = family_sizes()
    fig = parameter_breakdown_plot(sizes)
    bars = fig.axes[0].patches
    per_part = len(sizes)
    mlp_bars = bars[3 * per_part : 4 * per_part]  # parts are stacked in order: tok, pos, attn, MLP, LN
    assert [round(b.get_height(), 6) for b in mlp_bars] == [round(s.parameters.mlp / 1e6, 6) for s in sizes]
    tops = [b.get_y() + b.get_height() for b in bars[4 * per_part :]]
    assert np.allclose(tops, [s.parameters.total / 1e6 for s in sizes])
    shares = parameter_breakdown_plot(sizes, share=True).axes[0].patches
    assert np.allclose([b.get_y() + b.get_height() for b in shares[4 * per_part :]], 1.0)


def test_nearest_tokens_and_similarity():
    wte = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1], [-1.0, 0.0]])
    ids, sims = nearest_tokens(wte, 0, k=3)
    assert ids.tolist() == [2, 1, 3]
    assert sims[-1].item() == pytest.approx(-1.0)
    assert wte[0, 0] == 1.0  # the embedding matrix is untouched
    m = cosine_similarity_matrix(wte)
    assert torch.allclose(m.diag(), torch.ones(4)) and m[0, 3].item() == pytest.approx(-1.0)


def test_embedding_figures_show_the_trace_values():
    lab = random_lab(RANDOM_SHAPES[1])
    trace = lab.trace(torch.arange(6))
    wpe = lab.weights.position_embedding
    fig = position_embedding_heatmap(wpe, n_positions=20)
    assert np.array_equal(fig.axes[0].images[0].get_array(), wpe[:20].detach().numpy())
    fig = position_similarity_heatmap(wpe, n_positions=10)
    assert np.allclose(fig.axes[0].images[0].get_array(), cosine_similarity_matrix(wpe[:10].detach()).numpy())
    fig = embedding_sum_plot(trace["embed"], trace["pos_embed"], trace.tokens, position=2, n_dims=8)
    heights = [[b.get_height() for b in ax.patches] for ax in fig.axes]
    assert np.allclose(heights[0], trace["embed"][2, :8].numpy())
    assert np.allclose(heights[2], trace["blocks.0.resid_pre"][2, :8].numpy(), atol=1e-6)


def test_embedding_exercise_checkers():
    lab = random_lab(RANDOM_SHAPES[1])
    trace = lab.trace("The cat sat")
    text, token = "The cat sat on the mat. The dog sat on the log.", " the"
    token_id, first, second = ex_embed.token_and_position_rows(lab, text, token)
    assert lab.encode(text)[second] == token_id and first < second
    assert not ex_embed.check_repeated_token_rows(lab, text, token, None).answered
    assert ex_embed.check_repeated_token_rows(lab, text, token, (token_id, second)).passed
    assert not ex_embed.check_repeated_token_rows(lab, text, token, (token_id, first)).passed
    w = lab.weights
    right = w.token_embedding[trace.ids[1]] + w.position_embedding[1]
    assert ex_embed.check_block0_input(lab, trace, 1, right).passed
    only_token = ex_embed.check_block0_input(lab, trace, 1, w.token_embedding[trace.ids[1]])
    assert not only_token.passed and "position embedding" in only_token.message
    assert ex_embed.check_position_parameters(lab, lab.config.n_ctx * lab.config.d_model).passed
    assert not ex_embed.check_position_parameters(lab, 7).passed


def test_model_size_exercise_checkers():
    c = FAMILY["gpt2-medium"]
    assert ex_sizes.check_mlp_parameters(count_parameters(c).mlp).passed
    assert "biases" in ex_sizes.check_mlp_parameters(c.n_layer * 8 * c.d_model**2).message
    assert ex_sizes.check_fp16_gib(2.90).passed  # 1,557,611,200 x 2 bytes = 2.90 GiB
    assert not ex_sizes.check_fp16_gib(5.80).passed
    assert ex_sizes.check_embedding_share(0.31).passed
    assert not ex_sizes.check_embedding_share(None).answered
