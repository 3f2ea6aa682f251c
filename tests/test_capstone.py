"""The capstone's checker: a correct forward pass passes; each classic mistake gets its own message."""

from __future__ import annotations

import math

import pytest
import torch

from gpt2lab.exercises.capstone import MISTAKES, PROMPT, check_forward, mistaken_forward

from helpers import random_lab


# The MLP activations a learner may write: GPT-2's, and the ones it is mistaken for.
ACTIVATIONS = {
    "gelu": lambda h: 0.5 * h * (1 + torch.tanh(math.sqrt(2 / math.pi) * (h + 0.044715 * h**3))),
    "gelu_torch_tanh": lambda h: torch.nn.functional.gelu(h, approximate="tanh"),  # the same function, torch's code
    "relu": torch.relu,
    "gelu_erf": torch.nn.functional.gelu,  # torch's default: exact, with erf
    "gelu_sigmoid": lambda h: h * torch.sigmoid(1.702 * h),
}


def learner_forward(ids, weights, config, record, *, unbiased=False, scale=True, mask=True, post_ln=False,
                    act="gelu", head=None, linear_layout=False, scale_by="d_head"):
    """A learner's forward pass, written from scratch; each keyword makes one classic mistake."""
    T, H = ids.shape[0], config.n_head

    def ln(x, w, b):
        var = x.var(-1, keepdim=True, unbiased=unbiased)
        return (x - x.mean(-1, keepdim=True)) / torch.sqrt(var + config.layer_norm_eps) * w + b

    def lin(x, W, b):
        return (x @ W.T if linear_layout else x @ W) + b

    def attn(x, w):
        q, k, v = lin(x, w.qkv_weight, w.qkv_bias).split(config.d_model, -1)
        q, k, v = (t.view(T, H, -1).transpose(0, 1) for t in (q, k, v))
        s = q @ k.transpose(-1, -2)
        if scale:
            s = s / math.sqrt(q.shape[-1] if scale_by == "d_head" else config.d_model)
        if mask:
            s = s.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
        z = (s.softmax(-1) @ v).transpose(0, 1).reshape(T, -1)
        return lin(z, w.out_weight, w.out_bias)

    def mlp(x, w):
        h = x @ w.fc_weight + w.fc_bias
        h = ACTIVATIONS[act](h)
        return h @ w.proj_weight + w.proj_bias

    x = record("blocks.0.resid_pre", weights.token_embedding[ids] + weights.position_embedding[:T])
    for i, w in enumerate(weights.blocks):
        if post_ln:
            x = record(f"blocks.{i}.resid_mid", ln(x + record(f"blocks.{i}.attn_out", attn(x, w)), w.ln1_weight, w.ln1_bias))
            x = record(f"blocks.{i}.resid_post", ln(x + record(f"blocks.{i}.mlp_out", mlp(x, w)), w.ln2_weight, w.ln2_bias))
            continue
        a = record(f"blocks.{i}.attn_out", attn(record(f"blocks.{i}.ln1", ln(x, w.ln1_weight, w.ln1_bias)), w))
        x = record(f"blocks.{i}.resid_mid", x + a)
        m = record(f"blocks.{i}.mlp_out", mlp(record(f"blocks.{i}.ln2", ln(x, w.ln2_weight, w.ln2_bias)), w))
        x = record(f"blocks.{i}.resid_post", x + m)
    x = record("ln_final", ln(x, weights.ln_final_weight, weights.ln_final_bias))
    return x @ (weights.token_embedding if head is None else head).T


@pytest.fixture(scope="module", params=[(2, 4, 32, 64, 512), (3, 2, 48, 64, 300)])
def lab(request):
    return random_lab(request.param, seed=3)


def test_correct_forward_passes(lab):
    verdict = check_forward(learner_forward, lab)
    assert verdict.passed, verdict.message
    verdict = check_forward(lambda *a: learner_forward(*a, act="gelu_torch_tanh"), lab)
    assert verdict.passed, verdict.message


@pytest.mark.parametrize("act", ["gelu_erf", "gelu_sigmoid"])
def test_a_gelu_variant_is_named_where_it_starts_on_the_embedded_model(act):
    """On the embedded model an exact GELU stays within the tolerance at blocks.0.mlp_out (it first failed at
    blocks.1.attn_out, which was then blamed); the checker names the stage where it starts, and the variant."""
    import gpt2lab

    verdict = check_forward(lambda *a: learner_forward(*a, act=act), gpt2lab.load("tiny"))
    assert not verdict and verdict.message.startswith("First difference at 'blocks.0.mlp_out'"), verdict.message
    assert MISTAKES[act] in verdict.message


def test_correct_forward_passes_on_the_embedded_model():
    import gpt2lab

    assert check_forward(learner_forward, gpt2lab.load("tiny"))


def test_the_right_answer_of_the_checker_is_the_kit(lab):
    ids = lab.to_ids("The cat sat on the mat.")
    mine, kit = mistaken_forward(ids, lab.weights, lab.config), lab.trace(ids)
    for name, value in mine.items():
        torch.testing.assert_close(value, kit[name], atol=1e-5, rtol=1e-5)


def test_unanswered_and_not_callable(lab):
    assert not check_forward(None, lab).answered
    assert "function itself" in check_forward(3, lab).message


@pytest.mark.parametrize("mistake, wrong, first_stage", [
    ("unbiased_variance", dict(unbiased=True), "blocks.0.ln1"),
    ("no_scale", dict(scale=False), "blocks.0.attn_out"),
    ("no_mask", dict(mask=False), "blocks.0.attn_out"),
    ("post_ln", dict(post_ln=True), "blocks.0.attn_out"),
    ("relu", dict(act="relu"), "blocks.0.mlp_out"),
    ("gelu_erf", dict(act="gelu_erf"), "blocks.0.mlp_out"),  # a small difference: named where it starts
    ("gelu_sigmoid", dict(act="gelu_sigmoid"), "blocks.0.mlp_out"),
    ("scale_d_model", dict(scale_by="d_model"), "blocks.0.attn_out"),
    ("conv1d_layout", dict(linear_layout=True), None),  # qkv's (d, 3d) weight as x @ W.T: a shape error
])
def test_each_mistake_gets_its_own_message(lab, mistake, wrong, first_stage):
    verdict = check_forward(lambda *a: learner_forward(*a, **wrong), lab)
    assert not verdict.passed
    assert MISTAKES[mistake] in verdict.message, verdict.message
    if first_stage:
        assert repr(first_stage) in verdict.message
    others = [m for m in MISTAKES if m != mistake]
    assert not any(MISTAKES[m] in verdict.message for m in others)


def test_untied_head_is_named(lab):
    head = torch.randn(lab.weights.token_embedding.shape, generator=torch.Generator().manual_seed(7))
    verdict = check_forward(lambda *a: learner_forward(*a, head=head), lab)
    assert not verdict and "'logits'" in verdict.message and MISTAKES["untied_head"] in verdict.message


def test_conv1d_layout_on_the_square_matrix_only(lab):
    """x @ W.T on out_weight alone (square, so no shape error) is still named."""

    def square_wrong(ids, weights, config, record):
        import dataclasses

        blocks = [dataclasses.replace(w, out_weight=w.out_weight.T) for w in weights.blocks]
        return learner_forward(ids, dataclasses.replace(weights, blocks=blocks), config, record)

    verdict = check_forward(square_wrong, lab)
    assert not verdict and MISTAKES["conv1d_layout"] in verdict.message and "'blocks.0.attn_out'" in verdict.message


def test_an_unknown_error_is_one_line(lab):
    def broken(ids, weights, config, record):
        raise KeyError("wte")

    verdict = check_forward(broken, lab)
    assert not verdict and "KeyError" in verdict.message


def test_a_right_answer_rounded_differently_is_not_taken_for_a_small_mistake():
    """On GPT-2 small's shapes an exact GELU's mlp_out differs from the kit's by only about 6e-5 of its largest value.
    A right answer rounded differently (2e-5 off) is nearer the kit than that mistake, and is not blamed on it; the
    mistake itself (its own numbers, to within rounding) is."""
    from gpt2lab.exercises.capstone import _error, _nearest_mistake

    kit = torch.randn(5, 8, generator=torch.Generator().manual_seed(0))
    scale = kit.abs().max()
    exact_gelu = {"blocks.0.mlp_out": kit + 6e-5 * scale * torch.sign(kit)}
    rounded = {"blocks.0.mlp_out": kit + 2e-5 * scale}
    assert _nearest_mistake("blocks.0.mlp_out", rounded, {"gelu_erf": exact_gelu},
                            _error(rounded["blocks.0.mlp_out"], kit)) is None
    learner = {"blocks.0.mlp_out": exact_gelu["blocks.0.mlp_out"] + 1e-7 * scale}
    assert _nearest_mistake("blocks.0.mlp_out", learner, {"gelu_erf": exact_gelu},
                            _error(learner["blocks.0.mlp_out"], kit)) == "gelu_erf"


def test_logits_of_the_wrong_shape_are_told_so_first(lab):
    """A right forward that keeps a batch dimension is told to drop it, not that its head is untied."""
    batched = check_forward(lambda *a: learner_forward(*a)[None], lab)
    T, V = len(lab.to_ids(PROMPT)), lab.config.vocab_size
    assert not batched and f"(1, {T}, {V})" in batched.message and f"({T}, {V}) was expected" in batched.message
    assert "drop the batch dimension" in batched.message and MISTAKES["untied_head"] not in batched.message
    transposed = check_forward(lambda *a: learner_forward(*a).T, lab)
    assert not transposed and f"({V}, {T})" in transposed.message and "batch" not in transposed.message


def test_a_batched_stage_is_told_to_drop_its_batch_dimension(lab):
    def batched_stages(ids, weights, config, record):
        def record_batched(name, x):
            record(name, x[None])  # (1, T, d_model)
            return x

        return learner_forward(ids, weights, config, record_batched)

    verdict = check_forward(batched_stages, lab)
    assert not verdict and "'blocks.0.resid_pre'" in verdict.message and "drop the batch dimension (x[0]" in verdict.message


def test_the_stages_are_counted_without_the_logits(lab):
    verdict = check_forward(learner_forward, lab)
    assert verdict and f"All {1 + 6 * lab.config.n_layer + 1} stages you recorded, and the logits" in verdict.message


def test_right_logits_with_no_stage_recorded_do_not_pass(lab):
    def logits_only(ids, weights, config, record):
        return mistaken_forward(ids, weights, config)["logits"]

    def own_names(ids, weights, config, record):
        stages = mistaken_forward(ids, weights, config)
        record("embed", stages["blocks.0.resid_pre"])
        return stages["logits"]

    for fn in (logits_only, own_names):
        verdict = check_forward(fn, lab)
        assert not verdict and "no stage was recorded" in verdict.message and "record(name, tensor)" in verdict.message
        assert "you have written" not in verdict.message
    assert "'embed'" in check_forward(own_names, lab).message
