"""The exercise checkers of notebooks 00, 06 and 07: right answers pass, common mistakes get a hint."""

from __future__ import annotations

import pytest
import torch
from helpers import random_lab

from gpt2lab.exercises import generation as ex06
from gpt2lab.exercises import sampling as ex05
from gpt2lab.exercises import start_here as ex00
from gpt2lab.generation.stepper import Stepper
from gpt2lab.generation.sampling import SamplingSettings, filter_distribution


@pytest.fixture(scope="module")
def lab():
    return random_lab((2, 4, 32, 64, 512), seed=1)


def test_start_here(lab):
    prompt = "The cat sat on the mat."
    n = len(lab.encode(prompt))
    assert not ex00.check_prompt_length(lab, prompt, None).answered
    assert ex00.check_prompt_length(lab, prompt, n)
    assert not ex00.check_prompt_length(lab, prompt, len(prompt)) and "characters" in ex00.check_prompt_length(lab, prompt, len(prompt)).message
    assert not ex00.check_prompt_length(lab, prompt, "6")
    assert ex00.check_course_map("05") and ex00.check_course_map(5) and ex00.check_course_map("05_logits_and_sampling")
    assert not ex00.check_course_map("06") and "loop" in ex00.check_course_map("06").message
    assert not ex00.check_course_map("42") and not ex00.check_course_map(None).answered


def test_logits_and_sampling():
    logits = 2 * torch.randn(300, generator=torch.Generator().manual_seed(0))
    right = float(torch.softmax(logits / 0.5, -1).max())
    assert ex05.check_temperature_probability(logits, 0.5, right)
    assert ex05.check_temperature_probability(logits, 0.5, torch.tensor(right))
    plain = float(torch.softmax(logits, -1).max())
    assert "temperature 1" in ex05.check_temperature_probability(logits, 0.5, plain).message
    assert "multiplied" in ex05.check_temperature_probability(logits, 0.5, float(torch.softmax(logits * 0.5, -1).max())).message
    assert not ex05.check_temperature_probability(logits, 0.5, "0.3")
    kept = filter_distribution(logits, SamplingSettings(top_p=0.5)).n_kept
    # by hand: sort, cumulate, count up to and including the token that crosses 0.5
    cumulative = torch.softmax(logits, -1).sort(descending=True).values.cumsum(0)
    assert kept == int((cumulative < 0.5).sum()) + 1
    assert ex05.check_top_p_count(logits, 0.5, kept) and "One short" in ex05.check_top_p_count(logits, 0.5, kept - 1).message
    assert not ex05.check_top_p_count(logits, 0.5, kept + 5) and not ex05.check_top_p_count(logits, 0.5, None).answered
    assert ex05.check_sharp_temperature(logits, 0.05) and not ex05.check_sharp_temperature(logits, 3.0)
    assert not ex05.check_sharp_temperature(logits, 0) and not ex05.check_sharp_temperature(logits, -1)


def test_autoregressive_generation(lab):
    stepper = Stepper(lab, "The cat sat", temperature=1.0, seed=0)
    stepper.play(4)
    per_position = 2 * lab.config.n_layer * lab.config.d_model  # a key and a value, every head of every block
    assert ex06.check_cache_after_next_step(stepper, len(stepper.ids) * per_position)
    assert "NOW" in ex06.check_cache_after_next_step(stepper, (len(stepper.ids) - 1) * per_position).message
    assert not ex06.check_cache_after_next_step(stepper, None).answered and not ex06.check_cache_after_next_step(stepper, 2.0)
    without = sum(20 + i for i in range(50))
    assert without == 2225 and ex06.check_positions_without_cache(20, 50, 2225)
    assert "WITH the cache" in ex06.check_positions_without_cache(20, 50, 69).message
    assert "never read" in ex06.check_positions_without_cache(20, 50, 2225 + 70).message
    assert not ex06.check_forced_end(stepper, "end_of_text")  # not stopped yet
    stepper.branch(lab.text_model().eos_id)
    assert ex06.check_forced_end(stepper, "end_of_text") and not ex06.check_forced_end(stepper, "length")
    assert not ex06.check_forced_end(stepper, None).answered
