"""The logit lens: its last reading is the model's own prediction, from the trace and from transformers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gpt2lab.errors import LabError
from gpt2lab.analysis.logit_lens import logit_lens
from gpt2lab.model.forward import readout
from gpt2lab.viz.lens_views import logit_lens_heatmap, logit_lens_table
from gpt2lab.viz.labels import token_label

from helpers import RANDOM_SHAPES, random_lab


@pytest.fixture(scope="module")
def lab():
    return random_lab(RANDOM_SHAPES[1], seed=3)


@pytest.fixture(scope="module")
def trace(lab):
    return lab.trace("The cat sat on the mat because")


@pytest.mark.parametrize("position", [-1, 0, 3])
def test_last_reading_is_the_models_own_top_tokens(lab, trace, position):
    lens = logit_lens(lab, trace, position=position, top_k=5)
    expected = torch.softmax(trace.logits[position], -1).topk(5)
    assert torch.equal(lens.top_ids[-1], expected.indices)
    torch.testing.assert_close(lens.top_probs[-1], expected.values)
    with torch.no_grad():  # and transformers agrees
        hf_logits = lab.hf_model(trace.ids[None]).logits[0, position]
    assert torch.equal(lens.top_ids[-1], hf_logits.topk(5).indices)
    assert lens.final_id == int(hf_logits.argmax())
    assert lens.top_tokens[-1] == lab.token_strings(expected.indices.tolist())
    assert lens.token == trace.tokens[position]


def test_every_reading_goes_through_the_final_layernorm_and_unembedding(lab, trace):
    lens = logit_lens(lab, trace, position=2, top_k=3)
    n = lab.config.n_layer
    assert lens.labels == ["embeddings"] + [f"after block {i}" for i in range(n)]
    assert lens.stages == ["blocks.0.resid_pre"] + [f"blocks.{i}.resid_post" for i in range(n)]
    w, eps = lab.weights, lab.config.layer_norm_eps
    by_hand = F.layer_norm(trace["blocks.0.resid_post"], w.ln_final_weight.shape, w.ln_final_weight, w.ln_final_bias, eps)
    logits = by_hand @ w.token_embedding.T  # (T, vocab): the final LayerNorm, then the unembedding, by hand
    probs = torch.softmax(logits[2], -1)
    assert torch.equal(lens.top_ids[1], probs.topk(3).indices)
    torch.testing.assert_close(lens.final_probs[1], probs[lens.final_id])
    # the lens reads with the forward pass's own tail: on the last block's output it IS the model's logits
    with torch.no_grad():
        assert torch.equal(readout(trace[f"blocks.{n - 1}.resid_post"], w, lab.config), trace.logits)
    assert 0 <= lens.first_layer_agreeing() <= n
    assert int(lens.top_ids[lens.first_layer_agreeing(), 0]) == lens.final_id


def test_learner_errors(lab, trace):
    with pytest.raises(LabError, match="outside"):
        logit_lens(lab, trace, position=len(trace.tokens))
    with pytest.raises(LabError, match="top_k"):
        logit_lens(lab, trace, top_k=0)
    with pytest.raises(LabError, match="keep=None"):
        logit_lens(lab, lab.trace("The cat", keep=["logits"]))


def test_table_and_heatmap_show_the_lens(lab, trace):
    lens = logit_lens(lab, trace, top_k=4)
    fig = logit_lens_heatmap(lens)
    np.testing.assert_array_equal(np.asarray(fig.axes[0].images[0].get_array()), lens.top_probs.numpy())
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts[0] == f"{token_label(lens.top_tokens[0][0])}\n{lens.top_probs[0, 0].item():.0%}"
    assert len(texts) == lens.top_probs.numel()
    bars = [b.get_width() for b in fig.axes[1].patches]
    np.testing.assert_allclose(bars, lens.final_probs.numpy())
    html = logit_lens_table(lens).data
    assert html.count("<tr>") == len(lens.labels) + 1
    assert f"{lens.top_probs[-1, 0].item():.1%}" in html and "<b>" in html
    assert "<script" not in html


def test_the_embedded_models_lens_ends_on_its_own_prediction():
    import gpt2lab
    from gpt2lab.loading import EMBEDDED_PATH

    if not (EMBEDDED_PATH / "model.safetensors").exists():
        pytest.skip("the embedded model is not in gpt2lab/assets/tiny yet")
    lab = gpt2lab.load("tiny")
    trace = lab.trace("It is a truth universally acknowledged, that a single man")
    lens = logit_lens(lab, trace, top_k=5)
    with torch.no_grad():
        hf_logits = lab.hf_model(trace.ids[None]).logits[0, -1]
    assert torch.equal(lens.top_ids[-1], hf_logits.topk(5).indices)
    assert torch.equal(lens.top_ids[-1], trace.logits[-1].topk(5).indices)
    assert len(lens.labels) == lab.config.n_layer + 1
