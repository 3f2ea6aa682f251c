"""gpt2lab's forward is the only forward the kit runs: training, fine-tuning, classification and
evaluation all go through it, and its logits, loss and every parameter's gradient equal Hugging Face's,
batched and padded, with dropout off and on."""

from __future__ import annotations

import contextlib

import pytest
import torch
import torch.nn.functional as F
from transformers import GPT2Config, GPT2ForSequenceClassification, GPT2LMHeadModel, GPT2Model
from transformers.models.gpt2.modeling_gpt2 import GPT2Block

import gpt2lab
from gpt2lab.training.classify import ClassifyConfig, build_classifier, evaluate_classifier, load_dataset, train_classifier
from gpt2lab.training.finetune import FineTuneConfig, finetune_lm, mean_loss, shipped_text, split_windows
from gpt2lab.model.forward import forward
from gpt2lab.training.export import heldout_nats
from gpt2lab.training.losses import model_weights, next_token_losses

from helpers import RANDOM_SHAPES, random_hf_model


@contextlib.contextmanager
def hugging_face_forward_forbidden():
    """Every Hugging Face GPT-2 module's forward raises while this is active."""
    classes = (GPT2LMHeadModel, GPT2Model, GPT2ForSequenceClassification, GPT2Block)
    saved = {cls: cls.forward for cls in classes}

    def refuse(self, *args, **kwargs):
        raise AssertionError(f"{type(self).__name__}.forward was called")

    try:
        for cls in classes:
            cls.forward = refuse
        yield
    finally:
        for cls, fn in saved.items():
            cls.forward = fn


def test_training_classification_and_evaluation_never_call_hugging_faces_forward():
    lab = gpt2lab.load("tiny")
    data = load_dataset("topics")
    with hugging_face_forward_forbidden():
        result = finetune_lm(lab, shipped_text("kittiwake_log"), FineTuneConfig(block_size=32, batch_size=2, max_steps=2,
                                                                                  eval_every=1), progress=False)
        assert result.val_loss < result.val_loss_before + 1.0  # it really ran and measured
        clf = build_classifier(lab, data.classes)
        train_classifier(clf, data.train[:8], ClassifyConfig(epochs=1, batch_size=4), progress=False)
        report = evaluate_classifier(clf, data.test[:6])
        assert 0 <= report.accuracy <= 1
        ids = torch.tensor(lab.encode(shipped_text("kittiwake_log")))[:200]
        nats, count = heldout_nats(lab.hf_model, ids, block=64)
        assert count == 199 and nats > 0
        lab.trace("It is a truth")
        lab.generate("It is a truth", max_new_tokens=3)


def hf_model_for(shape, seed, dropout=0.0):
    model = random_hf_model(*shape, seed=seed)
    for name in ("embd_pdrop", "attn_pdrop", "resid_pdrop"):
        setattr(model.config, name, dropout)
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = dropout
    return model


def gradients(model, loss):
    model.zero_grad(set_to_none=True)
    loss.backward()
    return {name: p.grad.clone() for name, p in model.named_parameters()}


def assert_gradients_equal(ours, theirs):
    assert ours.keys() == theirs.keys()
    for name in ours:
        scale = max(1.0, theirs[name].abs().max().item())
        torch.testing.assert_close(ours[name], theirs[name], atol=2e-5 * scale, rtol=1e-4, msg=lambda m: f"{name}: {m}")


@pytest.mark.parametrize("shape", RANDOM_SHAPES, ids=lambda s: "L{}H{}D{}C{}V{}".format(*s))
def test_batched_logits_loss_and_every_gradient_equal_hugging_faces(shape):
    model = hf_model_for(shape, seed=11)
    B, T = 3, min(shape[3] - 1, 12)
    windows = torch.randint(0, shape[4], (B, T + 1), generator=torch.Generator().manual_seed(2))
    weights, config = model_weights(model)
    ours = forward(windows[:, :-1], weights, config)  # (B, T, vocab)
    theirs = model(windows[:, :-1]).logits
    torch.testing.assert_close(ours, theirs, atol=1e-4 * max(1.0, theirs.abs().max().item()), rtol=0)
    our_loss = next_token_losses(model, windows, train=True).mean()
    our_grads = gradients(model, our_loss)
    model.train()
    their_loss = model(windows, labels=windows).loss  # HF shifts the labels inside
    their_grads = gradients(model, their_loss)
    torch.testing.assert_close(our_loss, their_loss, atol=1e-5, rtol=1e-5)
    assert_gradients_equal(our_grads, their_grads)


@pytest.mark.parametrize("shape", RANDOM_SHAPES[1:4], ids=lambda s: "L{}H{}D{}C{}V{}".format(*s))
def test_right_padded_batches_equal_hugging_face_with_its_attention_mask(shape):
    model = hf_model_for(shape, seed=5)
    lengths = [9, 4, 6]
    ids = torch.zeros(len(lengths), max(lengths), dtype=torch.long)  # padded with id 0 on the right
    mask = torch.zeros_like(ids)
    gen = torch.Generator().manual_seed(3)
    for row, n in enumerate(lengths):
        ids[row, :n] = torch.randint(1, shape[4], (n,), generator=gen)
        mask[row, :n] = 1
    labels = ids.masked_fill(mask == 0, -100)  # no loss on the padding
    weights, config = model_weights(model)
    logits = forward(ids, weights, config)  # (B, T, vocab): padding comes after every real token
    our_loss = F.cross_entropy(logits[:, :-1].flatten(0, 1), labels[:, 1:].flatten(), ignore_index=-100)
    our_grads = gradients(model, our_loss)
    model.train()
    out = model(ids, attention_mask=mask, labels=labels)
    real = mask.bool()
    torch.testing.assert_close(logits.detach()[real], out.logits.detach()[real], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(our_loss, out.loss, atol=1e-5, rtol=1e-5)
    assert_gradients_equal(our_grads, gradients(model, out.loss))


def test_dropout_in_training_mode_draws_what_hugging_face_draws():
    """Same places, same order, same shapes: with one seed, the dropout masks are Hugging Face's own."""
    model = hf_model_for(RANDOM_SHAPES[1], seed=7, dropout=0.1)
    windows = torch.randint(0, RANDOM_SHAPES[1][4], (2, 11), generator=torch.Generator().manual_seed(4))
    torch.manual_seed(123)
    ours = next_token_losses(model, windows, train=True).mean()
    our_grads = gradients(model, ours)
    model.train()
    torch.manual_seed(123)
    x, y = windows[:, :-1], windows[:, 1:]  # the same (B, T) input as ours, so the masks have the same shapes
    theirs = F.cross_entropy(model(x).logits.flatten(0, 1), y.flatten())
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)
    assert_gradients_equal(our_grads, gradients(model, theirs))
    without = next_token_losses(model, windows, train=False).mean()
    assert abs(without.item() - ours.item()) > 1e-4  # dropout really changed something


def test_the_classifier_reads_what_gpt2_for_sequence_classification_reads():
    lab = gpt2lab.load("tiny")
    data = load_dataset("topics")
    clf = build_classifier(lab, data.classes)
    texts = [ex.text for ex in data.test[:5]]
    batch = clf.batch(texts)
    ours = clf.batch_logits(batch)
    theirs = clf.model(batch.input_ids, attention_mask=batch.attention_mask).logits
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)


def test_mean_loss_equals_hugging_faces_loss_on_the_embedded_model():
    lab = gpt2lab.load("tiny")
    ids = torch.tensor(lab.encode(shipped_text("kittiwake_log")))
    windows = split_windows(ids, 64, 0.1, 0).val
    with torch.no_grad():
        theirs = torch.stack([lab.hf_model(w[None], labels=w[None]).loss for w in windows]).mean().item()
    assert abs(mean_loss(lab.hf_model, windows) - theirs) < 1e-4
