"""Every exercise checker accepts a right answer in any natural type (Python numbers, NumPy scalars, 0-d tensors,
tensors with gradients) and rejects wrong ones; the common mistake of each fixed exercise gets its own hint."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gpt2lab.exercises import attention as ex3, fine_tuning as ex10, sampling as ex06, transformer_block as ex4
from gpt2lab.exercises import embeddings as ex2, model_sizes as ex8, start_here as ex0
from gpt2lab.exercises.checks import as_number, as_vector, as_whole
from gpt2lab.training.classify import Example, LabelledData

from helpers import random_lab


@pytest.fixture(scope="module")
def lab():
    return random_lab((4, 4, 32, 64, 512), seed=5)


@pytest.fixture(scope="module")
def trace(lab):
    return lab.trace("The cat sat on the mat.")


def natural_types(value):
    """The same number as a learner may give it."""
    return [value, np.float32(value), np.float64(value), torch.tensor(value), torch.tensor([value]),
            torch.tensor(float(value), requires_grad=True)]


def test_as_number_and_as_whole():
    for v in natural_types(3):
        assert as_number(v) == 3.0 and as_whole(v) == 3
    assert as_whole(np.int64(4)) == 4 and as_whole(torch.tensor([0.2, 0.7, 0.1]).argmax()) == 1
    for bad in (True, np.bool_(True), "3", float("nan"), float("inf"), torch.ones(2), [3], None, torch.tensor(True)):
        assert as_number(bad) is None
    assert as_whole(2.5) is None and as_whole(torch.tensor(2.5)) is None
    like = torch.zeros(3)
    assert torch.equal(as_vector([1, 2, 3], like), torch.tensor([1.0, 2.0, 3.0]))
    assert as_vector("abc", like) is None


def test_most_attended_accepts_argmax(trace):
    row = trace["attn.pattern", 1][0, 4]
    best = int(row.argmax())
    assert ex3.check_most_attended(trace, 1, 0, 4, row.argmax())  # the 0-d tensor .argmax() returns
    for v in (best, np.int64(best), torch.tensor([best])):
        assert ex3.check_most_attended(trace, 1, 0, 4, v)
    wrong = 0 if best != 0 else 1
    assert not ex3.check_most_attended(trace, 1, 0, 4, torch.tensor(wrong))
    assert "after the query" in ex3.check_most_attended(trace, 1, 0, 4, torch.tensor(5)).message
    assert not ex3.check_most_attended(trace, 1, 0, 4, 1.5)


def test_masked_count_any_type(trace):
    T = len(trace.tokens)
    for v in natural_types(T * (T - 1) // 2):
        assert ex3.check_masked_count(trace, v)
    assert "MAY look" in ex3.check_masked_count(trace, torch.tensor(T * (T + 1) // 2)).message


def test_perplexity_accepts_a_0d_tensor():
    loss = 3.0
    for v in natural_types(math.exp(loss)):
        assert ex10.check_perplexity(v, loss), v
    assert ex10.check_perplexity(torch.exp(torch.tensor(loss)), loss)
    assert "loss itself" in ex10.check_perplexity(torch.tensor(loss), loss).message
    assert not ex10.check_perplexity(np.float32(10.0), loss)
    assert not ex10.check_perplexity("20", loss)


def test_temperature_probability_accepts_np_float32():
    logits = torch.randn(50, generator=torch.Generator().manual_seed(0))
    right = float(torch.softmax(logits / 0.5, -1).max())
    for v in (right, np.float32(right), torch.tensor(right), torch.softmax(logits / 0.5, -1).max().numpy()):
        assert ex06.check_temperature_probability(logits, 0.5, v), type(v)
    assert "temperature 1" in ex06.check_temperature_probability(logits, 0.5, np.float32(torch.softmax(logits, -1).max())).message
    assert not ex06.check_temperature_probability(logits, 0.5, np.float32(0.001))
    assert ex06.check_sharp_temperature(logits, np.float32(0.05))
    assert not ex06.check_sharp_temperature(logits, np.float64(5.0))


def test_layer_norm_unbiased_hint_fires(lab, trace):
    w, eps = lab.weights.blocks[0], lab.config.layer_norm_eps
    x = trace["blocks.0.resid_mid"][2]
    with torch.no_grad():
        right = (x - x.mean()) / torch.sqrt(x.var(unbiased=False) + eps) * w.ln2_weight + w.ln2_bias
        assert ex4.check_layer_norm_by_hand(lab, trace, 0, 2, right)
        assert ex4.check_layer_norm_by_hand(lab, trace, 0, 2, right.clone().requires_grad_())
        # the common mistake, written the way a learner writes it: torch.var's default (d - 1), with eps
        unbiased = (x - x.mean()) / torch.sqrt(x.var() + eps) * w.ln2_weight + w.ln2_bias
        verdict = ex4.check_layer_norm_by_hand(lab, trace, 0, 2, unbiased)
        assert not verdict and "biased variance" in verdict.message
        assert not ex4.check_layer_norm_by_hand(lab, trace, 0, 2, right + 0.1)


def test_settled_positions_is_not_degenerate_on_four_blocks(lab, trace):
    settled = ex4.settled_positions(lab, trace)
    T = len(trace.tokens)
    # by hand, from the trace: the lens after block n_layer - 2 against the final logits
    w = lab.weights
    resid = trace["resid_post", lab.config.n_layer - 2]
    early = torch.nn.functional.layer_norm(resid, (resid.shape[-1],), w.ln_final_weight, w.ln_final_bias,
                                           lab.config.layer_norm_eps) @ w.token_embedding.T
    assert settled == (early.argmax(-1) == trace.logits.argmax(-1)).nonzero().flatten().tolist()
    assert 0 < len(settled) < T  # neither none nor all: the answer is a real count on this 4-block model
    assert ex4.check_settled_positions(lab, trace, torch.tensor(len(settled)))
    assert "NOT settled" in ex4.check_settled_positions(lab, trace, T - len(settled)).message
    assert not ex4.check_settled_positions(lab, trace, None).answered


def test_first_agreeing_reading_takes_a_tensor(lab, trace):
    from gpt2lab.analysis.logit_lens import logit_lens

    lens = logit_lens(lab, trace, position=5)
    first = lens.first_layer_agreeing()
    assert ex4.check_first_agreeing_reading(lens, torch.tensor(first))
    assert not ex4.check_first_agreeing_reading(lens, 99)


class _FixedClassifier:
    classes = ["weather", "music"]

    def probabilities(self, sentences):
        return torch.tensor([[0.9, 0.1]] * len(sentences))


def test_own_sentence_not_fooled_by_punctuation_or_case():
    data = LabelledData(classes=["weather", "music"], train=[Example("The rain fell all day long.", "weather")],
                        test=[Example("She played the violin.", "music")])
    clf = _FixedClassifier()
    for copy in ("The rain fell all day long", "the rain fell  all day long!", "  THE RAIN FELL ALL DAY LONG. "):
        assert "in the dataset" in ex10.check_own_sentence(copy, "weather", clf, data).message
    assert ex10.check_own_sentence("A storm blew in from the sea", "weather", clf, data)
    assert not ex10.check_own_sentence("A storm blew in from the sea", "music", clf, data)


def test_other_checkers_take_natural_types(lab, trace):
    prompt = "The cat sat"
    n = len(lab.encode(prompt))
    assert ex0.check_prompt_length(lab, prompt, torch.tensor(n)) and not ex0.check_prompt_length(lab, prompt, n + 7)
    assert "characters" in ex0.check_prompt_length(lab, prompt, np.int64(len(prompt))).message
    p = lab.config.n_ctx * lab.config.d_model
    assert ex2.check_position_parameters(lab, np.int64(p)) and not ex2.check_position_parameters(lab, p + 1)
    share = 50257 * 768 / 124439808
    assert ex8.check_embedding_share(np.float32(share)) and not ex8.check_embedding_share(torch.tensor(0.5))


def test_how_gpt2_learned_checkers(lab, trace):
    from gpt2lab.exercises import how_gpt2_learned as ex9

    targets = trace.ids[1:]
    logp = torch.log_softmax(trace.logits[2], -1)
    right = -logp[targets[2]]
    for v in (right, right.item(), np.float32(right.item()), right.clone().requires_grad_()):
        assert ex9.check_token_loss(trace, targets, 2, v)
    assert "sign" in ex9.check_token_loss(trace, targets, 2, -right).message
    assert "probability itself" in ex9.check_token_loss(trace, targets, 2, logp[targets[2]].exp()).message
    assert not ex9.check_token_loss(trace, targets, 2, right + 1)
    assert ex9.check_uniform_loss(8192, np.float64(math.log(8192)))
    assert "perplexity" in ex9.check_uniform_loss(8192, 8192).message
    assert not ex9.check_uniform_loss(8192, 3.0)
