"""Every stage of gpt2lab's forward pass equals what Hugging Face's GPT-2 computes."""

from __future__ import annotations

import math

import pytest
import torch

import gpt2lab
from gpt2lab.attention import causal_mask

from conftest import RANDOM_SHAPES, assert_stage_close, random_lab


def hf_reference(lab, ids):
    """Hugging Face's values for every stage, from outputs and forward hooks on its submodules."""
    model = lab.hf_model
    ref, hooks = {}, []
    tr = model.transformer
    d, n_head = lab.config.d_model, lab.config.n_head

    def keep(name, fn=lambda out: out):
        return lambda mod, args, out: ref.__setitem__(name, fn(out)[0].detach().clone())

    def keep_input(name):
        return lambda mod, args: ref.__setitem__(name, args[0][0].detach().clone())

    heads = lambda x: x.view(x.shape[0], n_head, d // n_head).transpose(0, 1)  # noqa: E731
    hooks.append(tr.wte.register_forward_hook(lambda m, a, out: ref.__setitem__("embed", out[0].clone())))
    hooks.append(tr.wpe.register_forward_hook(lambda m, a, out: ref.__setitem__("pos_embed", out[0].clone())))
    for i, h in enumerate(tr.h):
        p = f"blocks.{i}."
        hooks.append(h.register_forward_pre_hook(keep_input(p + "resid_pre")))
        hooks.append(h.ln_1.register_forward_hook(keep(p + "ln1")))
        hooks.append(h.attn.c_attn.register_forward_hook(keep(p + "qkv")))
        hooks.append(h.attn.c_proj.register_forward_pre_hook(keep_input(p + "z_merged")))
        hooks.append(h.attn.register_forward_hook(keep(p + "attn_out", lambda out: out[0])))
        hooks.append(h.ln_2.register_forward_pre_hook(keep_input(p + "resid_mid")))
        hooks.append(h.ln_2.register_forward_hook(keep(p + "ln2")))
        hooks.append(h.mlp.c_fc.register_forward_hook(keep(p + "mlp.pre")))
        hooks.append(h.mlp.act.register_forward_hook(keep(p + "mlp.post")))
        hooks.append(h.mlp.register_forward_hook(keep(p + "mlp_out")))
        hooks.append(h.register_forward_hook(keep(p + "resid_post", lambda out: out[0] if isinstance(out, tuple) else out)))
    hooks.append(tr.ln_f.register_forward_hook(keep("ln_final")))
    try:
        with torch.no_grad():
            out = model(torch.as_tensor(ids)[None], output_hidden_states=True, output_attentions=True)
    finally:
        for hk in hooks:
            hk.remove()
    for i in range(lab.config.n_layer):
        p = f"blocks.{i}."
        q, k, v = ref.pop(p + "qkv").split(d, dim=-1)
        ref[p + "attn.q"], ref[p + "attn.k"], ref[p + "attn.v"] = heads(q), heads(k), heads(v)
        z = ref.pop(p + "z_merged")
        ref[p + "attn.z"] = heads(z)
        ref[p + "attn.pattern"] = out.attentions[i][0]
        assert torch.equal(out.hidden_states[i][0], ref[p + "resid_pre"])
    ref["logits"] = out.logits[0]
    return ref, out


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
