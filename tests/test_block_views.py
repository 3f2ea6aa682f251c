"""The block's pieces: the residual stream as a running sum, LayerNorm step by step, and their figures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gpt2lab.errors import LabError
from gpt2lab.model.layernorm import layer_norm
from gpt2lab.model.layernorm import layer_norm_steps
from gpt2lab.model.mlp import gelu_new
from gpt2lab.analysis.residual_stream import residual_contributions, residual_stream
from gpt2lab.viz import block_plots as plots

from helpers import assert_stage_close, random_lab

TEXT = "The dog sat on the log."


@pytest.fixture(scope="module")
def lab():
    return random_lab((3, 2, 48, 40, 1000), seed=2)


@pytest.fixture(scope="module")
def trace(lab):
    return lab.trace(TEXT)


def test_residual_stream_readings_are_the_trace_stages(lab, trace):
    stream = residual_stream(trace)
    n = lab.config.n_layer
    assert stream.labels == ["embeddings"] + [f"{i} after {part}" for i in range(n) for part in ("attn", "MLP")]
    assert stream.vectors.shape == (2 * n + 1, len(trace.tokens), lab.config.d_model)
    assert torch.equal(stream.vectors[0], trace["embed"] + trace["pos_embed"])
    assert torch.equal(stream.vectors[3], trace["blocks.1.resid_mid"])
    assert torch.equal(stream.vectors[-1], trace[f"blocks.{n - 1}.resid_post"])
    torch.testing.assert_close(stream.norms(), stream.vectors.norm(dim=-1))


def test_the_residual_stream_is_a_running_sum(lab, trace):
    terms = residual_contributions(trace)
    n = lab.config.n_layer
    assert terms.labels[:4] == ["token embedding", "position embedding", "0 attn", "0 MLP"]
    total = terms.running_sum()
    assert_stage_close(total[-1], trace[f"blocks.{n - 1}.resid_post"], "final stream")
    for layer in range(n):  # after each block's attention and MLP, the sum so far is the stream
        assert_stage_close(total[2 + 2 * layer], trace[f"blocks.{layer}.resid_mid"], f"resid_mid {layer}")
        assert_stage_close(total[3 + 2 * layer], trace[f"blocks.{layer}.resid_post"], f"resid_post {layer}")


def test_a_partial_trace_is_refused_in_one_sentence(lab):
    partial = lab.trace(TEXT, keep=["logits"])
    with pytest.raises(LabError, match="keep=None"):
        residual_stream(partial)
    with pytest.raises(LabError, match="keep=None"):
        residual_contributions(partial)


def test_layer_norm_steps_end_where_layer_norm_ends(lab, trace):
    w, eps = lab.weights.blocks[1], lab.config.layer_norm_eps
    x = trace["blocks.1.resid_pre"]  # (T, d_model)
    steps = layer_norm_steps(x, w.ln1_weight, w.ln1_bias, eps)
    assert_stage_close(steps.output, trace["blocks.1.ln1"], "ln1")
    assert_stage_close(steps.output, layer_norm(x, w.ln1_weight, w.ln1_bias, eps), "layer_norm")
    torch.testing.assert_close(steps.normalised.mean(-1), torch.zeros(len(x)), atol=1e-5, rtol=0)
    torch.testing.assert_close(steps.normalised.std(-1, unbiased=False), torch.ones(len(x)), atol=1e-3, rtol=0)
    torch.testing.assert_close(steps.centred, x - x.mean(-1, keepdim=True))


def test_residual_norm_plot_draws_each_tokens_norms(trace):
    stream = residual_stream(trace)
    norms = stream.norms()
    fig = plots.residual_norm_plot(norms, stream.labels, trace.tokens)
    lines = fig.axes[0].lines
    assert len(lines) == len(trace.tokens) + 1  # one per token, and the mean
    for t in range(len(trace.tokens)):
        np.testing.assert_array_equal(lines[t].get_ydata(), norms[:, t].numpy())
    np.testing.assert_allclose(lines[-1].get_ydata(), norms.mean(1).numpy(), rtol=1e-6)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == stream.labels
    with pytest.raises(LabError, match="shape"):
        plots.residual_norm_plot(norms[:, :3], stream.labels, trace.tokens)


def test_residual_sum_plot_draws_terms_and_running_sum(trace):
    terms = residual_contributions(trace)
    t = 2
    term_norms = terms.vectors[:, t].norm(dim=-1)
    sum_norms = terms.running_sum()[:, t].norm(dim=-1)
    fig = plots.residual_sum_plot(term_norms, sum_norms, terms.labels, trace.tokens[t])
    np.testing.assert_array_equal([b.get_height() for b in fig.axes[0].patches], term_norms.numpy())
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_ydata(), sum_norms.numpy())


def test_layer_norm_plot_shows_input_normalised_and_output(lab, trace):
    w = lab.weights.blocks[0]
    steps = layer_norm_steps(trace["blocks.0.resid_pre"][3], w.ln1_weight, w.ln1_bias, lab.config.layer_norm_eps)
    fig = plots.layer_norm_plot(steps)
    for ax, vector in zip(fig.axes, (steps.x, steps.normalised, steps.output)):
        np.testing.assert_array_equal(ax.lines[0].get_ydata(), vector.numpy())
    assert "mean 0.00, std 1.00" in fig.axes[1].get_title()
    with pytest.raises(LabError, match="one vector"):
        plots.layer_norm_plot(layer_norm_steps(trace["blocks.0.resid_pre"], w.ln1_weight, w.ln1_bias, 1e-5))


def test_gelu_plot_dots_are_the_hidden_units(lab, trace):
    pre, post = trace["blocks.0.mlp.pre"][1], trace["blocks.0.mlp.post"][1]
    assert pre.shape == (4 * lab.config.d_model,)  # the MLP is four times wider than the stream
    torch.testing.assert_close(post, gelu_new(pre))
    fig = plots.gelu_plot(pre, post)
    np.testing.assert_array_equal(fig.axes[0].collections[0].get_offsets(), np.stack([pre.numpy(), post.numpy()], 1))
    assert f"{(post > 0).float().mean().item():.0%}" in fig.axes[0].get_title()
