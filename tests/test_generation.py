"""Generation: parity with transformers' generate, step records, the KV cache, stop reasons, the Stepper."""

from __future__ import annotations

import pytest
import torch
from helpers import RANDOM_SHAPES, assert_stage_close, random_lab

from gpt2lab import LabError
from gpt2lab.generation.loop import generate
from gpt2lab.generation.stepper import Stepper
from gpt2lab.generation.stopping import STOPPED_AT_CONTEXT_FULL, STOPPED_AT_END_OF_TEXT, STOPPED_AT_LENGTH
from gpt2lab.generation.sampling import SamplingSettings, filter_distribution

PROMPT = "The cat sat on the mat."


@pytest.fixture(scope="module")
def lab():
    return random_lab((2, 4, 32, 64, 512), seed=1)


@pytest.fixture(scope="module")
def short_lab():
    return random_lab((1, 1, 8, 16, 300), seed=2)  # a context window of 16 tokens


def hf_generate(lab, prompt, n, **kwargs):
    ids = torch.tensor([lab.encode(prompt)])
    eos = lab.text_model().eos_id
    out = lab.hf_model.generate(ids, max_new_tokens=n, pad_token_id=eos, eos_token_id=eos,
                                output_scores=True, output_logits=True, return_dict_in_generate=True, **kwargs)
    return out.sequences[0, ids.shape[1]:].tolist(), out


def eos_lab(shape=(2, 4, 32, 64, 512)):
    """A random model that (nearly) always predicts <|endoftext|>: the final LayerNorm outputs its embedding."""
    lab = random_lab(shape, seed=3)
    eos = lab.text_model().eos_id
    with torch.no_grad():
        wte = lab.hf_model.transformer.wte.weight
        wte[eos] *= 10
        lab.hf_model.transformer.ln_f.weight.zero_()
        lab.hf_model.transformer.ln_f.bias.copy_(wte[eos])
    return lab


@pytest.mark.parametrize("shape", RANDOM_SHAPES, ids=lambda s: "L{}H{}D{}C{}V{}".format(*s))
def test_greedy_equals_transformers_token_for_token(shape):
    lab = random_lab(shape, seed=4)
    n = min(20, shape[3] - len(lab.encode(PROMPT)))
    result = generate(lab, PROMPT, max_new_tokens=n, temperature=0)
    theirs, _ = hf_generate(lab, PROMPT, n, do_sample=False)
    assert result.new_ids == theirs
    assert len(result.steps) == len(theirs)
    assert all(step.prob == 1.0 and step.rank == 1 for step in result.steps)


@pytest.mark.parametrize("temperature,top_k,top_p", [(1.0, None, 1.0), (0.7, 40, 0.9), (1.5, 5, 1.0), (0.9, None, 0.5)])
def test_sampled_distributions_and_tokens_equal_transformers(lab, temperature, top_k, top_p):
    result = generate(lab, PROMPT, max_new_tokens=15, temperature=temperature, top_k=top_k, top_p=top_p, seed=3,
                      keep=["logits"])
    torch.manual_seed(3)  # transformers draws from the global generator; we from our own, seeded alike
    theirs, out = hf_generate(lab, PROMPT, 15, do_sample=True, temperature=temperature, top_k=top_k or 0, top_p=top_p)
    assert result.new_ids == theirs
    settings = SamplingSettings(temperature=temperature, top_k=top_k, top_p=top_p)
    for step, scores, logits in zip(result.steps, out.scores, out.logits):
        hf_dist = torch.softmax(scores[0], -1)  # what transformers sampled from
        # the same logits through our filters give transformers' distribution to 1e-6 ...
        torch.testing.assert_close(filter_distribution(logits[0], settings).filtered, hf_dist, atol=1e-6, rtol=0)
        # ... and our own forward's logits are transformers' to float32 noise, so the step's record is too
        assert_stage_close(step.trace.logits[-1], logits[0], "logits")
        torch.testing.assert_close(step.filtered, hf_dist, atol=1e-5, rtol=0)
        assert torch.equal(step.filtered > 0, hf_dist > 0)


def test_same_seed_same_text_other_seed_other_text(lab):
    a = generate(lab, PROMPT, max_new_tokens=20, temperature=1.2, seed=11)
    b = generate(lab, PROMPT, max_new_tokens=20, temperature=1.2, seed=11)
    c = generate(lab, PROMPT, max_new_tokens=20, temperature=1.2, seed=12)
    assert a.new_ids == b.new_ids and a.text == b.text
    assert a.new_ids != c.new_ids
    state = torch.get_rng_state()
    generate(lab, PROMPT, max_new_tokens=5, temperature=1.0, seed=1)
    assert torch.equal(state, torch.get_rng_state())  # the global generator is never touched


def test_step_records(lab):
    result = generate(lab, PROMPT, max_new_tokens=6, temperature=0.8, top_k=10, seed=0)
    n_prompt = len(result.prompt_ids)
    vocab = lab.config.vocab_size
    for i, step in enumerate(result.steps):
        assert step.position == n_prompt + i
        assert step.context_ids.tolist() == result.ids[: step.position]
        assert step.probs.shape == (vocab,) and step.filtered.shape == (vocab,)
        assert abs(float(step.probs.sum()) - 1) < 1e-5 and abs(float(step.filtered.sum()) - 1) < 1e-5
        assert step.n_kept == 10 == len(step.candidates) == int((step.filtered > 0).sum())
        cands = step.candidates
        assert [c.prob for c in cands] == sorted((c.prob for c in cands), reverse=True)
        assert abs(cands[-1].cumulative - 1) < 1e-5 and cands[0].cumulative == pytest.approx(cands[0].prob)
        assert step.token_id == result.new_ids[i] and step.token == lab.token_strings([step.token_id])[0]
        assert step.prob == pytest.approx(float(step.filtered[step.token_id]))
        assert step.raw_prob == pytest.approx(float(step.probs[step.token_id]))
        assert step.rank == 1 + int((step.probs > step.probs[step.token_id]).sum()) and 1 <= step.rank <= 10
        assert not step.forced
        # the KV cache at work: the first step reads the prompt, every later step ONE new position
        assert len(step.trace.ids) == (n_prompt if i == 0 else 1)
        assert step.trace.start == (0 if i == 0 else step.position - 1)
        assert step.attention.shape == (lab.config.n_layer, lab.config.n_head, step.position)
        torch.testing.assert_close(step.attention.sum(-1), torch.ones(lab.config.n_layer, lab.config.n_head))
        assert "logits" not in step.trace and "blocks.0.attn.pattern" in step.trace
    assert result.text == lab.decode(result.ids) and result.completion == lab.decode(result.new_ids)
    assert result.stop_reason == STOPPED_AT_LENGTH and len(result.new_ids) == 6


def test_cached_steps_equal_a_full_forward(lab):
    """Each step's logits from the cache equal a fresh forward pass over the whole context."""
    result = generate(lab, PROMPT, max_new_tokens=5, temperature=1.0, seed=0, keep=["logits"])
    for step in result.steps:
        full = lab.trace(step.context_ids, keep=["logits"]).logits[-1]
        assert_stage_close(step.trace.logits[-1], full, "logits")
        with torch.no_grad():
            hf = lab.hf_model(step.context_ids[None]).logits[0, -1]
        assert_stage_close(step.trace.logits[-1], hf, "logits vs transformers")


def test_keep_and_distributions_control_memory(lab):
    light = generate(lab, PROMPT, max_new_tokens=4, seed=0, keep=(), distributions=False)
    full = generate(lab, PROMPT, max_new_tokens=4, seed=0, keep=None)
    assert light.new_ids == full.new_ids
    assert light.steps[1].trace.names == [] and light.steps[1].probs is None and light.steps[1].filtered is None
    assert light.steps[1].candidates == full.steps[1].candidates
    assert full.steps[1].trace.names == lab.stage_names()
    with pytest.raises(LabError, match="was not kept"):
        _ = light.steps[0].attention


def test_stop_reason_end_of_text():
    lab = eos_lab()
    eos = lab.text_model().eos_id
    result = generate(lab, PROMPT, max_new_tokens=10, temperature=0)
    assert result.stop_reason == STOPPED_AT_END_OF_TEXT and result.new_ids == [eos]
    assert result.text == PROMPT and result.completion == ""
    theirs, _ = hf_generate(lab, PROMPT, 10, do_sample=False)
    assert theirs == [eos]  # transformers stops there too


def test_stop_reason_context_full(short_lab):
    n_ctx = short_lab.config.n_ctx
    prompt_ids = [5, 6, 7, 8] * 3 + [9, 10]  # 14 of the 16 positions
    prompt = short_lab.decode(prompt_ids)
    assert len(short_lab.encode(prompt)) == 14
    result = generate(short_lab, prompt, max_new_tokens=10, temperature=0.0)
    assert result.stop_reason == STOPPED_AT_CONTEXT_FULL and len(result.ids) == n_ctx and len(result.steps) == 2
    theirs, _ = hf_generate(short_lab, prompt, 2, do_sample=False)
    assert result.new_ids == theirs
    full = generate(short_lab, short_lab.decode(list(range(40, 56))), max_new_tokens=3)  # exactly 16 tokens
    assert full.stop_reason == STOPPED_AT_CONTEXT_FULL and full.steps == []
    with pytest.raises(LabError, match="context window holds 16"):
        generate(short_lab, short_lab.decode(list(range(40, 57))), max_new_tokens=3)


@pytest.mark.parametrize("kwargs,words", [
    (dict(prompt=""), "The prompt is empty"),
    (dict(top_k=0), "top_k must be"),
    (dict(top_k=-1), "top_k must be"),
    (dict(top_p=0.0), "top_p must be"),
    (dict(top_p=1.5), "top_p must be"),
    (dict(temperature=-1.0), "temperature must be"),
    (dict(max_new_tokens=0), "max_new_tokens must be"),
])
def test_bad_input_to_generate(lab, kwargs, words):
    args = dict(prompt=PROMPT) | kwargs
    with pytest.raises(LabError, match=words):
        generate(lab, **args)


# --- the Stepper ---------------------------------------------------------------------------------------


def test_stepper_forward_equals_generate(lab):
    stepper = Stepper(lab, PROMPT, temperature=0.9, top_k=20, seed=4, max_new_tokens=12)
    steps = stepper.play(100)
    result = generate(lab, PROMPT, max_new_tokens=12, temperature=0.9, top_k=20, seed=4)
    assert stepper.new_ids == result.new_ids and len(steps) == 12
    assert stepper.stop_reason == STOPPED_AT_LENGTH and stepper.text == result.text
    with pytest.raises(LabError, match="Generation has stopped because the requested number"):
        stepper.step()


def test_stepper_back_branch_goto_reset(lab):
    stepper = Stepper(lab, PROMPT, temperature=1.0, seed=0, max_new_tokens=30)
    first = [stepper.step() for _ in range(4)]
    path_a = tuple(stepper.new_ids)
    removed = stepper.back()
    assert removed is first[-1] and tuple(stepper.new_ids) == path_a[:3]
    assert stepper.cache.length == len(stepper.ids) - 1
    again = stepper.step()  # one new position, attending to the whole context
    assert len(again.trace.ids) == 1 and again.position == first[-1].position
    torch.testing.assert_close(again.probs, first[-1].probs)  # the same context: the same distribution
    # branch: replace the newest token with the least likely kept candidate
    other = next(c.id for c in again.candidates if c.id not in (again.token_id, path_a[-1]))
    branched = stepper.branch(other)
    assert branched.forced and branched.token_id == other and stepper.new_ids[-1] == other
    assert len(branched.trace.ids) == 1
    path_b = tuple(stepper.new_ids)
    stepper.step()
    leaves = stepper.branches()
    assert path_a in leaves and path_b + (stepper.new_ids[-1],) in leaves
    # go back to the first path: its records come back, and the next step reads only what is missing
    stepper.goto(path_a)
    assert tuple(stepper.new_ids) == path_a and [s.token_id for s in stepper.steps] == list(path_a)
    assert stepper.steps[:3] == first[:3]
    nxt = stepper.step()
    assert nxt.context_ids.tolist() == list(stepper.prompt_ids) + list(path_a)
    expected = lab.trace(nxt.context_ids, keep=["logits"]).logits[-1]
    assert_stage_close(torch.log(nxt.probs), torch.log_softmax(expected, -1), "after goto")
    stepper.reset()
    assert stepper.steps == [] and stepper.new_ids == [] and stepper.branches() == []
    with pytest.raises(LabError, match="nothing to go back to"):
        stepper.back()
    replay = Stepper(lab, PROMPT, temperature=1.0, seed=0, max_new_tokens=30)
    assert [s.token_id for s in replay.play(3)] == [s.token_id for s in stepper.play(3)]  # reset restarts the draws


def test_stepper_back_to_the_prompt_and_step_again(lab):
    stepper = Stepper(lab, PROMPT, temperature=0)
    a = stepper.step()
    stepper.back()
    b = stepper.step()
    assert a.token_id == b.token_id and len(b.trace.ids) == 1  # only the last prompt token is read again
    torch.testing.assert_close(a.probs, b.probs, atol=1e-6, rtol=0)


def test_stepper_stop_reasons(short_lab):
    lab = eos_lab()
    stepper = Stepper(lab, PROMPT, temperature=0)
    stepper.step()
    assert stepper.stop_reason == STOPPED_AT_END_OF_TEXT
    with pytest.raises(LabError, match="end-of-document"):
        stepper.step()
    # a forced <|endoftext|> ends generation too
    stepper = Stepper(short_lab, "The cat", temperature=1.0, seed=0)
    stepper.step()
    stepper.branch(short_lab.text_model().eos_id)
    assert stepper.stop_reason == STOPPED_AT_END_OF_TEXT and stepper.text == "The cat"
    stepper.back()
    assert stepper.stop_reason is None
    # the context window: 14 + 2 = 16 tokens
    stepper = Stepper(short_lab, short_lab.decode([5, 6, 7, 8] * 3 + [9, 10]), temperature=1.0, seed=0, max_new_tokens=50)
    assert len(stepper.play(10)) == 2 and stepper.stop_reason == STOPPED_AT_CONTEXT_FULL
    with pytest.raises(LabError, match="context window"):
        stepper.step()
    stepper.back()
    assert stepper.step().position == 15


def test_stepper_bad_input(lab):
    with pytest.raises(LabError, match="The prompt is empty"):
        Stepper(lab, "")
    stepper = Stepper(lab, PROMPT)
    with pytest.raises(LabError, match="A forced token must be a token id from 0 to 511"):
        stepper.step(token_id=512)
    with pytest.raises(LabError, match="nothing to go back to"):
        stepper.branch(3)
    with pytest.raises(LabError, match="not in the tree"):
        stepper.goto((1, 2, 3))
    with pytest.raises(LabError, match="top_p must be"):
        Stepper(lab, PROMPT, top_p=0)


# --- the embedded model ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny():
    from gpt2lab.loading import EMBEDDED_PATH

    if not (EMBEDDED_PATH / "model.safetensors").exists():
        pytest.skip("the embedded model is not in gpt2lab/assets/tiny yet")
    import gpt2lab

    return gpt2lab.load("tiny")


def test_embedded_model_greedy_and_sampled_equal_transformers(tiny):
    prompt = "It is a truth universally acknowledged"
    result = generate(tiny, prompt, max_new_tokens=40, temperature=0)
    theirs, _ = hf_generate(tiny, prompt, 40, do_sample=False)
    assert result.new_ids == theirs
    sampled = generate(tiny, prompt, max_new_tokens=30, temperature=0.8, top_k=40, top_p=0.95, seed=1234)
    torch.manual_seed(1234)
    theirs, out = hf_generate(tiny, prompt, 30, do_sample=True, temperature=0.8, top_k=40, top_p=0.95)
    assert sampled.new_ids == theirs
    for step, scores in zip(sampled.steps, out.scores):
        torch.testing.assert_close(step.filtered, torch.softmax(scores[0], -1), atol=1e-5, rtol=0)


def test_lab_generate_delegates(lab):
    ours = lab.generate(PROMPT, 8, temperature=0.9, top_k=30, seed=6)
    assert ours.new_ids == generate(lab, PROMPT, max_new_tokens=8, temperature=0.9, top_k=30, seed=6).new_ids
    assert lab.generate(PROMPT, 3, keep=(), distributions=False).steps[0].probs is None
