"""Sequence classification: the shipped dataset, padding read at the last real token, training beats chance."""

from __future__ import annotations

import pytest
import torch
from helpers import random_lab

import gpt2lab
from gpt2lab.training.optim import OptimizerConfig
from gpt2lab.training.classify import (
    ClassifyConfig,
    Example,
    build_classifier,
    confusion_matrix,
    evaluate_classifier,
    last_token_positions,
    load_dataset,
    make_examples,
    pad_batch,
    state_change_per_position,
    train_classifier,
)
from gpt2lab.exercises import fine_tuning as ex
from gpt2lab.loading import EMBEDDED_PATH
from gpt2lab.viz.finetune_plots import (
    confusion_matrix_plot,
    loss_curve_plot,
    state_change_plot,
)

torch.set_num_threads(1)  # one core trains the embedded model
DATA = load_dataset("topics")


def topic_lab(seed: int = 0):
    """A small random GPT-2 whose BPE was trained on the dataset's training sentences (words become tokens)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1000, special_tokens=["<|endoftext|>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([e.text for e in DATA.train], trainer)
    tokenizer = GPT2TokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", bos_token="<|endoftext|>")
    config = GPT2Config(n_layer=2, n_head=4, n_embd=64, n_positions=64, vocab_size=len(tokenizer), bos_token_id=0, eos_token_id=0)
    torch.manual_seed(seed)
    return gpt2lab.Lab(GPT2LMHeadModel(config), tokenizer, name="topics", device="cpu")


@pytest.fixture(scope="module")
def lab():
    return topic_lab()


def test_the_shipped_dataset():
    assert DATA.classes == ("weather", "food", "sport")
    assert len(DATA.train) == 240 and len(DATA.test) == 60
    for c in DATA.classes:
        assert sum(e.label == c for e in DATA.train) == 80 and sum(e.label == c for e in DATA.test) == 20
    texts = [e.text for e in DATA.train + DATA.test]
    assert len(set(texts)) == 300 and all(t.strip() == t and 10 < len(t) < 80 for t in texts)


def test_padding_and_the_last_real_token():
    batch = pad_batch([[5, 6, 7], [8]], pad_id=0)
    assert batch.input_ids.tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch.attention_mask.tolist() == [[1, 1, 1], [1, 0, 0]] and batch.lengths.tolist() == [3, 1]
    assert last_token_positions(batch.input_ids, 0).tolist() == [2, 0]
    assert confusion_matrix(torch.tensor([0, 1, 1]), torch.tensor([0, 0, 1]), 2).tolist() == [[1, 0], [1, 1]]


def test_a_padded_batch_gives_each_sentence_its_own_logits(lab):
    clf = build_classifier(lab, DATA.classes, seed=3)
    texts = ["It rained.", "The striker scored twice in the second half.", "Soup!"]
    batch = clf.batch(texts)
    assert (batch.input_ids == clf.pad_id).any()  # the short ones really are padded
    together = clf.logits(texts)
    alone = torch.cat([clf.logits([t]) for t in texts])
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=0)
    # and they are the score head at the last real token, read by hand
    with torch.no_grad():
        hidden = clf.model.transformer(batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state  # (B, T, d)
        rows = torch.arange(len(texts))
        by_hand = clf.model.score(hidden[rows, batch.lengths - 1])
    torch.testing.assert_close(together, by_hand, atol=1e-5, rtol=0)
    assert clf.model.config.pad_token_id == lab.tokenizer.get_vocab()["<|endoftext|>"]


def test_only_the_last_position_sees_the_last_token():
    lab = random_lab((2, 4, 32, 64, 512))
    a, b = "The cat sat on the mat", "The cat sat on the log"
    assert len(lab.encode(a)) == len(lab.encode(b)) and lab.encode(a)[:-1] == lab.encode(b)[:-1]
    change = state_change_per_position(lab, a, b)
    assert torch.all(change[:-1] == 0) and change[-1] > 0.1
    fig = state_change_plot(change, lab.token_strings(lab.encode(a)), lab.token_strings(lab.encode(b)))
    assert [p.get_height() for p in fig.axes[0].patches] == change.tolist()
    with pytest.raises(gpt2lab.LabError, match="same number of tokens"):
        state_change_per_position(lab, a, "The cat")


def test_training_beats_chance_on_held_out_sentences(lab):
    lab_before = [p.detach().clone() for p in lab.hf_model.parameters()]
    clf = build_classifier(lab, DATA.classes)
    before = evaluate_classifier(clf, DATA.test)
    history = train_classifier(clf, DATA.train, ClassifyConfig(epochs=6, optimizer=OptimizerConfig(lr=2e-3)), eval_examples=DATA.test, progress=False)
    after = evaluate_classifier(clf, DATA.test)
    assert before.accuracy < 0.45  # a random head: about a third right
    assert after.accuracy >= 0.65  # three classes: chance is 1/3
    assert after.loss < before.loss - 0.2
    assert history.steps[-1] == history.total_steps == 6 * 15 and history.eval_steps[0] == 0
    assert history.eval_accuracies[-1] == pytest.approx(after.accuracy)
    assert int(after.confusion.sum()) == 60 and after.confusion.trace() == round(after.accuracy * 60)
    fig = confusion_matrix_plot(after.confusion, after.classes)
    assert (fig.axes[0].images[0].get_array() == after.confusion.numpy()).all()
    assert len(loss_curve_plot(history).axes) == 2  # loss, and accuracy on a second axis
    assert all(torch.equal(a, b) for a, b in zip(lab_before, lab.hf_model.parameters()))  # the lab's own model is untouched


def test_the_same_seed_trains_the_same_classifier(lab):
    runs = []
    for _ in range(2):
        clf = build_classifier(lab, DATA.classes, seed=1)
        runs.append(train_classifier(clf, DATA.train[:48], ClassifyConfig(epochs=1, batch_size=16), progress=False).train_losses)
    assert runs[0] == runs[1] and len(runs[0]) == 3


def test_freezing_the_body_trains_only_the_head(lab):
    clf = build_classifier(lab, DATA.classes)
    body = [p.detach().clone() for p in clf.model.transformer.parameters()]
    head = clf.model.score.weight.detach().clone()
    train_classifier(clf, DATA.train[:32], ClassifyConfig(epochs=1, freeze_body=True), progress=False)
    assert all(torch.equal(a, b) for a, b in zip(body, clf.model.transformer.parameters()))
    assert not torch.equal(head, clf.model.score.weight)


def test_the_embedded_model_learns_the_topics():
    lab = gpt2lab.load("tiny", device="cpu")
    clf = build_classifier(lab, DATA.classes)
    train_classifier(clf, DATA.train, ClassifyConfig(epochs=2, optimizer=OptimizerConfig(lr=1e-3)), progress=False)
    assert evaluate_classifier(clf, DATA.test).accuracy >= 0.6


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda clf: train_classifier(clf, [Example("I like cheese.", "cheese")], progress=False), "The label 'cheese'"),
        (lambda clf: train_classifier(clf, [Example("  ", "food")], progress=False), "empty sentence"),
        (lambda clf: train_classifier(clf, [], progress=False), "There are no examples"),
        (lambda clf: train_classifier(clf, DATA.train, ClassifyConfig(epochs=0), progress=False), "epochs must be a whole number"),
        (lambda clf: train_classifier(clf, DATA.train, ClassifyConfig(optimizer=OptimizerConfig(lr=-1.0)), progress=False), "lr must be a number above 0"),
        (lambda clf: train_classifier(clf, DATA.train, ClassifyConfig(batch_size=1.5), progress=False), "batch_size must be a whole number"),
        (lambda clf: evaluate_classifier(clf, [Example("Rain.", "Weather")]), "The label 'Weather'"),
        (lambda clf: clf.predict([""]), "is empty"),
        (lambda clf: clf.predict(["rain " * 100]), "reads at most 64"),
        (lambda clf: make_examples(["a", "b"], ["food"]), "2 texts but 1 labels"),
        (lambda clf: build_classifier(clf.lab, ["food"]), "at least two different class names"),
        (lambda clf: load_dataset("movies"), "no shipped dataset called 'movies'"),
    ],
)
def test_bad_input_gets_one_clear_sentence(lab, call, words):
    clf = build_classifier(lab, DATA.classes)
    clf.lab = lab
    with pytest.raises(gpt2lab.LabError) as info:
        call(clf)
    message = str(info.value)
    assert words in message and message.endswith(".") and ". " not in message.replace("e.g. ", "")


def test_exercise_checkers(lab):
    assert ex.check_loss_per_character(None, 3.0, 10, 40).answered is False
    assert ex.check_loss_per_character(0.75, 3.0, 10, 40) and not ex.check_loss_per_character(3.0, 3.0, 10, 40)
    assert "per token" in ex.check_loss_per_character(3.0, 3.0, 10, 40).message
    ids = torch.tensor([[5, 6, 7, 0], [8, 9, 0, 0]])
    assert ex.check_last_token_positions([2, 1], ids, 0).passed
    assert "sentence lengths" in ex.check_last_token_positions([3, 2], ids, 0).message
    assert not ex.check_last_token_positions([3, 3], ids, 0)
    clf = build_classifier(lab, DATA.classes)
    assert "in the dataset" in ex.check_own_sentence(DATA.test[0].text, "weather", clf, DATA).message
    assert not ex.check_own_sentence("Rain again today", "music", clf, DATA)
    verdict = ex.check_own_sentence("The storm blew all night long", "weather", clf, DATA)
    assert verdict.passed == (clf.predict("The storm blew all night long") == ["weather"])
