"""The from-scratch run of notebook 09: a real small GPT-2, trained through gpt2lab's forward, that learns."""

from __future__ import annotations

import pytest
import torch

from gpt2lab.errors import LabError
from gpt2lab.training.finetune import shipped_text
from gpt2lab.training.losses import next_token_losses
from gpt2lab.training.scratch import ScratchConfig, ScratchRun, replace


def test_a_short_run_learns_and_leaves_global_state_alone():
    cfg = replace(ScratchConfig(), max_steps=30, eval_every=15, n_layer=1, d_model=32, batch_size=8, block_size=32)
    before = torch.random.get_rng_state()
    run = ScratchRun.new(shipped_text("kittiwake_log"), cfg)
    seen = []
    history = run.train(on_eval=lambda h: seen.append(h.eval_losses[-1]), on_sample=lambda s, t: seen.append((s, t)))
    assert torch.equal(before, torch.random.get_rng_state())
    assert history.eval_steps == [0, 15, 30] and len(history.train_losses) == 30
    assert history.eval_losses[-1] < history.eval_losses[0] - 0.5  # from about log(vocab) down
    assert [s for s, _ in run.samples] == [0, 15, 30] and all(isinstance(t, str) for _, t in run.samples)
    assert run.lab.config.vocab_size == 256 + cfg.n_merges + 1 and run.lab.config.n_layer == 1


def test_the_loss_is_hugging_faces():
    run = ScratchRun.new("Wind north-east, fresh. " * 40, replace(ScratchConfig(), n_layer=1, d_model=32))
    ids = torch.tensor(run.lab.encode(run.text)[:33])[None]
    ours = next_token_losses(run.lab.hf_model, ids).mean()
    torch.testing.assert_close(ours, run.lab.hf_model(ids, labels=ids).loss, atol=1e-5, rtol=1e-5)


def test_same_seed_same_weights_and_bad_settings():
    a = ScratchRun.new("abc " * 100, replace(ScratchConfig(), n_layer=1, d_model=32))
    b = ScratchRun.new("abc " * 100, replace(ScratchConfig(), n_layer=1, d_model=32))
    assert torch.equal(a.lab.weights.token_embedding, b.lab.weights.token_embedding)
    with pytest.raises(LabError):
        ScratchRun.new("abc", replace(ScratchConfig(), d_model=30, n_head=4))
