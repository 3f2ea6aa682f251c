"""Every stage of gpt2lab's forward pass equals what Hugging Face's GPT-2 computes."""

from __future__ import annotations

import math

import pytest
import torch

import gpt2lab
from gpt2lab.model.attention import causal_mask

from helpers import RANDOM_SHAPES, assert_stage_close, hf_reference, random_lab


@pytest.mark.parametrize("shape", RANDOM_SHAPES, ids=lambda s: "L{}H{}D{}C{}V{}".format(*s))
def test_every_stage_equals_transformers(shape):
    lab = random_lab(shape, seed=sum(shape))
    T = min(lab.config.n_ctx, 13)
    ids = torch.randint(0, lab.config.vocab_size, (T,), generator=torch.Generator().manual_seed(1))
    trace = lab.trace(ids)
    ref, out = hf_reference(lab, ids)
    assert out.attentions and len(out.attentions) == lab.config.n_layer  # eager attention really ran
    compared = 0
    for name in trace.names:
        if name.endswith("attn.scores"):
            continue
        assert_stage_close(trace[name], ref[name], name)
        compared += 1
    assert compared == len(trace.names) - lab.config.n_layer
    # The pattern is not uniform: these weights make the comparison meaningful.
    assert trace["blocks.0.attn.pattern"][:, -1].max() > 1.5 / T


@pytest.mark.parametrize("shape", RANDOM_SHAPES[:3], ids=lambda s: "L{}H{}D{}C{}V{}".format(*s))
def test_scores_are_hf_queries_dot_keys_before_the_mask(shape):
    lab = random_lab(shape, seed=3)
    ids = torch.arange(min(9, lab.config.n_ctx)) % lab.config.vocab_size
    trace = lab.trace(ids)
    ref, _ = hf_reference(lab, ids)
    for i in range(lab.config.n_layer):
        p = f"blocks.{i}."
        scores = trace[p + "attn.scores"]
        expected = ref[p + "attn.q"] @ ref[p + "attn.k"].transpose(-1, -2) / math.sqrt(lab.config.d_head)
        assert_stage_close(scores, expected, p + 'attn.scores')
        # Scores above the diagonal are real numbers (no mask yet); the pattern there is exactly 0.
        mask = causal_mask(len(ids), len(ids))
        assert torch.isfinite(scores).all()
        assert (trace[p + "attn.pattern"][:, mask] == 0).all()
        assert_stage_close(trace[p + "attn.pattern"].sum(-1), torch.ones(lab.config.n_head, len(ids)))


def test_exact_gelu_config_also_matches():
    lab = random_lab(RANDOM_SHAPES[1], seed=5, activation="gelu")
    ids = torch.arange(10)
    assert_stage_close(lab.trace(ids).logits, hf_reference(lab, ids)[0]["logits"], "logits")


def test_trace_shapes_follow_the_contract():
    lab = random_lab(RANDOM_SHAPES[3])
    c, T = lab.config, 7
    trace = lab.trace(torch.arange(T))
    expected = {
        "embed": (T, c.d_model), "pos_embed": (T, c.d_model),
        "ln_final": (T, c.d_model), "logits": (T, c.vocab_size),
    }
    for i in range(c.n_layer):
        p = f"blocks.{i}."
        for s in ("resid_pre", "ln1", "attn_out", "resid_mid", "ln2", "mlp_out", "resid_post"):
            expected[p + s] = (T, c.d_model)
        for s in ("attn.q", "attn.k", "attn.v", "attn.z"):
            expected[p + s] = (c.n_head, T, c.d_head)
        expected[p + "attn.scores"] = expected[p + "attn.pattern"] = (c.n_head, T, T)
        expected[p + "mlp.pre"] = expected[p + "mlp.post"] = (T, 4 * c.d_model)
    assert {n: tuple(trace[n].shape) for n in trace.names} == expected
    assert trace.ids.tolist() == list(range(T)) and len(trace.tokens) == T and trace.start == 0


def test_stage_names_are_pinned():
    assert gpt2lab.stage_names(2) == [
        "embed", "pos_embed",
        "blocks.0.resid_pre", "blocks.0.ln1", "blocks.0.attn.q", "blocks.0.attn.k", "blocks.0.attn.v",
        "blocks.0.attn.scores", "blocks.0.attn.pattern", "blocks.0.attn.z", "blocks.0.attn_out",
        "blocks.0.resid_mid", "blocks.0.ln2", "blocks.0.mlp.pre", "blocks.0.mlp.post", "blocks.0.mlp_out",
        "blocks.0.resid_post",
        "blocks.1.resid_pre", "blocks.1.ln1", "blocks.1.attn.q", "blocks.1.attn.k", "blocks.1.attn.v",
        "blocks.1.attn.scores", "blocks.1.attn.pattern", "blocks.1.attn.z", "blocks.1.attn_out",
        "blocks.1.resid_mid", "blocks.1.ln2", "blocks.1.mlp.pre", "blocks.1.mlp.post", "blocks.1.mlp_out",
        "blocks.1.resid_post",
        "ln_final", "logits",
    ]
    lab = random_lab(RANDOM_SHAPES[1])
    assert lab.trace(torch.arange(5)).names == gpt2lab.stage_names(2)  # computed in exactly this order


def test_the_forward_reads_the_hf_parameters_without_copying():
    lab = random_lab(RANDOM_SHAPES[1])
    params = {p.data_ptr() for p in lab.hf_model.parameters()}
    w = lab.weights
    assert w.token_embedding.data_ptr() in params and w.position_embedding.data_ptr() in params
    assert all(b.qkv_weight.data_ptr() in params and b.fc_weight.data_ptr() in params for b in w.blocks)
    # ... but a trace holds computed values, never views of the weights.
    trace = lab.trace(torch.arange(4))
    assert not any(t.requires_grad or t.untyped_storage().data_ptr() in params for t in trace.activations.values())
    # A learner can recompute a stage from the weights with the trace's tensors (no inference tensors).
    assert torch.equal(trace["embed"], w.token_embedding[trace.ids])
    # Change a weight in the HF model: gpt2lab's trace changes with it.
    before = lab.trace(torch.arange(4)).logits.clone()
    with torch.no_grad():
        lab.hf_model.transformer.h[0].mlp.c_fc.bias.add_(1.0)
    assert not torch.allclose(lab.trace(torch.arange(4)).logits, before)


def test_every_stage_equals_transformers_on_the_embedded_model():
    lab = gpt2lab.load("tiny")
    text = "It is a truth universally acknowledged, that a single man in possession of a good fortune"
    trace = lab.trace(text)
    ref, out = hf_reference(lab, trace.ids)
    for name in trace.names:
        if not name.endswith("attn.scores"):
            assert_stage_close(trace[name], ref[name], name)
    assert trace.logits[-1].argmax() == out.logits[0, -1].argmax()
    # ... and the cached path on the same model
    cache = lab.new_cache()
    lab.trace(trace.ids[:-1], cache=cache)
    last = lab.trace(trace.ids[-1:], cache=cache)
    for name in trace.names:
        assert_stage_close(last[name], trace[name][..., -1:, :], name)


def test_the_block_stage_shorthand_reads_the_same_tensors():
    lab = random_lab(RANDOM_SHAPES[1], seed=2)
    trace = lab.trace(torch.arange(7))
    assert trace["resid_post", 1] is trace["blocks.1.resid_post"]
    assert trace["attn.pattern", -1] is trace[f"blocks.{lab.config.n_layer - 1}.attn.pattern"]
    with pytest.raises(gpt2lab.LabError, match="No stage is called 'blocks.0.resid_extra'"):
        trace["resid_extra", 0]
