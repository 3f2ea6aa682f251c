"""Fine-tuning as a language model: keep training GPT-2, on a smaller text, so it picks up that text's style.

Pre-training taught the model to predict the next token of a huge text. Fine-tuning runs the very same
loop -- windows of text in, the next token of each position out, cross-entropy, AdamW -- on a text the
learner chooses, with a smaller learning rate and for far fewer steps. Nothing about the model changes
but its numbers.

The text is cut into windows of ``block_size + 1`` tokens (a window's first ``block_size`` tokens are
the input, its last ``block_size`` the targets). A seeded random tenth of the windows is kept aside:
the loss on those *validation* windows, never trained on, says whether the model learns the style or
only memorises the training windows. ``exp(loss)`` is the perplexity: roughly how many tokens the model
hesitates between at each position.

    result = finetune_lm(lab, shipped_text("kittiwake_log"), FineTuneConfig(max_steps=40))
    result.val_loss_before, result.val_loss      # nats per token, before and after
    tuned = result.lab                           # a new Lab; ``lab`` itself is left as it was
    result.plan                                  # what was trained: every weight, or the top blocks that fit
    save_finetuned(tuned, "my-model"); gpt2lab.load("my-model")

A fine-tune can stop early (``stop_at_step``, the notebook's stop button, an error) and go on later from
its checkpoint folder with ``resume=True``: the checkpoint holds the trained weights, AdamW's statistics,
the window sampler's state, the loss history and the plan of what is trained (safetensors + JSON, nothing
pickled; see :mod:`gpt2lab.training.state`), so the resumed run takes exactly the steps the uninterrupted
one would.

A model too big to fine-tune whole in the memory at hand (gpt2-xl on a 15 GiB GPU) trains its top blocks
only, or shorter windows (:mod:`gpt2lab.training.memory_plan`); ``result.summary()`` says so in a sentence.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from gpt2lab.errors import LabError
from gpt2lab.lab import Lab
from gpt2lab.training.losses import next_token_losses
from gpt2lab.training.memory_plan import (TrainingPlan, is_out_of_memory, out_of_memory_error, own_memory, plan_training,
                                          restored_plan, shared_copy, storage_addresses, train_only, trained_parameters,
                                          usable_memory)
from gpt2lab.training.history import LossHistory
from gpt2lab.training.optim import (OptimizerConfig, check_optimizer_config, dropout_seed, make_optimizer, optimizer_step,
                             rng_devices)
from gpt2lab.training.settings import check_whole, is_number
from gpt2lab.training.state import load_state, save_state
from gpt2lab.loading import ASSETS

TEXTS = ASSETS / "texts"  # short texts shipped with the kit to fine-tune on
DEFAULT_PROMPTS = ("The wind", "At noon", "We saw")


@dataclass
class FineTuneConfig:
    """Settings of a language-model fine-tune. Checked by :meth:`check`: a bad value raises one :class:`LabError`."""

    block_size: int = 64  # tokens the model reads per training window (at most the model's context)
    batch_size: int = 8  # windows per optimizer step
    max_steps: int = 40  # optimizer steps in the whole fine-tune; the learning-rate schedule spans them
    # AdamW and its schedule; the peak learning rate sits below pre-training's, so the model adapts
    # without forgetting all it knew
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    val_fraction: float = 0.1  # share of the windows kept aside for the validation loss
    eval_every: int = 10  # steps between validation measurements (and at the last step)
    checkpoint_every: int | None = None  # steps between checkpoints, when a checkpoint folder is given
    seed: int = 0  # seeds the train/validation split, the window sampler and dropout

    def check(self, n_ctx: int) -> None:
        """Raise a :class:`LabError` for a setting that cannot work with a model of context ``n_ctx``."""
        check_whole(self.block_size, "block_size", 1)
        if self.block_size > n_ctx:
            raise LabError(f"block_size is {self.block_size} but this model reads at most {n_ctx} tokens at once; use at most {n_ctx}.")
        check_whole(self.batch_size, "batch_size", 1)
        check_whole(self.max_steps, "max_steps", 1)
        check_whole(self.eval_every, "eval_every", 1)
        check_whole(self.seed, "seed", 0)
        if self.checkpoint_every is not None:
            check_whole(self.checkpoint_every, "checkpoint_every", 1)
        if not (is_number(self.val_fraction) and 0 < self.val_fraction < 1):
            raise LabError(f"val_fraction must be a number between 0 and 1 (such as 0.1), not {self.val_fraction!r}.")
        check_optimizer_config(self.optimizer)


# --- the text ------------------------------------------------------------------------------------------------


def shipped_text(name: str) -> str:
    """A text shipped with the kit to fine-tune on (``gpt2lab/assets/texts/<name>.txt``)."""
    path = TEXTS / f"{name}.txt"
    if not path.is_file():
        names = ", ".join(sorted(p.stem for p in TEXTS.glob("*.txt")))
        raise LabError(f"There is no shipped text called {name!r}; use one of: {names}.")
    return path.read_text(encoding="utf-8")


def read_text(text_or_path: str | os.PathLike) -> str:
    """The text itself, or the contents of a file: a ``Path``, or a one-line string naming an existing file."""
    if isinstance(text_or_path, os.PathLike) or (
        isinstance(text_or_path, str) and "\n" not in text_or_path and len(text_or_path) < 260 and Path(text_or_path).is_file()
    ):
        path = Path(text_or_path)
        if not path.is_file():
            raise LabError(f"There is no file {str(path)!r}; check the path, or pass the text itself as a string.")
        return path.read_text(encoding="utf-8")
    if not isinstance(text_or_path, str):
        raise LabError(f"Give the text as a string or a file path, not {type(text_or_path).__name__}.")
    return text_or_path


@dataclass
class TextWindows:
    """A text cut into windows of ``block_size + 1`` token ids, split into training and validation windows."""

    train: torch.Tensor  # (n_train, block_size + 1)
    val: torch.Tensor  # (n_val, block_size + 1)
    n_tokens: int  # tokens in the whole text

    @property
    def block_size(self) -> int:
        return self.train.shape[1] - 1


def min_tokens(block_size: int) -> int:
    """Tokens a text needs for one training and one validation window: ``min_tokens(64) == 129``.

    Neighbouring windows share one token (the last target of one is the first input of the next), so
    n windows take ``n * block_size + 1`` tokens.
    """
    return 2 * block_size + 1


def split_windows(ids: Sequence[int] | torch.Tensor, block_size: int, val_fraction: float, seed: int) -> TextWindows:
    """Cut ``ids`` into windows and give a seeded random ``val_fraction`` of them (at least one) to validation.

    ``ids = [0, 1, 2, 3, 4], block_size = 2`` -> windows ``[0, 1, 2]`` and ``[2, 3, 4]`` (one token
    shared), one for training, one for validation.
    """
    ids = torch.as_tensor(ids, dtype=torch.long)  # (N,)
    n_windows = (len(ids) - 1) // block_size
    if n_windows < 2:
        raise LabError(
            f"The text is {len(ids)} tokens long, but fine-tuning with block_size={block_size} needs at least "
            f"{min_tokens(block_size)} tokens (one window to train on and one to validate on); give a longer text or a smaller block_size."
        )
    starts = torch.arange(n_windows) * block_size
    windows = torch.stack([ids[s : s + block_size + 1] for s in starts.tolist()])  # (n_windows, block_size + 1)
    order = torch.randperm(n_windows, generator=torch.Generator().manual_seed(seed))
    n_val = min(n_windows - 1, max(1, round(n_windows * val_fraction)))
    val_index, _ = order[:n_val].sort()
    train_index, _ = order[n_val:].sort()
    return TextWindows(train=windows[train_index], val=windows[val_index], n_tokens=len(ids))


def encode_text(lab: Lab, text: str) -> torch.Tensor:
    """The text's token ids, (N,); an empty text raises a :class:`LabError`."""
    if not text.strip():
        raise LabError("The text is empty: give a few paragraphs (a few thousand characters) to fine-tune on.")
    return torch.tensor(lab.encode(text), dtype=torch.long)


# --- losses --------------------------------------------------------------------------------------------------


@torch.no_grad()
def mean_loss(model, windows: torch.Tensor, batch_size: int = 16) -> float:
    """Mean loss per token over all ``windows`` (no dropout), in nats, ``batch_size`` windows at a time."""
    device = next(model.parameters()).device
    total = sum(next_token_losses(model, windows[b : b + batch_size].to(device)).sum().item()
                for b in range(0, len(windows), batch_size))
    return total / windows[:, 1:].numel()


def perplexity(loss: float) -> float:
    """``exp(loss)``: a loss of ``log(50)`` nats is as unsure as a fair choice among 50 tokens."""
    return math.exp(loss)


# --- the fine-tune -------------------------------------------------------------------------------------------


@dataclass
class FineTuneResult:
    """What :func:`finetune_lm` returns."""

    lab: Lab  # the fine-tuned model, a new Lab (the one passed in is unchanged)
    history: LossHistory
    config: FineTuneConfig
    windows: TextWindows
    val_loss_before: float  # validation loss of the model before any step
    val_loss: float  # validation loss now
    finished: bool  # True when all max_steps steps are done
    interrupted: bool = False  # True when the stop button (KeyboardInterrupt) ended the run early
    checkpoint: Path | None = None  # where the state was saved, if a folder was given
    plan: TrainingPlan | None = None  # what was trained in the memory at hand (plan.note: what changed, if anything)

    @property
    def perplexity_before(self) -> float:
        return perplexity(self.val_loss_before)

    @property
    def perplexity(self) -> float:
        return perplexity(self.val_loss)

    def __repr__(self) -> str:
        return f"FineTuneResult({self.summary()})"

    def summary(self) -> str:
        """One line: steps, validation loss and perplexity before and after (after the sentence saying what
        was trained instead, when the memory at hand did not allow every weight)."""
        state = "done" if self.finished else "stopped early, resume from the checkpoint"
        changed = f"{self.plan.note} " if self.plan is not None and self.plan.changed else ""
        return (f"{changed}{self.history.step}/{self.config.max_steps} steps ({state}); validation loss {self.val_loss_before:.3f} -> "
                f"{self.val_loss:.3f} nats/token, perplexity {self.perplexity_before:.1f} -> {self.perplexity:.1f}")


def copy_lab(lab: Lab, name: str) -> Lab:
    """A new Lab with a deep copy of ``lab``'s model (same tokenizer), so training it leaves ``lab`` as it was."""
    model = copy.deepcopy(lab.hf_model)
    model.requires_grad_(True)
    return Lab(model, lab.tokenizer, name=name, source=f"fine-tuned from {lab.name}", device=lab.device)


def shared_lab(lab: Lab, name: str) -> Lab:
    """A new Lab whose model shares every weight's memory with ``lab``'s until training gives the trained ones
    their own copy (:func:`~gpt2lab.training.memory_plan.own_memory`): a fine-tune of the top blocks of a big
    model costs those blocks, not a second model."""
    model = shared_copy(lab.hf_model)
    model.requires_grad_(True)
    return Lab(model, lab.tokenizer, name=name, source=f"fine-tuned from {lab.name}", device=lab.device)


def finetune_plan(lab: Lab, config: FineTuneConfig | None = None, memory_budget: int | None = None) -> TrainingPlan:
    """What :func:`finetune_lm` will train in the memory at hand (``memory_budget`` bytes, else a share of what
    the lab's device has free): every weight, or the nearest run that fits. ``str(plan)`` says it in a sentence."""
    config = config or FineTuneConfig()
    config.check(lab.config.n_ctx)
    return plan_training(lab.config, batch_size=config.batch_size, block_size=config.block_size,
                         budget=usable_memory(lab.device, memory_budget), name=lab.name, where=str(lab.device))


def fingerprint(ids: torch.Tensor, config) -> str:
    """A short hash of the token ids and the settings that shape the run (a checkpoint resumes only the same run)."""
    settings = {k: v for k, v in dataclasses.asdict(config).items() if k not in ("checkpoint_every",)}
    h = hashlib.sha256(ids.numpy().tobytes())
    h.update(json.dumps(settings, sort_keys=True).encode())
    return h.hexdigest()[:16]


def finetune_lm(
    lab: Lab,
    text: str | os.PathLike,
    config: FineTuneConfig | None = None,
    *,
    checkpoint_dir: str | os.PathLike | None = None,
    resume: bool = False,
    stop_at_step: int | None = None,
    on_eval: Callable[[LossHistory], None] | None = None,
    progress: bool = True,
    memory_budget: int | None = None,
) -> FineTuneResult:
    """Fine-tune a copy of ``lab``'s model on ``text`` (a string, or a file) as a language model.

    ``checkpoint_dir``: save the state there when the run stops (and every ``config.checkpoint_every``
    steps); ``resume=True`` goes on from it. ``stop_at_step``: stop after that step, as if interrupted.
    ``on_eval(history)`` is called after every validation measurement (a live loss curve, for example).
    ``progress``: show a tqdm progress bar. ``memory_budget``: bytes the run may use (default: most of what
    the lab's device has free); a model too big to train whole there trains its top blocks only, or shorter
    windows (:func:`finetune_plan`), and ``result.summary()`` says so.
    """
    from tqdm.auto import tqdm

    config = config or FineTuneConfig()
    config.check(lab.config.n_ctx)
    if stop_at_step is not None:
        check_whole(stop_at_step, "stop_at_step", 1)
    if resume and checkpoint_dir is None:
        raise LabError("resume=True needs checkpoint_dir, the folder the interrupted fine-tune saved its state in.")
    ids = encode_text(lab, read_text(text))
    key = fingerprint(ids, config)
    device = lab.device
    checkpoint = Path(checkpoint_dir) if checkpoint_dir is not None else None
    # a resumed run trains what the interrupted one trained, whatever is free now
    plan = (resumed_plan(checkpoint) if resume else None) or finetune_plan(lab, config, memory_budget)
    windows = split_windows(ids, plan.block_size, config.val_fraction, config.seed)
    batch_size = plan.batch_size

    tuned = shared_lab(lab, name=f"{lab.name} fine-tuned")
    model = tuned.hf_model
    trained = trained_parameters(model, plan)
    own_memory(trained, storage_addresses(lab.hf_model))  # the lab's own weights are never written
    train_only(model, trained)
    part = torch.nn.ParameterList(trained)  # what a checkpoint holds: the trained weights (the rest are the lab's)
    optimizer = make_optimizer(trained, config.optimizer)
    sampler = torch.Generator().manual_seed(config.seed)  # draws each step's training windows
    history = LossHistory(total_steps=config.max_steps)

    def save() -> None:
        if checkpoint is not None:
            info = {"step": history.step, "fingerprint": key, "history": dataclasses.asdict(history),
                    "config": dataclasses.asdict(config), "plan": plan.as_dict()}
            save_state(checkpoint, part, optimizer, sampler, info)

    step, interrupted = 0, False
    bar = None
    try:
        if resume:
            history = resume_state(checkpoint, part, optimizer, sampler, key)
        else:
            history.eval_steps.append(0)
            history.eval_losses.append(mean_loss(model, windows.val, batch_size))
            if on_eval:
                on_eval(history)
        step = history.step
        last = min(config.max_steps, stop_at_step or config.max_steps)
        bar = tqdm(total=config.max_steps, initial=step, unit="step", desc="fine-tuning", disable=not progress)
        # dropout draws from torch's global generator: fork it, so the learner's own random state is left alone
        with torch.random.fork_rng(devices=rng_devices(device)):
            while step < last:
                torch.manual_seed(dropout_seed(config.seed, step))
                pick = torch.randint(len(windows.train), (batch_size,), generator=sampler)
                loss = next_token_losses(model, windows.train[pick].to(device), train=True).mean()
                loss = optimizer_step(optimizer, loss, config.optimizer, step, step / config.max_steps)
                step += 1
                history.steps.append(step)
                history.train_losses.append(loss)
                if step % config.eval_every == 0 or step == config.max_steps:
                    history.eval_steps.append(step)
                    history.eval_losses.append(mean_loss(model, windows.val, batch_size))
                    bar.set_postfix(train=f"{loss:.3f}", val=f"{history.eval_losses[-1]:.3f}")
                    if on_eval:
                        on_eval(history)
                bar.update(1)
                if config.checkpoint_every and step % config.checkpoint_every == 0:
                    save()
    except KeyboardInterrupt:
        interrupted = True  # the notebook's stop button: keep what was learnt, return it
    except BaseException as error:
        if history.eval_steps:
            save()  # an error mid-run: the steps done so far are not lost
        if is_out_of_memory(error):
            raise out_of_memory_error(plan, "Fine-tuning") from None
        raise
    finally:
        if bar is not None:
            bar.close()
        model.requires_grad_(True)  # as a copied model comes: every weight can be trained again
    save()
    val_loss = history.eval_losses[-1] if history.eval_steps[-1] == step else mean_loss(model, windows.val, batch_size)
    return FineTuneResult(
        lab=tuned, history=history, config=config, windows=windows, val_loss_before=history.eval_losses[0],
        val_loss=val_loss, finished=step >= config.max_steps, interrupted=interrupted, checkpoint=checkpoint, plan=plan,
    )


def resumed_plan(folder: Path) -> TrainingPlan | None:
    """The plan an interrupted fine-tune saved in its checkpoint (None when there is none to read)."""
    path = folder / "state.json"
    if not path.is_file():
        return None  # resume_state says what is missing, in one sentence
    return restored_plan(json.loads(path.read_text()).get("plan"))


def resume_state(folder: Path, model, optimizer, sampler: torch.Generator, key: str) -> LossHistory:
    """Load a checkpoint written by :func:`finetune_lm` into model (the trained weights), optimizer and sampler;
    return its history."""
    if not (folder / "state.json").is_file():
        raise LabError(f"There is no fine-tuning checkpoint in {str(folder)!r}; run without resume=True first.")
    info = json.loads((folder / "state.json").read_text())
    if info.get("fingerprint") != key:
        raise LabError("This checkpoint was made with a different text or different settings; resume with the same ones, or start again.")
    try:
        load_state(folder, model, optimizer, sampler)
    except (RuntimeError, KeyError) as error:  # a model of another shape
        raise LabError(f"This checkpoint does not fit this model ({str(error).splitlines()[0]}); resume with the model it was made from.") from None
    return LossHistory(**info["history"])


# --- after the fine-tune --------------------------------------------------------------------------------------


def save_finetuned(lab: Lab, folder: str | os.PathLike) -> Path:
    """Save ``lab``'s model (safetensors) and tokenizer in Hugging Face format; ``gpt2lab.load(folder)`` reads it back."""
    from gpt2lab.loading import quiet_transformers

    folder = Path(folder)
    with quiet_transformers():  # no "Writing model shards" progress bar in the notebook
        lab.hf_model.save_pretrained(folder)  # transformers writes model.safetensors, never a pickle
    lab.tokenizer.save_pretrained(folder)
    assert (folder / "model.safetensors").is_file()
    return folder


@dataclass
class Continuation:
    """One prompt continued by the model before and after fine-tuning, with the same seed."""

    prompt: str
    before: str
    after: str


def continue_text(lab: Lab, prompt: str, max_new_tokens: int = 30, temperature: float = 0.8, top_k: int | None = 40, seed: int = 0) -> str:
    """The model's continuation of ``prompt`` (the new text only), by :func:`gpt2lab.generation.loop.generate`.

    ``temperature=0`` is greedy. The draws come from a ``torch.Generator`` seeded with ``seed``, so the
    same seed gives two models the same random numbers: any difference in their text is the training.
    """
    from gpt2lab.generation.loop import generate

    result = generate(lab, prompt, max_new_tokens=max_new_tokens, temperature=temperature, top_k=top_k, seed=seed,
                      keep=(), distributions=False)  # keep no stages: only the text is wanted
    return result.completion


def compare_continuations(before: Lab, after: Lab, prompts: Sequence[str] = DEFAULT_PROMPTS, max_new_tokens: int = 30,
                          temperature: float = 0.8, top_k: int | None = 40, seed: int = 0) -> list[Continuation]:
    """Each prompt continued by ``before`` and ``after`` with the same settings and seed."""
    if isinstance(prompts, str):
        prompts = [prompts]
    settings = {"max_new_tokens": max_new_tokens, "temperature": temperature, "top_k": top_k, "seed": seed}
    return [Continuation(p, continue_text(before, p, **settings), continue_text(after, p, **settings)) for p in prompts]
