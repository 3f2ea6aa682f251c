"""Sampling: each step's arithmetic, parity with transformers' warpers, settings checks, seeded draws."""

from __future__ import annotations

import pytest
import torch
from transformers import LogitsProcessorList, TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

from gpt2lab import LabError
from gpt2lab.generation.sampling import (
    LAB_SETTINGS,
    SamplingSettings,
    apply_temperature,
    check_prompt,
    compare_settings,
    draw,
    entropy_bits,
    filter_distribution,
    kept_candidates,
    last_position_logits,
    make_generator,
    rank_of,
    top_k_filter,
    top_p_filter,
)


def hf_filtered(logits: torch.Tensor, temperature: float, top_k: int | None, top_p: float) -> torch.Tensor:
    """The distribution transformers' generate samples from: its warpers, in its order, then softmax."""
    warpers = LogitsProcessorList()
    if temperature != 1.0:
        warpers.append(TemperatureLogitsWarper(temperature))
    if top_k is not None:
        warpers.append(TopKLogitsWarper(top_k=top_k, min_tokens_to_keep=1))
    if top_p < 1.0:
        warpers.append(TopPLogitsWarper(top_p=top_p, min_tokens_to_keep=1))
    scores = warpers(torch.zeros(1, 1, dtype=torch.long), logits[None].clone())
    return torch.softmax(scores, dim=-1)[0]


SETTINGS_GRID = [
    (1.0, None, 1.0), (0.7, None, 1.0), (1.5, None, 1.0), (1.0, 40, 1.0), (1.0, None, 0.9), (0.7, 40, 0.9),
    (1.3, 5, 0.5), (0.2, 1, 1.0), (1.0, None, 0.01), (2.0, 3000, 0.95), (0.05, 10, 0.3),
]


@pytest.mark.parametrize("temperature,top_k,top_p", SETTINGS_GRID)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_filtered_distribution_equals_transformers_warpers(temperature, top_k, top_p, seed):
    gen = torch.Generator().manual_seed(seed)
    logits = 3 * torch.randn(2000, generator=gen)
    ours = filter_distribution(logits, SamplingSettings(temperature=temperature, top_k=top_k, top_p=top_p)).filtered
    theirs = hf_filtered(logits, temperature, top_k, top_p)
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=0)
    assert torch.equal(ours > 0, theirs > 0)  # exactly the same tokens survive
    assert abs(float(ours.sum()) - 1) < 1e-5


def test_ties_at_the_top_k_boundary_are_kept_as_transformers_does():
    logits = torch.tensor([5.0, 3.0, 3.0, 3.0, 1.0])
    kept = filter_distribution(logits, SamplingSettings(top_k=2)).kept
    assert kept.tolist() == [True, True, True, True, False]
    assert torch.equal(kept, hf_filtered(logits, 1.0, 2, 1.0) > 0)


def test_each_step_by_hand():
    logits = torch.tensor([[0.0, 0.0, 0.0], [2.0, 1.0, 0.0]])
    assert last_position_logits(logits).tolist() == [2.0, 1.0, 0.0]
    assert apply_temperature(torch.tensor([2.0, 1.0]), 0.5).tolist() == [4.0, 2.0]
    assert apply_temperature(torch.tensor([2.0, 1.0]), 2.0).tolist() == [1.0, 0.5]
    assert top_k_filter(torch.tensor([3.0, 1.0, 2.0]), 2).tolist() == [3.0, float("-inf"), 2.0]
    assert top_k_filter(torch.tensor([3.0, 1.0]), 99).tolist() == [3.0, 1.0]  # k above the vocabulary keeps all
    # softmax([2, 1, 0]) = [0.665, 0.245, 0.090]; running totals from the tail: 0.090, 0.335, 1.0
    assert top_p_filter(torch.tensor([2.0, 1.0, 0.0]), 0.7).tolist() == [2.0, 1.0, float("-inf")]  # 0.090 <= 0.3
    assert top_p_filter(torch.tensor([2.0, 1.0, 0.0]), 0.67).tolist() == [2.0, 1.0, float("-inf")]  # 0.335 > 0.33
    assert top_p_filter(torch.tensor([2.0, 1.0, 0.0]), 0.66).tolist() == [2.0, float("-inf"), float("-inf")]  # 0.335 <= 0.34
    assert top_p_filter(torch.tensor([2.0, 1.0, 0.0]), 0.95).tolist() == [2.0, 1.0, 0.0]  # 0.090 > 0.05
    # the most likely token always survives, however small top_p is
    assert top_p_filter(torch.tensor([2.0, 1.0, 0.0]), 1e-6).tolist() == [2.0, float("-inf"), float("-inf")]


def test_greedy_puts_all_mass_on_the_argmax_and_ignores_the_filters():
    logits = torch.tensor([0.5, 2.5, 2.5, -1.0])  # a tie: argmax takes the first, as generate(do_sample=False) does
    dist = filter_distribution(logits, SamplingSettings(temperature=0, top_k=3, top_p=0.5))
    assert dist.filtered.tolist() == [0.0, 1.0, 0.0, 0.0]
    torch.testing.assert_close(dist.probs, torch.softmax(logits, -1))
    gen = make_generator(0)
    state = gen.get_state()
    from gpt2lab.generation.sampling import choose

    assert choose(dist, gen) == 1
    assert torch.equal(gen.get_state(), state)  # greedy draws nothing


def test_temperature_sharpens_and_flattens():
    logits = torch.tensor([2.0, 1.0, 0.0, -1.0])
    cold = filter_distribution(logits, SamplingSettings(temperature=0.5)).filtered
    warm = filter_distribution(logits, SamplingSettings(temperature=2.0)).filtered
    plain = torch.softmax(logits, -1)
    assert cold[0] > plain[0] > warm[0]
    assert entropy_bits(cold) < entropy_bits(plain) < entropy_bits(warm)
    torch.testing.assert_close(warm, torch.softmax(logits / 2, -1))


def test_seeded_draws_repeat_and_match_the_global_generator():
    probs = torch.softmax(torch.randn(500, generator=torch.Generator().manual_seed(5)), -1)
    a = [draw(probs, make_generator(7)) for _ in range(3)]
    assert len(set(a)) == 1
    g1, g2 = make_generator(7), make_generator(7)
    assert [draw(probs, g1) for _ in range(20)] == [draw(probs, g2) for _ in range(20)]
    # transformers draws with torch.multinomial on the global generator: same seed, same tokens
    torch.manual_seed(7)
    g = make_generator(7)
    assert [int(torch.multinomial(probs[None], 1)) for _ in range(20)] == [draw(probs, g) for _ in range(20)]
    assert draw(torch.tensor([0.0, 0.0, 1.0]), make_generator(0)) == 2  # a cut token is never drawn


def test_draws_follow_the_distribution():
    probs = torch.tensor([0.5, 0.3, 0.2, 0.0])
    gen = make_generator(0)
    counts = torch.bincount(torch.tensor([draw(probs, gen) for _ in range(4000)]), minlength=4)
    assert counts[3] == 0
    torch.testing.assert_close(counts.float() / 4000, probs, atol=0.03, rtol=0)


def test_candidates_ranks_and_comparison():
    logits = torch.log(torch.tensor([0.1, 0.4, 0.2, 0.3]))
    dist = filter_distribution(logits, SamplingSettings(top_k=3))
    cands = kept_candidates(dist, lambda ids: [f"t{i}" for i in ids])
    assert [c.id for c in cands] == [1, 3, 2]
    assert [c.token for c in cands] == ["t1", "t3", "t2"]
    assert [round(c.prob, 4) for c in cands] == [round(0.4 / 0.9, 4), round(0.3 / 0.9, 4), round(0.2 / 0.9, 4)]
    assert abs(cands[-1].cumulative - 1) < 1e-6 and abs(cands[0].raw_prob - 0.4) < 1e-6
    assert len(kept_candidates(dist, lambda ids: [""] * len(ids), limit=2)) == 2
    assert rank_of(dist.probs, 1) == 1 and rank_of(dist.probs, 0) == 4
    compared = dict(compare_settings(3 * torch.randn(1000, generator=torch.Generator().manual_seed(0))))
    assert list(compared) == [label for label, _ in LAB_SETTINGS]
    assert compared["greedy"].n_kept == 1 and compared["top-k 40"].n_kept == 40
    assert compared["temperature 0.7"].n_kept == 1000 and 1 < compared["top-p 0.9"].n_kept < 1000
    assert entropy_bits(torch.tensor([0.25, 0.25, 0.25, 0.25])) == pytest.approx(2.0)


@pytest.mark.parametrize("kwargs,words", [
    (dict(top_k=0), "top_k must be a whole number of at least 1"),
    (dict(top_k=-3), "top_k must be"),
    (dict(top_k=2.5), "top_k must be"),
    (dict(top_p=0), "top_p must be a number above 0 and at most 1"),
    (dict(top_p=1.2), "top_p must be"),
    (dict(top_p=-0.1), "top_p must be"),
    (dict(temperature=-0.5), "temperature must be a number of 0 or more"),
    (dict(temperature=float("nan")), "temperature must be"),
    (dict(max_new_tokens=0), "max_new_tokens must be a whole number of at least 1"),
    (dict(max_new_tokens=-2), "max_new_tokens must be"),
    (dict(seed=-1), "seed must be"),
])
def test_bad_settings_get_one_clear_sentence(kwargs, words):
    with pytest.raises(LabError) as info:
        SamplingSettings(**kwargs)
    message = str(info.value)
    assert message.startswith(words)
    assert message.count(". ") == 0 and message.endswith(".")  # one sentence


def test_prompt_checks_and_settings_in_words():
    with pytest.raises(LabError, match="The prompt is empty"):
        check_prompt("")
    with pytest.raises(LabError, match="must be a text"):
        check_prompt(None)
    assert SamplingSettings(temperature=0.7, top_k=40, top_p=0.9).describe() == "temperature 0.7, top-k 40, top-p 0.9"
    assert SamplingSettings(temperature=0).describe() == "greedy (temperature 0)"
    assert SamplingSettings(top_k=1, top_p=1.0, max_new_tokens=1).max_new_tokens == 1
