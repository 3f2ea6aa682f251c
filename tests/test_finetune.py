"""Language-model fine-tuning: the loss falls, saved models reload exactly, interrupted runs resume exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers import random_lab

import gpt2lab
from gpt2lab.training.optim import OptimizerConfig
from gpt2lab.training.finetune import (
    FineTuneConfig,
    compare_continuations,
    continue_text,
    copy_lab,
    finetune_lm,
    min_tokens,
    read_text,
    save_finetuned,
    shipped_text,
    split_windows,
)
from gpt2lab.viz.finetune_plots import continuations_html, loss_curve_plot, running_mean
from gpt2lab.widgets.loss_curve_widget import LiveLossCurve, status_line

torch.set_num_threads(1)  # one core trains the embedded model
SHAPE = (2, 4, 32, 64, 512)  # dropout is on (GPT2Config's default 0.1): resuming must reproduce its masks
TEXT = shipped_text("kittiwake_log")
SMALL = {"block_size": 32, "batch_size": 4, "eval_every": 2}


@pytest.fixture(scope="module")
def lab():
    return random_lab(SHAPE, seed=1)


def weights(lab):
    return [p.detach().clone() for p in lab.hf_model.parameters()]


def test_validation_loss_falls_during_a_short_fine_tune(lab):
    result = finetune_lm(lab, TEXT, FineTuneConfig(block_size=32, max_steps=20, eval_every=5, optimizer=OptimizerConfig(lr=3e-3)), progress=False)
    h = result.history
    assert h.steps == list(range(1, 21)) and h.eval_steps == [0, 5, 10, 15, 20]
    assert result.val_loss_before == h.eval_losses[0] and result.val_loss == h.eval_losses[-1]
    assert result.val_loss < 0.6 * result.val_loss_before  # the random model's loss is huge; 20 steps cut it a lot
    assert all(b < a for a, b in zip(h.eval_losses, h.eval_losses[1:]))
    assert result.perplexity == pytest.approx(torch.tensor(result.val_loss).exp().item())
    assert result.finished and not result.interrupted
    assert "20/20 steps" in result.summary()


def test_the_lab_passed_in_is_left_as_it_was(lab):
    before = weights(lab)
    result = finetune_lm(lab, TEXT, FineTuneConfig(max_steps=2, **SMALL), progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, weights(lab)))
    assert not all(torch.equal(a, b) for a, b in zip(before, weights(result.lab)))
    assert not result.lab.hf_model.training  # handed back ready to trace and generate


def test_windows_split_into_train_and_validation():
    split = split_windows(list(range(5)), block_size=2, val_fraction=0.5, seed=0)
    assert sorted([split.train[0].tolist(), split.val[0].tolist()]) == [[0, 1, 2], [2, 3, 4]]
    split = split_windows(list(range(1001)), block_size=10, val_fraction=0.1, seed=3)
    assert split.train.shape == (90, 11) and split.val.shape == (10, 11)
    everything = torch.cat([split.train, split.val])[:, 0].sort().values
    assert torch.equal(everything, torch.arange(100) * 10)  # every window exactly once
    assert min_tokens(64) == 129


def test_a_text_file_reads_like_the_text(tmp_path, lab):
    path = tmp_path / "log.txt"
    path.write_text(TEXT, encoding="utf-8")
    assert read_text(path) == TEXT and read_text(str(path)) == TEXT
    a = finetune_lm(lab, TEXT, FineTuneConfig(max_steps=2, **SMALL), progress=False)
    b = finetune_lm(lab, path, FineTuneConfig(max_steps=2, **SMALL), progress=False)
    assert a.history.train_losses == b.history.train_losses


def test_saved_model_reloads_with_identical_logits(tmp_path, lab):
    tuned = finetune_lm(lab, TEXT, FineTuneConfig(max_steps=3, **SMALL), progress=False).lab
    folder = save_finetuned(tuned, tmp_path / "tuned")
    assert (folder / "model.safetensors").is_file() and not list(folder.glob("*.bin"))
    reloaded = gpt2lab.load(folder, device="cpu")
    ids = torch.tensor([lab.encode("Wind north-east, fresh. At noon the light bore west.")])
    with torch.no_grad():
        assert torch.equal(reloaded.hf_model(ids).logits, tuned.hf_model(ids).logits)
    assert torch.equal(reloaded.trace(ids[0]).logits, tuned.trace(ids[0]).logits)
    assert reloaded.encode("The cat sat") == lab.encode("The cat sat")


def test_interrupted_and_resumed_equals_uninterrupted(tmp_path, lab):
    config = FineTuneConfig(max_steps=6, **SMALL)
    whole = finetune_lm(lab, TEXT, config, progress=False)
    first = finetune_lm(lab, TEXT, config, checkpoint_dir=tmp_path / "ck", stop_at_step=3, progress=False)
    assert not first.finished and first.history.steps == [1, 2, 3]
    assert first.history.train_losses == whole.history.train_losses[:3]
    rest = finetune_lm(lab, TEXT, config, checkpoint_dir=tmp_path / "ck", resume=True, progress=False)
    assert rest.finished and rest.history.steps == list(range(1, 7))
    assert rest.history.train_losses == whole.history.train_losses  # the same batches and dropout masks
    assert rest.history.eval_losses == whole.history.eval_losses
    assert all(torch.equal(a, b) for a, b in zip(weights(rest.lab), weights(whole.lab)))


class Stop(Exception):
    pass


@pytest.mark.parametrize("error", [KeyboardInterrupt, Stop], ids=["stop button", "error"])
def test_a_run_stopped_by_an_exception_keeps_its_steps(tmp_path, lab, error):
    config = FineTuneConfig(max_steps=6, **SMALL)
    whole = finetune_lm(lab, TEXT, config, progress=False)

    def stop_at_4(history):
        if history.step == 4:
            raise error()

    if error is KeyboardInterrupt:  # the notebook's stop button: the result comes back, marked interrupted
        first = finetune_lm(lab, TEXT, config, checkpoint_dir=tmp_path, on_eval=stop_at_4, progress=False)
        assert first.interrupted and not first.finished and first.history.step == 4
    else:  # any other error still reaches the caller, after the checkpoint is saved
        with pytest.raises(Stop):
            finetune_lm(lab, TEXT, config, checkpoint_dir=tmp_path, on_eval=stop_at_4, progress=False)
    rest = finetune_lm(lab, TEXT, config, checkpoint_dir=tmp_path, resume=True, progress=False)
    assert rest.history.train_losses == whole.history.train_losses
    assert all(torch.equal(a, b) for a, b in zip(weights(rest.lab), weights(whole.lab)))


def test_checkpoints_hold_no_pickle(tmp_path, lab):
    finetune_lm(lab, TEXT, FineTuneConfig(max_steps=2, checkpoint_every=1, **SMALL), checkpoint_dir=tmp_path, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors", "optimizer.safetensors", "state.json"]


def test_same_seed_same_continuation_and_the_global_rng_is_untouched(lab):
    state = torch.random.get_rng_state()
    twin = copy_lab(lab, "twin")
    rows = compare_continuations(lab, twin, ["The cat", "On the mat"], max_new_tokens=8, seed=5)
    assert [r.before for r in rows] == [r.after for r in rows]  # same weights, same seed: same text
    assert continue_text(lab, "The cat", 8, seed=5) == rows[0].before
    assert continue_text(lab, "The cat", 8, temperature=0) == continue_text(lab, "The cat", 8, temperature=0, seed=9)
    assert torch.equal(torch.random.get_rng_state(), state)
    html = continuations_html(rows)
    assert html.count("<tr>") == 3 and "<script" not in html


def test_loss_curve_figure_and_live_widget(lab):
    curve = LiveLossCurve()
    result = finetune_lm(lab, TEXT, FineTuneConfig(max_steps=4, **SMALL), on_eval=curve.update, progress=False)
    assert curve.history is result.history and curve.image.value[:4] == b"\x89PNG"
    assert status_line(result.history).startswith("step 4 of 4 · validation loss")
    fig = loss_curve_plot(result.history)
    lines = fig.axes[0].get_lines()
    assert list(lines[0].get_ydata()) == result.history.train_losses
    assert list(lines[2].get_ydata()) == result.history.eval_losses
    assert running_mean([1, 3, 5], 2) == [1, 2, 4]
    assert "gpt2lab" in curve.view._dom_classes


@pytest.mark.parametrize(
    "text, settings, kwargs, words",
    [
        ("", {}, {}, "The text is empty"),
        ("   \n ", {}, {}, "The text is empty"),
        ("Wind north-east.", {}, {}, "needs at least 65 tokens"),
        (TEXT, {"block_size": 100}, {}, "reads at most 64 tokens"),
        (TEXT, {"optimizer": OptimizerConfig(lr=0)}, {}, "lr must be a number above 0"),
        (TEXT, {"batch_size": 0}, {}, "batch_size must be a whole number of at least 1"),
        (TEXT, {"max_steps": 2.5}, {}, "max_steps must be a whole number"),
        (TEXT, {"val_fraction": 1.0}, {}, "val_fraction must be a number between 0 and 1"),
        (TEXT, {"optimizer": OptimizerConfig(beta2=1.0)}, {}, "beta2 must be a number from 0 to just below 1"),
        (TEXT, {"optimizer": {"lr": 1e-3}}, {}, "optimizer must be an OptimizerConfig"),
        (TEXT, {}, {"resume": True}, "resume=True needs checkpoint_dir"),
        (TEXT, {}, {"resume": True, "checkpoint_dir": "/nonexistent/ck"}, "There is no fine-tuning checkpoint"),
        (Path("/nonexistent/text.txt"), {}, {}, "There is no file"),
    ],
)
def test_bad_input_gets_one_clear_sentence(lab, text, settings, kwargs, words):
    config = FineTuneConfig(**{**SMALL, "max_steps": 2, **settings})
    with pytest.raises(gpt2lab.LabError) as info:
        finetune_lm(lab, text, config, progress=False, **kwargs)
    message = str(info.value)
    assert words in message and message.count(". ") == 0 and message.endswith(".")


def test_resuming_another_text_is_refused(tmp_path, lab):
    config = FineTuneConfig(max_steps=4, **SMALL)
    finetune_lm(lab, TEXT, config, checkpoint_dir=tmp_path, stop_at_step=2, progress=False)
    with pytest.raises(gpt2lab.LabError, match="different text or different settings"):
        finetune_lm(lab, TEXT[:-200], config, checkpoint_dir=tmp_path, resume=True, progress=False)
    with pytest.raises(gpt2lab.LabError, match="different text or different settings"):
        finetune_lm(lab, TEXT, FineTuneConfig(**{**SMALL, "max_steps": 4, "optimizer": OptimizerConfig(lr=1e-3)}), checkpoint_dir=tmp_path, resume=True, progress=False)


@pytest.mark.parametrize("kwargs, words", [
    ({"prompt": ""}, "prompt"),
    ({"prompt": "The cat", "temperature": -1}, "temperature"),
    ({"prompt": "The cat", "max_new_tokens": 0}, "max_new_tokens"),
])
def test_bad_continuation_settings_get_one_clear_sentence(lab, kwargs, words):
    with pytest.raises(gpt2lab.LabError, match=words):
        continue_text(lab, **kwargs)
