"""Sequence classification: put a small head on GPT-2 and train it to sort sentences into classes.

``GPT2ForSequenceClassification`` is GPT-2's transformer with its language-model head swapped for a
*score* head: one linear layer from the residual stream to one logit per class (``d_model -> n_classes``).
The head reads ONE position of the sentence: the last real token. Why that one? Under causal attention
position ``i`` attends to positions ``0..i`` only, so the hidden state at the last position is the only
one computed from every token of the sentence; an earlier position has not seen how the sentence ends
(:func:`state_change_per_position` shows it: change the last word and only the last position changes).

Sentences in a batch have different lengths, so the shorter ones are *padded* on the right up to the
longest, with a pad token. GPT-2 has no pad token; we use ``<|endoftext|>``. Right padding is the safe
side for GPT-2: the real tokens keep positions 0, 1, 2 ... (GPT-2 numbers positions from the left, pads
or not), and a real token never attends to a pad, which comes after it. The model must still know which
position to read: ``GPT2ForSequenceClassification`` takes the rightmost token that is not
``config.pad_token_id`` (:func:`last_token_positions` does the same, in the open).

    data = load_dataset("topics")                   # 240 training and 60 test sentences, 3 topics
    clf = build_classifier(lab, data.classes)       # the lab's transformer + a new score head
    evaluate_classifier(clf, data.test).accuracy    # about 1/3 before training: chance
    train_classifier(clf, data.train, ClassifyConfig(epochs=3), eval_examples=data.test)
    evaluate_classifier(clf, data.test).accuracy, clf.predict(["The rain will not stop."])
"""

from __future__ import annotations

import copy
import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from gpt2lab.errors import LabError
from gpt2lab.lab import Lab
from gpt2lab.tokenizer.bpe import END_OF_TEXT
from gpt2lab.training.losses import last_hidden_states
from gpt2lab.training.history import LossHistory
from gpt2lab.training.memory_plan import (TrainingPlan, is_out_of_memory, out_of_memory_error, own_memory, plan_training,
                                          shared_copy, storage_addresses, train_only, trained_parameters, usable_memory)
from gpt2lab.model.config import ModelConfig
from gpt2lab.training.optim import OptimizerConfig, check_optimizer_config, dropout_seed, make_optimizer, optimizer_step, rng_devices
from gpt2lab.training.settings import check_whole
from gpt2lab.loading import ASSETS

DATASETS = ASSETS / "datasets"  # labelled datasets shipped with the kit
PAD_TOKEN = END_OF_TEXT  # GPT-2 has no pad token; its end-of-text token serves


# --- data ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """One labelled sentence: ``Example("It rained all night.", "weather")``."""

    text: str
    label: str


@dataclass
class LabelledData:
    """A labelled dataset with a fixed train/test split."""

    classes: tuple[str, ...]  # the labels, in the order of the classifier's outputs
    train: list[Example]
    test: list[Example]

    def __repr__(self) -> str:
        return f"LabelledData(classes={self.classes}, {len(self.train)} train, {len(self.test)} test)"


def load_dataset(name: str = "topics") -> LabelledData:
    """A dataset shipped with the kit (``gpt2lab/assets/datasets/<name>.csv``: text, label, split)."""
    path = DATASETS / f"{name}.csv"
    if not path.is_file():
        names = ", ".join(sorted(p.stem for p in DATASETS.glob("*.csv")))
        raise LabError(f"There is no shipped dataset called {name!r}; use one of: {names}.")
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    classes = tuple(dict.fromkeys(r["label"] for r in rows))  # in order of first appearance
    split = {s: [Example(r["text"], r["label"]) for r in rows if r["split"] == s] for s in ("train", "test")}
    return LabelledData(classes=classes, train=split["train"], test=split["test"])


def make_examples(texts: Sequence[str], labels: Sequence[str]) -> list[Example]:
    """Pair sentences with their labels: ``make_examples(["Goal!"], ["sport"])``."""
    if isinstance(texts, str) or isinstance(labels, str):
        raise LabError("Give the texts and the labels as lists, such as [\"Goal!\"] and [\"sport\"].")
    if len(texts) != len(labels):
        raise LabError(f"There are {len(texts)} texts but {len(labels)} labels; give one label per text.")
    return [Example(t, l) for t, l in zip(texts, labels)]


def check_examples(examples: Sequence[Example], classes: Sequence[str]) -> None:
    """Raise a :class:`LabError` for no examples, an empty sentence or a label outside ``classes``."""
    if not examples:
        raise LabError("There are no examples: give at least one labelled sentence.")
    for ex in examples:
        if not isinstance(ex, Example):
            raise LabError(f"Each example must be an Example(text, label), not {type(ex).__name__}; use make_examples(texts, labels).")
        if not isinstance(ex.text, str) or not ex.text.strip():
            raise LabError("One of the examples has an empty sentence; give every example some text.")
        if ex.label not in classes:
            raise LabError(f"The label {ex.label!r} (for {ex.text!r}) is not one of the classes {', '.join(classes)}; fix the label or add the class.")


# --- padding and the last real token -------------------------------------------------------------------------


@dataclass
class PaddedBatch:
    """Sentences of different lengths, right-padded into one rectangle."""

    input_ids: torch.Tensor  # (B, T)  T = the longest sentence; shorter ones end in pad ids
    attention_mask: torch.Tensor  # (B, T)  1 for a real token, 0 for padding
    lengths: torch.Tensor  # (B,)  real tokens per sentence


def pad_batch(id_lists: Sequence[Sequence[int]], pad_id: int) -> PaddedBatch:
    """Right-pad token-id lists: ``pad_batch([[5, 6, 7], [8]], pad_id=0).input_ids == [[5, 6, 7], [8, 0, 0]]``."""
    lengths = torch.tensor([len(ids) for ids in id_lists])  # (B,)
    input_ids = torch.full((len(id_lists), int(lengths.max())), pad_id, dtype=torch.long)  # (B, T)
    for row, ids in enumerate(id_lists):
        input_ids[row, : len(ids)] = torch.as_tensor(ids, dtype=torch.long)
    attention_mask = (torch.arange(input_ids.shape[1]) < lengths[:, None]).long()  # (B, T)
    return PaddedBatch(input_ids, attention_mask, lengths)


def last_token_positions(input_ids: torch.Tensor, pad_id: int) -> torch.Tensor:
    """(B,) the position of each row's rightmost token that is not ``pad_id``, the rule of
    ``GPT2ForSequenceClassification``: ``last_token_positions(tensor([[5, 6, 7], [8, 0, 0]]), 0) == [2, 0]``.
    """
    positions = torch.arange(input_ids.shape[-1], device=input_ids.device)  # (T,)
    return (positions * (input_ids != pad_id)).argmax(-1)  # (B,)


def state_change_per_position(lab: Lab, text: str, changed: str) -> torch.Tensor:
    """(T,) how far each position's final hidden state (``ln_final``) moves when ``text`` becomes ``changed``.

    Give two texts that differ only in their last token (same number of tokens): under causal
    attention every position but the last has 0 change, because no earlier position can see the end.
    """
    a, b = lab.trace(text, keep=["ln_final"]), lab.trace(changed, keep=["ln_final"])
    if len(a.ids) != len(b.ids):
        raise LabError(f"The two texts must have the same number of tokens ({len(a.ids)} and {len(b.ids)}); change only the last word.")
    return (a["ln_final"] - b["ln_final"]).norm(dim=-1)  # (T,)


# --- the classifier ------------------------------------------------------------------------------------------


class Classifier:
    """A ``GPT2ForSequenceClassification`` with its tokenizer, class names and pad id."""

    def __init__(self, model, tokenizer, classes: Sequence[str], pad_id: int, device: torch.device, name: str = "GPT-2",
                 shared_with: frozenset[int] = frozenset()):
        self.model = model  # transformers GPT2ForSequenceClassification
        self.tokenizer = tokenizer
        self.classes = tuple(classes)
        self.pad_id = pad_id
        self.device = device
        self.n_ctx = model.config.n_positions
        self.name = name  # the model the body came from, for sentences
        self.shared_with = shared_with  # memory of the lab's weights, which training must copy before changing
        self.plan: TrainingPlan | None = None  # what the last training run trained

    def __repr__(self) -> str:
        return f"Classifier(classes={self.classes}, pad id {self.pad_id} = {PAD_TOKEN!r}, on {self.device})"

    def batch(self, texts: Sequence[str]) -> PaddedBatch:
        """Tokenize and right-pad ``texts``; an empty or too long sentence raises a :class:`LabError`."""
        if isinstance(texts, str):
            texts = [texts]
        id_lists = []
        for text in texts:
            if not isinstance(text, str) or not text.strip():
                raise LabError("A sentence to classify is empty; give each one some text.")
            ids = self.tokenizer(text).input_ids
            if len(ids) > self.n_ctx:
                raise LabError(f"A sentence is {len(ids)} tokens long but this model reads at most {self.n_ctx}; shorten it.")
            id_lists.append(ids)
        return pad_batch(id_lists, self.pad_id)

    def batch_logits(self, batch: PaddedBatch, *, train: bool = False) -> torch.Tensor:
        """(B, n_classes): gpt2lab's forward pass over the model's transformer, read at each row's last real
        token, times the score head. Right padding never reaches a real token (it comes after it), so the
        padded batch gives each sentence the numbers it would get alone."""
        input_ids = batch.input_ids.to(self.device)  # (B, T)
        hidden = last_hidden_states(self.model, input_ids, last_token_positions(input_ids, self.pad_id), train=train)  # (B, d_model)
        return hidden @ self.model.score.weight.T  # (B, n_classes)

    def logits(self, texts: Sequence[str], batch_size: int = 64) -> torch.Tensor:
        """(n, n_classes) the score head's logits at each sentence's last real token (no dropout), on the CPU."""
        with torch.no_grad():
            return torch.cat([self.batch_logits(self.batch(texts[b : b + batch_size])).cpu()
                              for b in range(0, len(texts), batch_size)])

    def probabilities(self, texts: Sequence[str]) -> torch.Tensor:
        """(n, n_classes) softmax of :meth:`logits`."""
        return self.logits(texts).softmax(-1)

    def predict(self, texts: Sequence[str] | str) -> list[str]:
        """The most likely class of each sentence: ``clf.predict(["What a goal!"]) == ["sport"]``."""
        if isinstance(texts, str):
            texts = [texts]
        return [self.classes[i] for i in self.logits(texts).argmax(-1).tolist()]


def build_classifier(lab: Lab, classes: Sequence[str], seed: int = 0) -> Classifier:
    """A ``GPT2ForSequenceClassification`` whose transformer is ``lab``'s, with a new score head.

    The transformer's weights are shared with ``lab`` until training changes them: training gives each
    weight it changes a copy of its own first, so ``lab`` is left as it was and a big model is not held
    twice. The head starts small and random (normal, std 0.02, seeded), so before training the
    predictions are about as good as chance.
    """
    from transformers import GPT2ForSequenceClassification

    classes = tuple(classes) if not isinstance(classes, str) else (classes,)
    if len(classes) < 2 or len(set(classes)) != len(classes) or not all(isinstance(c, str) and c for c in classes):
        raise LabError(f"Give at least two different class names, such as ('weather', 'food'), not {classes!r}.")
    check_whole(seed, "seed", 0)
    pad_id = lab.tokenizer.get_vocab().get(PAD_TOKEN)
    if pad_id is None:
        raise LabError(f"This model's tokenizer has no {PAD_TOKEN} token to pad with.")
    config = copy.deepcopy(lab.hf_model.config)  # a copy: the lab's own config stays as it is
    config.num_labels = len(classes)
    config.pad_token_id = pad_id  # how the model finds each sentence's last real token
    config.id2label = dict(enumerate(classes))
    config.label2id = {c: i for i, c in enumerate(classes)}
    with torch.device("meta"):  # the shape only, no memory: the body is the lab's and the head is made below
        model = GPT2ForSequenceClassification(config)
    model.transformer = shared_copy(lab.hf_model.transformer)
    score = torch.nn.Linear(config.n_embd, len(classes), bias=False)  # (n_classes, d_model), on the CPU to draw it
    with torch.no_grad():
        score.weight.normal_(0.0, 0.02, generator=torch.Generator().manual_seed(seed))
    model.score = score
    model.to(lab.device).eval()
    return Classifier(model, lab.tokenizer, classes, pad_id, lab.device, name=lab.name,
                      shared_with=frozenset(storage_addresses(lab.hf_model)))


# --- training and evaluation ---------------------------------------------------------------------------------


@dataclass
class ClassifyConfig:
    """Settings of a classification fine-tune. Checked by :meth:`check`: a bad value raises one :class:`LabError`."""

    epochs: int = 4  # passes over the training sentences
    batch_size: int = 16  # sentences per optimizer step
    # AdamW and its schedule; a longer warm-up than a fine-tune's, as the new head's first gradients are large
    optimizer: OptimizerConfig = field(default_factory=lambda: OptimizerConfig(warmup_steps=5))
    eval_every: int = 10  # steps between test measurements (and at the last step)
    freeze_body: bool = False  # True: train only the score head, keep the transformer as it was
    seed: int = 0  # seeds the order of the sentences and dropout

    def check(self) -> None:
        check_whole(self.epochs, "epochs", 1)
        check_whole(self.batch_size, "batch_size", 1)
        check_whole(self.eval_every, "eval_every", 1)
        check_whole(self.seed, "seed", 0)
        check_optimizer_config(self.optimizer)


@dataclass
class ClassificationReport:
    """How well a classifier does on some labelled sentences."""

    accuracy: float  # share of sentences classified right
    loss: float  # mean cross-entropy, nats
    confusion: torch.Tensor  # (n_classes, n_classes) counts: row = true class, column = predicted class
    classes: tuple[str, ...]
    predicted: list[str]  # the predicted class of each sentence

    def __repr__(self) -> str:
        return f"ClassificationReport(accuracy {self.accuracy:.1%} of {int(self.confusion.sum())}, loss {self.loss:.3f})"


def confusion_matrix(true: torch.Tensor, predicted: torch.Tensor, n_classes: int) -> torch.Tensor:
    """(n_classes, n_classes) counts of (true, predicted) pairs: ``confusion_matrix([0, 1, 1], [0, 0, 1], 2) == [[1, 0], [1, 1]]``."""
    true, predicted = torch.as_tensor(true), torch.as_tensor(predicted)
    return torch.bincount(true * n_classes + predicted, minlength=n_classes * n_classes).view(n_classes, n_classes)


def evaluate_classifier(clf: Classifier, examples: Sequence[Example]) -> ClassificationReport:
    """Accuracy, loss and confusion matrix of ``clf`` on ``examples``."""
    check_examples(examples, clf.classes)
    logits = clf.logits([ex.text for ex in examples])  # (n, n_classes)
    true = torch.tensor([clf.classes.index(ex.label) for ex in examples])  # (n,)
    predicted = logits.argmax(-1)  # (n,)
    return ClassificationReport(
        accuracy=(predicted == true).float().mean().item(),
        loss=F.cross_entropy(logits, true).item(),
        confusion=confusion_matrix(true, predicted, len(clf.classes)),
        classes=clf.classes,
        predicted=[clf.classes[i] for i in predicted.tolist()],
    )


def classifier_plan(clf: Classifier, examples: Sequence[Example], config: ClassifyConfig | None = None,
                    memory_budget: int | None = None) -> TrainingPlan:
    """What :func:`train_classifier` will train in the memory at hand (``memory_budget`` bytes, else a share of
    what the classifier's device has free): every weight (or the head alone, with ``freeze_body``), or the
    nearest run that fits. ``str(plan)`` says it in one sentence."""
    config = config or ClassifyConfig()
    config.check()
    check_examples(examples, clf.classes)
    longest = max(len(ids) for ids in clf.tokenizer([ex.text for ex in examples]).input_ids)
    return plan_training(ModelConfig.from_hf(clf.model.config), batch_size=config.batch_size, block_size=longest,
                         budget=usable_memory(clf.device, memory_budget), name=clf.name, where=str(clf.device),
                         classifier=True, head_only=config.freeze_body)


def train_classifier(
    clf: Classifier,
    examples: Sequence[Example],
    config: ClassifyConfig | None = None,
    *,
    eval_examples: Sequence[Example] | None = None,
    on_eval: Callable[[LossHistory], None] | None = None,
    progress: bool = True,
    memory_budget: int | None = None,
    plan: TrainingPlan | None = None,
) -> LossHistory:
    """Train ``clf`` (in place) on ``examples``; return the loss history.

    Each step: a batch of sentences, padded; the logits at each sentence's last real token; cross-entropy
    against the labels; AdamW. With ``eval_examples`` the loss and accuracy on them are measured before
    training and every ``config.eval_every`` steps, and ``on_eval(history)`` is called after each.
    ``plan`` (from :func:`classifier_plan`), else one made for ``memory_budget`` bytes, decides what is
    trained when the whole model does not fit; ``clf.plan`` keeps it.
    """
    from tqdm.auto import tqdm

    config = config or ClassifyConfig()
    config.check()
    check_examples(examples, clf.classes)
    if eval_examples is not None:
        check_examples(eval_examples, clf.classes)
    plan = plan or classifier_plan(clf, examples, config, memory_budget)
    clf.plan = plan
    model = clf.model
    trained = list({id(p): p for p in [*trained_parameters(model, plan), *model.score.parameters()]}.values())
    own_memory(trained, set(clf.shared_with))  # the lab's weights are never written
    train_only(model, trained)
    optimizer = make_optimizer(trained, config.optimizer)
    order = torch.Generator().manual_seed(config.seed)  # shuffles the sentences each epoch
    batch_size = plan.batch_size
    steps_per_epoch = math.ceil(len(examples) / batch_size)
    history = LossHistory(total_steps=config.epochs * steps_per_epoch, eval_label="test")

    def measure(step: int) -> None:
        if eval_examples is None:
            return
        report = evaluate_classifier(clf, eval_examples)
        history.eval_steps.append(step)
        history.eval_losses.append(report.loss)
        history.eval_accuracies.append(report.accuracy)
        if on_eval:
            on_eval(history)

    step = 0
    bar = tqdm(total=history.total_steps, unit="step", desc="training the classifier", disable=not progress)
    try:
        measure(0)
        with torch.random.fork_rng(devices=rng_devices(clf.device)):  # dropout's draws, seeded per step
            for _ in range(config.epochs):
                permutation = torch.randperm(len(examples), generator=order).tolist()
                for b in range(0, len(examples), batch_size):
                    chosen = [examples[i] for i in permutation[b : b + batch_size]]
                    torch.manual_seed(dropout_seed(config.seed, step))
                    batch = clf.batch([ex.text for ex in chosen])
                    labels = torch.tensor([clf.classes.index(ex.label) for ex in chosen], device=clf.device)  # (B,)
                    logits = clf.batch_logits(batch, train=True)  # (B, n_classes), read at each row's last real token
                    loss = optimizer_step(optimizer, F.cross_entropy(logits, labels), config.optimizer, step,
                                          step / history.total_steps)
                    step += 1
                    history.steps.append(step)
                    history.train_losses.append(loss)
                    if step % config.eval_every == 0 or step == history.total_steps:
                        measure(step)
                        if history.eval_accuracies:
                            bar.set_postfix(loss=f"{loss:.3f}", test_accuracy=f"{history.eval_accuracies[-1]:.0%}")
                    bar.update(1)
    except Exception as error:
        if is_out_of_memory(error):
            raise out_of_memory_error(plan, "Training the classifier") from None
        raise
    finally:
        bar.close()
        model.requires_grad_(True)
    return history
