"""Notebook 09's induction run: copying windows, head measurements, a seeded run, its summary, figure and live view."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from gpt2lab.analysis.head_scores import even_spread_induction, even_spread_previous_token, repeated_random_tokens
from gpt2lab.errors import LabError
from gpt2lab.training.induction_run import (FORMED_SCORE, InductionConfig, InductionHistory, copying_batch,
                                            head_patterns, measure_heads, probe_sequences, score_rise,
                                            train_induction_run)
from gpt2lab.training.scratch import new_small_gpt2
from gpt2lab.viz.figures import LabFigure
from gpt2lab.viz.induction_plots import circuit_plot, induction_run_plot
from gpt2lab.widgets.induction_widget import LiveInductionPlot

SMALL = InductionConfig(d_model=32, batch_size=8, max_steps=20, eval_every=10)  # seconds, not minutes


def test_copying_windows_repeat_one_span_and_weigh_only_the_copies():
    config = InductionConfig(batch_size=16)
    windows, weights = copying_batch(config, torch.Generator().manual_seed(3))
    assert windows.shape == (16, config.block_size + 1) and weights.shape == (16, config.block_size)
    assert int(windows.max()) <= config.vocab_size - 2  # the last id stays unused
    lengths = set()
    for window, weight in zip(windows, weights):
        L = int((weight == 0).sum())  # the targets inside the first copy: tokens 1 .. L
        assert torch.equal(weight[:L], torch.zeros(L)) and torch.equal(weight[L:], torch.ones(len(weight) - L))
        assert config.min_span <= L <= config.max_span
        assert torch.equal(window[L:], window[:-L])  # every token after the first copy repeats the one L before it
        lengths.add(L)
    assert len(lengths) > 4  # the span's length changes from window to window


def test_head_patterns_are_hugging_faces_attentions():
    config = InductionConfig(d_model=32)
    model = new_small_gpt2(config, config.vocab_size)
    ids = repeated_random_tokens(config.vocab_size, 8)  # (16,)
    ours = head_patterns(model, ids)  # (n_layer, n_head, 16, 16)
    theirs = model(ids[None], output_attentions=True).attentions
    assert ours.shape == (2, 4, 16, 16)
    for layer in range(2):
        torch.testing.assert_close(ours[layer], theirs[layer][0], atol=1e-6, rtol=1e-5)


def test_even_spread_baselines_by_hand():
    assert even_spread_induction(2) == pytest.approx((1 / 3 + 1 / 4) / 2)  # queries 2 and 3 see 3 and 4 keys
    assert even_spread_previous_token(3) == pytest.approx((1 / 2 + 1 / 3) / 2)  # queries 1 and 2 see 2 and 3 keys
    assert even_spread_induction(32) == pytest.approx(0.0214, abs=1e-4)


def test_an_untrained_model_scores_near_the_even_spread():
    config = InductionConfig()
    model = new_small_gpt2(config, config.vocab_size)
    induction, previous, repeat_loss = measure_heads(model, probe_sequences(config), config.probe_span)
    assert induction.shape == previous.shape == (2, 4)
    baseline = even_spread_induction(config.probe_span)  # 0.021 for L = 32
    assert float(induction.max()) < 1.5 * baseline and float(induction.min()) > 0.5 * baseline
    assert abs(repeat_loss - torch.log(torch.tensor(128.0)).item()) < 0.3  # a guess among 128 ids


def test_a_short_run_is_seeded_and_leaves_global_state_alone():
    seen = []
    before = torch.random.get_rng_state()
    a = train_induction_run(SMALL, on_measure=lambda h: seen.append(h.eval_steps[-1]))
    assert torch.equal(before, torch.random.get_rng_state())
    b = train_induction_run(SMALL)
    assert seen == a.eval_steps == [0, 10, 20] and a.steps == list(range(1, 21))
    assert a.train_losses == b.train_losses and a.repeat_losses == b.repeat_losses
    assert all(torch.equal(x, y) for x, y in zip(a.induction + a.previous_token, b.induction + b.previous_token))
    c = train_induction_run(dataclasses.replace(SMALL, seed=1))
    assert c.train_losses != a.train_losses
    assert not a.stopped_by_budget and a.model is not None


def test_the_time_budget_ends_the_run_at_a_measurement_and_says_so():
    history = train_induction_run(dataclasses.replace(SMALL, max_steps=100, time_budget_s=1e-6))
    assert history.stopped_by_budget and history.eval_steps == [0, 10] and len(history.train_losses) == 10
    assert "stopped by the time budget" in history.summary()


@pytest.mark.parametrize("changes", [dict(d_model=30), dict(max_span=40), dict(probe_span=33), dict(max_steps=0),
                                     dict(time_budget_s=-1.0), dict(min_span=8, max_span=4)])
def test_bad_settings_get_one_sentence(changes):
    with pytest.raises(LabError):
        train_induction_run(dataclasses.replace(SMALL, **changes))


def test_score_rise_finds_the_jump():
    rise = score_rise([0, 10, 20, 30, 40, 50], [0.02, 0.02, 0.15, 0.45, 0.75, 0.80])
    assert (rise.start, rise.peak, rise.peak_step) == (0.02, 0.80, 50)
    assert (rise.begin_step, rise.half_step, rise.end_step, rise.formed) == (10, 30, 40, True)
    flat = score_rise([0, 10, 20], [0.02, 0.03, 0.025])
    assert not flat.formed and flat.peak == 0.03


def made_up_history(induction: list[float], previous: list[float], repeat: list[float]) -> InductionHistory:
    """A history whose best scores are the given numbers (layer 1 head 2 for induction, layer 0 head 1 for previous)."""
    config = InductionConfig(max_steps=10 * (len(induction) - 1))
    history = InductionHistory(config)
    for i, (ind, prev, loss) in enumerate(zip(induction, previous, repeat)):
        grid_i, grid_p = torch.full((2, 4), 0.01), torch.full((2, 4), 0.01)
        grid_i[1, 2], grid_p[0, 1] = ind, prev
        history.eval_steps.append(10 * i)
        history.induction.append(grid_i)
        history.previous_token.append(grid_p)
        history.repeat_losses.append(loss)
        history.seconds.append(1.5 * i)
    history.steps = list(range(1, config.max_steps + 1))
    history.train_losses = [4.0 - 3.0 * s / config.max_steps for s in history.steps]
    return history


def test_the_summary_is_computed_from_the_numbers():
    history = made_up_history([0.02, 0.03, 0.20, 0.60, 0.80], [0.06, 0.30, 0.45, 0.50, 0.52], [4.8, 4.7, 3.0, 1.0, 0.4])
    text = history.summary()
    assert "40 steps in 6 s." in text
    assert "from 0.02 at step 0 to 0.80 at step 40 (layer 1, head 2)" in text
    # a tenth of the rise 0.02 -> 0.80 is passed at step 20, half at step 30: the jump is steps 10 to 30
    assert "between steps 10 and 30 (2 s to 4 s into the run) it climbed from 0.03 to 0.60" in text
    assert "fell from 3.59 to 2.46 nats, and the loss on the repeated half from 4.70 to 1.00." in text
    assert "from 0.06 to 0.52 (layer 0, head 1)" in text
    assert "at step 10, before the induction score (step 30)" in text
    late = made_up_history([0.02, 0.60, 0.80], [0.06, 0.06, 0.50], [4.8, 1.0, 0.4])
    assert "at step 20, after the induction score (step 10)" in late.summary()
    none = made_up_history([0.02, 0.05, 0.10], [0.06, 0.07, 0.08], [4.8, 4.7, 4.6])
    assert f"no head reached {FORMED_SCORE} (the best was 0.10, at step 20)" in none.summary()


def test_the_figure_shades_the_jump_and_draws_the_baselines():
    history = made_up_history([0.02, 0.03, 0.20, 0.60, 0.80], [0.06, 0.30, 0.45, 0.50, 0.52], [4.8, 4.7, 3.0, 1.0, 0.4])
    fig = induction_run_plot(history)
    assert isinstance(fig, LabFigure) and len(fig.axes) == 2
    top, bottom = fig.axes
    assert [(p.get_x(), p.get_x() + p.get_width()) for p in bottom.patches] == [(10, 30)]  # the jump starts at step 10
    labels = [line.get_label() for line in bottom.get_lines()]
    assert any("induction, even spread (0.021)" in label for label in labels)
    assert any("best induction score (0.80)" in label for label in labels)
    assert bottom.get_xlim() == (0.0, 40.0)
    empty = induction_run_plot(InductionHistory(InductionConfig()))  # before the first measurement
    assert len(empty.axes) == 2 and not empty.axes[1].patches


def test_the_circuit_plot_shows_the_two_heads_and_refuses_a_wrong_shape():
    patterns = torch.softmax(torch.randn(2, 4, 6, 6), dim=-1)
    fig = circuit_plot(patterns, list("abcabc"), (0, 1), (1, 2))
    assert [ax.get_title() for ax in fig.axes[:2]] == ["previous-token head: layer 0, head 1", "induction head: layer 1, head 2"]
    with pytest.raises(LabError):
        circuit_plot(patterns[0], list("abcabc"), (0, 1), (1, 2))


def test_the_live_view_follows_every_measurement_and_redraws_at_most_so_often():
    history = made_up_history([0.02, 0.03, 0.20], [0.06, 0.30, 0.45], [4.8, 4.7, 3.0])
    view = LiveInductionPlot(min_interval_s=3600)
    view.update(history)
    first = view.image.value
    assert first and "best induction score 0.20" in view.status.value and "step 20 of 20" in view.status.value
    history.induction.append(history.induction[-1] * 3)
    history.previous_token.append(history.previous_token[-1])
    history.eval_steps.append(30)
    history.repeat_losses.append(1.0)
    history.seconds.append(5.0)
    view.update(history)
    assert view.image.value == first and "best induction score 0.60" in view.status.value  # too soon to redraw
    view.finish()
    assert view.image.value != first


@pytest.mark.slow
def test_the_default_run_grows_an_induction_head():
    history = train_induction_run()  # about a minute and a half on one busy CPU core
    baseline = even_spread_induction(history.config.probe_span)
    assert history.best_induction[0] < 1.5 * baseline
    assert history.best_induction[-1] > 0.5 and history.best_head("induction")[0] == 1  # in the second block
    assert history.phase_change().formed and history.repeat_losses[-1] < 0.5 * history.repeat_losses[0]
