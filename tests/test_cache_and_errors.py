"""The KV cache gives the same numbers as recomputing; learner mistakes get one clear sentence."""

from __future__ import annotations

import pytest
import torch

import gpt2lab
from gpt2lab import LabError

from helpers import RANDOM_SHAPES, assert_stage_close, random_lab


@pytest.mark.parametrize("shape", RANDOM_SHAPES, ids=lambda s: "L{}H{}D{}C{}V{}".format(*s))
def test_cached_step_equals_full_recompute_for_every_stage(shape):
    lab = random_lab(shape, seed=7)
    T = min(lab.config.n_ctx, 11)
    ids = torch.randint(0, lab.config.vocab_size, (T,), generator=torch.Generator().manual_seed(2))
    full = lab.trace(ids)
    cache = lab.new_cache()
    lab.trace(ids[:-3], cache=cache)
    lab.trace(ids[-3:-1], cache=cache)  # two positions at once, then one
    last = lab.trace(ids[-1:], cache=cache)
    assert cache.length == T and cache.ids == ids.tolist()
    assert last.start == T - 1 and last.context_ids.tolist() == ids.tolist()
    assert last.tokens == full.tokens[-1:] and last.context_tokens == full.tokens
    assert last.names == full.names
    for name in full.names:
        assert_stage_close(last[name], full[name][..., -1:, :], name)


def test_cache_truncate_then_continue_is_a_branch():
    lab = random_lab(RANDOM_SHAPES[1], seed=8)
    cache = lab.new_cache()
    lab.trace(torch.tensor([5, 6, 7, 8]), cache=cache)
    cache.truncate(2)  # go back to [5, 6] and take another path
    branch = lab.trace(torch.tensor([9]), cache=cache)
    assert_stage_close(branch.logits, lab.trace(torch.tensor([5, 6, 9])).logits[-1:], "logits")
    with pytest.raises(ValueError):
        cache.truncate(5)


def test_keep_only_some_stages_saves_memory_and_leaves_logits_unchanged():
    lab = random_lab(RANDOM_SHAPES[3])
    ids = torch.arange(20)
    full = lab.trace(ids)
    small = lab.trace(ids, keep=["blocks.*.attn.pattern", "logits"])
    assert small.names == [f"blocks.{i}.attn.pattern" for i in range(4)] + ["logits"]
    assert small.nbytes() < full.nbytes() / 3
    assert torch.equal(small.logits, full.logits)
    assert lab.trace(ids, keep=[]).names == []
    with pytest.raises(LabError, match="was not kept"):
        small["blocks.0.ln1"]
    with pytest.raises(LabError, match="No stage is called"):
        full["blocks.0.attention"]
    with pytest.raises(LabError, match="No stage is called 'blocks.9.ln1'"):
        lab.trace(ids, keep=["blocks.9.ln1"])


def test_bad_inputs_get_one_clear_sentence():
    lab = random_lab(RANDOM_SHAPES[0])  # context 16, vocabulary 300
    cases = [
        ("", "The input is empty"),
        ([], "The input is empty"),
        (list(range(17)), "17 tokens long but this model's context window holds 16"),
        ([1, 300], "Token id 300 is outside this model's vocabulary \\(ids 0 to 299\\)"),
        ([-1], "Token id -1 is outside"),
        ([[1, 2]], "flat list of whole numbers"),
        ([1.5], "flat list of whole numbers"),
    ]
    for given, message in cases:
        with pytest.raises(LabError, match=message) as err:
            lab.trace(given)
        assert err.value.__traceback__ is not None and "\n" not in str(err.value)
    cache = lab.new_cache()
    lab.trace(list(range(15)), cache=cache)
    with pytest.raises(LabError, match="context window is full: 15 tokens are cached and 2 more"):
        lab.trace([1, 2], cache=cache)
    assert cache.length == 15  # the failed call changed nothing
    lab.trace([1], cache=cache)  # exactly full is allowed
    assert cache.length == 16


def test_unknown_model_name_lists_the_valid_ones():
    with pytest.raises(LabError) as err:
        gpt2lab.load("gpt3")
    msg = str(err.value)
    for name in ("tiny", "gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl", "distilgpt2"):
        assert repr(name) in msg


def test_cuda_request_without_a_gpu_is_explained():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(LabError, match="No CUDA GPU"):
        gpt2lab.pick_device("cuda")
    assert gpt2lab.pick_device(None).type == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_trace_agrees_with_cpu_and_stays_beside_the_weights():
    cpu = random_lab(RANDOM_SHAPES[3], seed=4)
    gpu = gpt2lab.Lab(cpu.hf_model.__class__(cpu.hf_model.config).to("cuda"), cpu.tokenizer, name="gpu", device="cuda")
    gpu.hf_model.load_state_dict(cpu.hf_model.state_dict())
    a, b = cpu.trace(torch.arange(30)), gpu.trace(torch.arange(30))
    for name in a.names:
        assert b[name].device == gpu.weights.token_embedding.device
        assert_stage_close(b[name].cpu(), a[name], name, tol=1e-4)
