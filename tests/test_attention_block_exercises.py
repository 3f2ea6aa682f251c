"""Exercise checkers of notebooks 03 (attention) and 04 (the block): right answers pass, usual slips get hints."""

from __future__ import annotations

import pytest
import torch

from gpt2lab.exercises import attention as ex3
from gpt2lab.exercises import transformer_block as ex4
from gpt2lab.analysis.logit_lens import logit_lens

from helpers import random_lab


@pytest.fixture(scope="module")
def lab():
    return random_lab((2, 4, 32, 64, 512), seed=5)


@pytest.fixture(scope="module")
def trace(lab):
    return lab.trace("The cat sat on the mat.")


def test_masked_count(trace):
    T = len(trace.tokens)
    assert not ex3.check_masked_count(trace, None).answered
    assert ex3.check_masked_count(trace, T * (T - 1) // 2)
    assert "MAY look" in ex3.check_masked_count(trace, T * (T + 1) // 2).message
    assert not ex3.check_masked_count(trace, T * T)


def test_head_output(trace):
    pattern, v = trace["blocks.0.attn.pattern"], trace["blocks.0.attn.v"]
    right = pattern[2, 5] @ v[2]
    assert ex3.check_head_output(trace, 0, 2, 5, right)
    assert "own value" in ex3.check_head_output(trace, 0, 2, 5, v[2, 5]).message
    assert "shape" in ex3.check_head_output(trace, 0, 2, 5, v[2]).message
    assert not ex3.check_head_output(trace, 0, 2, 5, None).answered


def test_most_attended(trace):
    T = len(trace.tokens)
    best = int(trace["blocks.1.attn.pattern"][0, T - 1].argmax())
    assert ex3.check_most_attended(trace, 1, 0, T - 1, best)
    other = (best + 1) % T
    assert not ex3.check_most_attended(trace, 1, 0, T - 1, other)
    assert "comes after" in ex3.check_most_attended(trace, 1, 0, 2, 5).message
    assert not ex3.check_most_attended(trace, 1, 0, T - 1, "0")


def test_block_output(trace):
    b = "blocks.1."
    assert ex4.check_block_output(trace, 1, trace[b + "resid_pre"] + trace[b + "attn_out"] + trace[b + "mlp_out"])
    assert "resid_mid" in ex4.check_block_output(trace, 1, trace[b + "resid_mid"]).message
    assert "resid_pre" in ex4.check_block_output(trace, 1, trace[b + "attn_out"] + trace[b + "mlp_out"]).message
    assert not ex4.check_block_output(trace, 1, None).answered


def test_layer_norm_by_hand(lab, trace):
    w, eps = lab.weights.blocks[0], lab.config.layer_norm_eps
    x = trace["blocks.0.resid_mid"][2]
    with torch.no_grad():
        normalised = (x - x.mean()) / torch.sqrt(x.var(unbiased=False) + eps)
        assert ex4.check_layer_norm_by_hand(lab, trace, 0, 2, normalised * w.ln2_weight + w.ln2_bias)
        assert "weight" in ex4.check_layer_norm_by_hand(lab, trace, 0, 2, normalised).message
        unbiased = (x - x.mean()) / x.std() * w.ln2_weight + w.ln2_bias
        assert "biased" in ex4.check_layer_norm_by_hand(lab, trace, 0, 2, unbiased).message
    assert not ex4.check_layer_norm_by_hand(lab, trace, 0, 2, None).answered


def test_first_agreeing_reading(lab, trace):
    lens = logit_lens(lab, trace, position=5)  # this random model settles after block 0 here
    first = lens.first_layer_agreeing()
    assert first == 1 and lens.labels[first] == "after block 0"
