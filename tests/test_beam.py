"""Beam search: token for token equal to transformers' generate(num_beams=k, do_sample=False)."""

from __future__ import annotations

import pytest
import torch
from helpers import random_lab

from gpt2lab import LabError
from gpt2lab.generation.beam import beam_search, sequence_logprob
from gpt2lab.generation.loop import generate
from gpt2lab.generation.stopping import STOPPED_AT_END_OF_TEXT

PROMPTS = ["The cat sat on the mat.", "Once upon a time", "a"]


def hf_beams(lab, prompt, k, n, **options):
    ids = torch.tensor([lab.encode(prompt)])
    eos = lab.text_model().eos_id
    out = lab.hf_model.generate(ids, num_beams=k, do_sample=False, max_new_tokens=n, pad_token_id=eos,
                                eos_token_id=eos, return_dict_in_generate=True, output_scores=True, **options)
    return out.sequences[0, ids.shape[1]:].tolist(), float(out.sequences_scores[0])


def eos_prone_lab(shape, seed, boost):
    """A random model whose <|endoftext|> is likely, so beams end early and end-of-text handling is exercised."""
    lab = random_lab(shape, seed=seed)
    eos = lab.text_model().eos_id
    with torch.no_grad():
        lab.hf_model.transformer.wte.weight[eos] += boost * lab.hf_model.transformer.ln_f.bias
    return lab


SHAPES = [(2, 4, 32, 64, 512), (1, 2, 16, 48, 300), (3, 2, 24, 80, 700)]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "L{}H{}D{}C{}V{}".format(*s))
@pytest.mark.parametrize("k", [2, 3, 5])
@pytest.mark.parametrize("n", [1, 12])
def test_beam_search_equals_transformers(shape, k, n):
    lab = random_lab(shape, seed=sum(shape) + k)
    for prompt in PROMPTS:
        ours = beam_search(lab, prompt, num_beams=k, max_new_tokens=n)
        theirs, score = hf_beams(lab, prompt, k, n)
        assert ours.new_ids == theirs, prompt
        assert abs(ours.score - score) < 1e-4


@pytest.mark.parametrize("boost", [3.0, 6.0, 12.0])
@pytest.mark.parametrize("k", [2, 3, 5])
def test_end_of_text_handling_equals_transformers(boost, k):
    lab = eos_prone_lab((2, 4, 32, 64, 512), seed=7, boost=boost)
    eos = lab.text_model().eos_id
    ended = 0
    for prompt in PROMPTS:
        ours = beam_search(lab, prompt, num_beams=k, max_new_tokens=20)
        theirs, score = hf_beams(lab, prompt, k, 20)
        assert ours.new_ids == theirs, prompt
        assert abs(ours.score - score) < 1e-4
        if ours.new_ids and ours.new_ids[-1] == eos:
            ended += 1
            assert ours.stop_reason == STOPPED_AT_END_OF_TEXT
    if boost >= 12.0:
        assert ended > 0  # the case the test exists for really happens


def test_with_processors_equals_transformers():
    lab = random_lab((2, 4, 32, 64, 512), seed=11)
    for options in (dict(repetition_penalty=1.5), dict(no_repeat_ngram_size=2)):
        ours = beam_search(lab, PROMPTS[0], num_beams=3, max_new_tokens=12, **options)
        theirs, _ = hf_beams(lab, PROMPTS[0], 3, 12, **options)
        assert ours.new_ids == theirs


def test_steps_record_the_beams_and_what_was_pruned():
    lab = random_lab((2, 4, 32, 64, 512), seed=1)
    result = beam_search(lab, PROMPTS[0], num_beams=3, max_new_tokens=5)
    first = result.steps[0]
    assert len(first.candidates) == 6 and {c.parent for c in first.candidates} == {0}  # one beam at first
    assert len(first.kept) == 3 and len(first.pruned) == 3
    logprobs = [c.logprob for c in first.candidates]
    assert logprobs == sorted(logprobs, reverse=True)
    for step in result.steps[1:]:  # a candidate's log-probability is its parent's plus its token's
        for c in step.candidates:
            assert abs(c.logprob - sequence_logprob(lab, result.prompt_ids, list(c.new_ids))) < 1e-4
    assert abs(result.logprob - sequence_logprob(lab, result.prompt_ids, result.new_ids)) < 1e-4
    # beam search finds text at least as likely as greedy's, on this model
    greedy = generate(lab, PROMPTS[0], max_new_tokens=5, temperature=0)
    assert result.logprob >= sequence_logprob(lab, result.prompt_ids, greedy.new_ids) - 1e-5


def test_generate_and_lab_generate_run_beam_search():
    lab = random_lab((2, 4, 32, 64, 512), seed=1)
    theirs, _ = hf_beams(lab, PROMPTS[1], 4, 10)
    assert generate(lab, PROMPTS[1], max_new_tokens=10, num_beams=4).new_ids == theirs
    assert lab.generate(PROMPTS[1], 10, num_beams=4).new_ids == theirs


@pytest.mark.parametrize("kwargs,words", [(dict(num_beams=0), "num_beams"), (dict(num_beams=2.5), "num_beams"),
                                          (dict(max_new_tokens=0), "max_new_tokens")])
def test_bad_input(kwargs, words):
    lab = random_lab((1, 2, 16, 48, 300), seed=0)
    with pytest.raises(LabError, match=words):
        beam_search(lab, "a", **kwargs)


@pytest.fixture(scope="module")
def tiny():
    from gpt2lab.loading import EMBEDDED_PATH

    if not (EMBEDDED_PATH / "model.safetensors").exists():
        pytest.skip("the embedded model is not in gpt2lab/assets/tiny yet")
    import gpt2lab

    return gpt2lab.load("tiny")


@pytest.mark.parametrize("k,n", [(2, 20), (3, 12), (5, 25)])
def test_embedded_model_equals_transformers(tiny, k, n):
    for prompt in ("It is a truth universally acknowledged", "Mr. Darcy"):
        ours = beam_search(tiny, prompt, num_beams=k, max_new_tokens=n)
        theirs, score = hf_beams(tiny, prompt, k, n)
        assert ours.new_ids == theirs
        assert abs(ours.score - score) < 1e-4
