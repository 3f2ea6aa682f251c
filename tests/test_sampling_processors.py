"""The repetition penalty, the n-gram ban and min-p: parity with transformers' own processors, in generate's order."""

from __future__ import annotations

import pytest
import torch
from helpers import random_lab
from transformers import (
    LogitsProcessorList,
    MinPLogitsWarper,
    NoRepeatNGramLogitsProcessor,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from gpt2lab import LabError
from gpt2lab.generation.loop import generate
from gpt2lab.generation.stepper import Stepper
from gpt2lab.generation.sampling import (
    SamplingSettings,
    apply_repetition_penalty,
    banned_ngram_tokens,
    filter_distribution,
    min_p_filter,
    no_repeat_ngram_filter,
)


def hf_processed(logits, context, s: SamplingSettings, do_sample=True):
    """transformers' processors and warpers, in the order generate builds them, then softmax."""
    procs = LogitsProcessorList()
    if s.repetition_penalty != 1.0:
        procs.append(RepetitionPenaltyLogitsProcessor(s.repetition_penalty))
    if s.no_repeat_ngram_size > 0:
        procs.append(NoRepeatNGramLogitsProcessor(s.no_repeat_ngram_size))
    if do_sample:
        if s.temperature != 1.0:
            procs.append(TemperatureLogitsWarper(s.temperature))
        if s.top_k is not None:
            procs.append(TopKLogitsWarper(top_k=s.top_k, min_tokens_to_keep=1))
        if s.top_p < 1.0:
            procs.append(TopPLogitsWarper(top_p=s.top_p, min_tokens_to_keep=1))
        if s.min_p > 0:
            procs.append(MinPLogitsWarper(min_p=s.min_p, min_tokens_to_keep=1))
    return procs(torch.tensor([context]), logits[None].clone())[0]


def random_settings(gen: torch.Generator) -> SamplingSettings:
    pick = lambda options: options[int(torch.randint(len(options), (1,), generator=gen))]  # noqa: E731
    return SamplingSettings(
        temperature=pick([0.3, 0.7, 1.0, 1.3, 2.0]),
        top_k=pick([None, 1, 5, 40, 300]),
        top_p=pick([1.0, 0.95, 0.9, 0.5, 0.1]),
        min_p=pick([0.0, 0.0, 0.01, 0.05, 0.2, 0.5]),
        repetition_penalty=pick([1.0, 1.0, 0.8, 1.2, 1.5, 3.0]),
        no_repeat_ngram_size=pick([0, 0, 1, 2, 3]),
    )


@pytest.mark.parametrize("case", range(60))
def test_filtered_distribution_equals_transformers_processors(case):
    gen = torch.Generator().manual_seed(case)
    vocab = 300
    settings = random_settings(gen)
    # a context with repeats, so the n-gram ban and the penalty have something to act on
    context = torch.randint(0, 12, (int(torch.randint(1, 40, (1,), generator=gen)),), generator=gen).tolist()
    logits = 3 * torch.randn(vocab, generator=gen)
    logits[:12] += 2  # the context's tokens are among the likely ones
    try:
        ours = filter_distribution(logits, settings, context).filtered
    except LabError:  # the ban forbids every token (possible with n = 1 on a tiny vocabulary): not this test
        pytest.skip("every token banned")
    theirs = torch.softmax(hf_processed(logits, context, settings), -1)
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=0)
    assert torch.equal(ours > 0, theirs > 0)


@pytest.mark.parametrize("case", range(20))
def test_greedy_takes_the_argmax_of_the_processed_logits(case):
    gen = torch.Generator().manual_seed(100 + case)
    s = random_settings(gen)
    s = SamplingSettings(temperature=0, repetition_penalty=s.repetition_penalty or 1.0,
                         no_repeat_ngram_size=s.no_repeat_ngram_size)
    context = torch.randint(0, 8, (20,), generator=gen).tolist()
    logits = torch.randn(50, generator=gen)
    logits[:8] += 3
    dist = filter_distribution(logits, s, context)
    assert int(dist.filtered.argmax()) == int(hf_processed(logits, context, s, do_sample=False).argmax())


def test_each_new_stage_by_hand():
    assert apply_repetition_penalty(torch.tensor([2.0, -1.0, 3.0]), [0, 1, 1], 2.0).tolist() == [1.0, -2.0, 3.0]
    assert banned_ngram_tokens([5, 6, 7, 5, 6], 3) == [7]
    assert banned_ngram_tokens([5, 6, 7, 5, 6], 2) == [7]  # "6" was followed by 7
    assert sorted(banned_ngram_tokens([5, 6, 7], 1)) == [5, 6, 7]
    assert banned_ngram_tokens([5], 3) == []
    assert no_repeat_ngram_filter(torch.zeros(8), [1, 2, 1], 2).tolist() == [0, 0, float("-inf"), 0, 0, 0, 0, 0]
    # softmax([2, 1, 0]) = [0.665, 0.245, 0.090]: the bar 0.4 * 0.665 = 0.266 cuts the last two
    assert min_p_filter(torch.tensor([2.0, 1.0, 0.0]), 0.4).tolist() == [2.0, float("-inf"), float("-inf")]
    assert min_p_filter(torch.tensor([2.0, 1.0, 0.0]), 0.0).tolist() == [2.0, 1.0, 0.0]


def test_stage_changes_name_what_each_stage_did():
    s = SamplingSettings(repetition_penalty=2.0, no_repeat_ngram_size=2, top_k=3, min_p=0.5)
    logits = torch.tensor([4.0, 3.0, 2.0, 1.0, 0.0, -1.0])
    dist = filter_distribution(logits, s, [0, 1, 0])  # "0" was followed by 1: 1 banned; 0 and 1 penalised
    rows = {name: (cut, changed) for name, cut, changed in dist.stage_changes()}
    assert rows["repetition penalty"] == (0, 2)
    assert rows["no repeated n-gram"] == (1, 0)
    assert rows["top-k"] == (2, 0)  # kept: 2.0 (id 0 after the penalty), 2.0 (id 2), 1.0 (id 3)
    assert rows["min-p"][0] == 1  # id 3 holds e^-1 = 0.37 of the top: below the bar 0.5
    assert dist.kept.tolist() == [True, False, True, False, False, False]


@pytest.mark.parametrize("bad,words", [
    (dict(repetition_penalty=0), "repetition_penalty"), (dict(no_repeat_ngram_size=-1), "no_repeat_ngram_size"),
    (dict(no_repeat_ngram_size=1.5), "no_repeat_ngram_size"), (dict(min_p=1.5), "min_p"), (dict(min_p="a"), "min_p"),
])
def test_bad_new_settings_raise_one_clear_sentence(bad, words):
    with pytest.raises(LabError, match=words):
        SamplingSettings(**bad)


def test_a_stage_that_reads_the_text_needs_the_context():
    with pytest.raises(LabError, match="context_ids"):
        filter_distribution(torch.zeros(5), SamplingSettings(repetition_penalty=1.2))


# --- in generation: tokens equal transformers' generate ---------------------------------------------------

PROMPT = "The cat sat on the mat. The cat"


@pytest.fixture(scope="module")
def lab():
    return random_lab((2, 4, 32, 64, 512), seed=1)


def hf_generate(lab, prompt, n, **kwargs):
    ids = torch.tensor([lab.encode(prompt)])
    eos = lab.text_model().eos_id
    out = lab.hf_model.generate(ids, max_new_tokens=n, pad_token_id=eos, eos_token_id=eos,
                                output_scores=True, return_dict_in_generate=True, **kwargs)
    return out.sequences[0, ids.shape[1]:].tolist(), out


@pytest.mark.parametrize("options", [
    dict(temperature=1.0, repetition_penalty=1.5),
    dict(temperature=0.8, top_k=40, no_repeat_ngram_size=2),
    dict(temperature=1.2, min_p=0.1),
    dict(temperature=0.9, top_p=0.9, min_p=0.05, repetition_penalty=1.3, no_repeat_ngram_size=3),
])
def test_sampled_tokens_equal_transformers_generate(lab, options):
    result = generate(lab, PROMPT, max_new_tokens=15, seed=3, **options)
    torch.manual_seed(3)
    hf_options = dict(options, top_k=options.get("top_k", 0))
    theirs, out = hf_generate(lab, PROMPT, 15, do_sample=True, **hf_options)
    assert result.new_ids == theirs
    for step, scores in zip(result.steps, out.scores):
        torch.testing.assert_close(step.filtered, torch.softmax(scores[0], -1), atol=1e-5, rtol=0)


@pytest.mark.parametrize("options", [dict(repetition_penalty=2.0), dict(no_repeat_ngram_size=2),
                                     dict(repetition_penalty=1.3, no_repeat_ngram_size=3)])
def test_greedy_with_processors_equals_transformers_generate(lab, options):
    result = generate(lab, PROMPT, max_new_tokens=20, temperature=0, **options)
    theirs, _ = hf_generate(lab, PROMPT, 20, do_sample=False, **options)
    assert result.new_ids == theirs
    if "no_repeat_ngram_size" in options:  # the ban holds: no n-gram of the text repeats
        n = options["no_repeat_ngram_size"]
        ids = result.ids
        grams = [tuple(ids[i:i + n]) for i in range(len(ids) - n + 1)]
        assert len(grams) == len(set(grams))


def test_stepper_uses_the_new_settings(lab):
    s = SamplingSettings(temperature=0.9, repetition_penalty=1.4, no_repeat_ngram_size=2, min_p=0.05, seed=5)
    stepper = Stepper(lab, PROMPT, s)
    stepper.play(10)
    assert stepper.new_ids == generate(lab, PROMPT, settings=SamplingSettings(**{**s.to_dict(), "max_new_tokens": 10})).new_ids
