"""Watch an induction head form: train a very small GPT-2 on text that rewards copying, measuring its heads as it learns.

An *induction head* finds an earlier copy of the current token and reads the token that came after it
(``... A B ... A`` → look at ``B``, predict ``B``). It needs a partner in an earlier block: a
*previous-token head*, which writes into each position the token just before it, so that the induction
head can look for "the position whose previous token is my token". Olsson et al. (2022, "In-context
learning and induction heads") saw these heads form abruptly, in a short stretch of training -- a
"phase change" -- while the loss on repeated text fell at the same moment.

This run shows it on a laptop CPU in a few minutes. The model is GPT-2's architecture (2 blocks, 4 heads,
a 128-wide stream), trained through gpt2lab's own forward pass
(:func:`gpt2lab.training.losses.next_token_losses`) with the optimizer step all training shares
(:func:`gpt2lab.training.optim.optimizer_step`). Its text is made for copying: each training window is a
span of random token ids said again and again (:func:`gpt2lab.training.copying.tile_span`), the span's
length drawn anew for each window, so that what comes next can only be found by looking the current token
up earlier in the window:

    window:  7 41 3 90 12 | 7 41 3 90 12 | 7 41 3 ...     one span of L random ids (here L = 5), repeated
             first copy: unpredictable (loss weight 0)  | every later token: predictable by copying

Every ``eval_every`` steps it measures each head as :mod:`gpt2lab.analysis.head_scores` does: the
induction score on random ids repeated twice (:func:`~gpt2lab.analysis.head_scores.repeated_random_tokens`,
:func:`~gpt2lab.analysis.head_scores.after_copy_weight`), the previous-token score on the same sequences
(:func:`~gpt2lab.analysis.head_scores.diagonal_weight`), and the loss on their repeated half.

    history = train_induction_run(InductionConfig(), on_measure=lambda h: print(h.best_induction[-1]))
    print(history.summary())              # what the run showed, in sentences computed from its numbers
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from gpt2lab.analysis.head_scores import (after_copy_weight, diagonal_weight, even_spread_induction,
                                          even_spread_previous_token, repeated_random_tokens)
from gpt2lab.errors import LabError
from gpt2lab.model.forward import forward
from gpt2lab.model.names import block_stage
from gpt2lab.training.copying import tile_span
from gpt2lab.training.losses import model_weights, next_token_losses
from gpt2lab.training.optim import OptimizerConfig, make_optimizer, optimizer_step
from gpt2lab.training.scratch import new_small_gpt2
from gpt2lab.training.settings import check_positive, check_whole

FORMED_SCORE = 0.3  # a head "has formed" once its score reaches this; an even spread scores about 0.02
PROBE_SEED = 1000  # the measuring sequences use seeds 1000, 1001, ...: the same for every run
LOSS_MEAN = 20  # training losses averaged when the summary quotes one (a single batch's loss is noisy)


@dataclass
class InductionConfig:
    """The model's shape, its copying text, how its heads are measured, and how long it may train.

    A bad value raises one :class:`~gpt2lab.errors.LabError` (:meth:`check`).
    """

    n_layer: int = 2  # blocks: the induction head needs a previous-token head in an earlier block
    n_head: int = 4  # heads per block
    d_model: int = 128  # residual stream width (64 learns the same trick, but in fewer seeds and more steps)
    vocab_size: int = 128  # token ids 0 .. vocab_size - 2, random; no tokenizer (the last id stays unused,
    #                        as GPT-2's <|endoftext|> would be)
    block_size: int = 64  # tokens per training window (the model's context)
    min_span: int = 4  # shortest repeated span in a training window
    max_span: int = 32  # longest (at most block_size // 2: every window holds two copies at least)
    batch_size: int = 32  # windows per step; every step draws fresh ones, so there is nothing to memorise
    max_steps: int = 400  # optimizer steps, unless the time budget stops the run first
    eval_every: int = 10  # steps between measurements of the heads
    probe_span: int = 32  # L of the measuring sequences: L random ids, then the same L again
    probe_count: int = 8  # measuring sequences, averaged: one alone gives a noisy score
    time_budget_s: float | None = None  # stop at the first measurement past this many seconds (None: never)
    seed: int = 0  # seeds the initial weights and the training windows
    # a constant learning rate after the warm-up: a run cut short by the time budget is the same run, only shorter
    optimizer: OptimizerConfig = field(default_factory=lambda: OptimizerConfig(
        lr=1e-3, warmup_steps=20, min_lr_ratio=1.0, weight_decay=0.01))

    def check(self) -> None:
        for name in ("n_layer", "n_head", "d_model", "batch_size", "max_steps", "eval_every", "probe_count"):
            check_whole(getattr(self, name), name, 1)
        check_whole(self.vocab_size, "vocab_size", 3)
        check_whole(self.block_size, "block_size", 4)
        check_whole(self.min_span, "min_span", 2)
        check_whole(self.max_span, "max_span", self.min_span)
        check_whole(self.probe_span, "probe_span", 2)
        check_whole(self.seed, "seed", 0)
        if self.time_budget_s is not None:
            check_positive(self.time_budget_s, "time_budget_s")
        if self.d_model % self.n_head:
            raise LabError(f"d_model ({self.d_model}) must be a multiple of n_head ({self.n_head}).")
        if 2 * max(self.max_span, self.probe_span) > self.block_size:
            raise LabError(f"max_span and probe_span must be at most block_size // 2 ({self.block_size // 2}): "
                           "a window must hold two copies.")
        self.optimizer.check()


@dataclass(frozen=True)
class ScoreRise:
    """How one score rose during a run: where it started, its peak, and the measurements its rise spans."""

    start: float  # the score at step 0
    peak: float  # the highest score measured
    peak_step: int  # the step of the peak
    begin_step: int  # the last measurement before the score passed a tenth of its rise: the jump starts here
    half_step: int  # the first measurement at or past half of its rise: the jump ends here (the steep part)
    end_step: int  # the first measurement at or past nine tenths of its rise (the slow climb after the jump)
    formed: bool  # whether the peak reached FORMED_SCORE


def score_rise(steps: list[int], scores: list[float]) -> ScoreRise:
    """Locate the rise of ``scores`` measured at ``steps`` (the rise is from the first score to the peak).

    >>> r = score_rise([0, 10, 20, 30, 40], [0.02, 0.03, 0.45, 0.80, 0.82])
    >>> r.begin_step, r.half_step, r.end_step, r.formed
    (10, 20, 30, True)
    """
    start, peak = scores[0], max(scores)

    def first_past(share: float) -> int:  # index of the first measurement at or past this share of the rise
        return next(i for i, score in enumerate(scores) if score >= start + share * (peak - start))

    begin = max(0, first_past(0.1) - 1)
    return ScoreRise(start, peak, steps[scores.index(peak)], steps[begin], steps[first_past(0.5)],
                     steps[first_past(0.9)], peak >= FORMED_SCORE)


@dataclass
class InductionHistory:
    """What the run measured: the training loss every step; the heads' scores every ``eval_every`` steps."""

    config: InductionConfig
    steps: list[int] = field(default_factory=list)  # 1, 2, 3 ...
    train_losses: list[float] = field(default_factory=list)  # each step's loss on the copied tokens (nats)
    eval_steps: list[int] = field(default_factory=list)  # 0 (before training), then every eval_every steps
    repeat_losses: list[float] = field(default_factory=list)  # loss on the measuring sequences' repeated half
    induction: list[torch.Tensor] = field(default_factory=list)  # (n_layer, n_head) induction scores, per measurement
    previous_token: list[torch.Tensor] = field(default_factory=list)  # (n_layer, n_head) previous-token scores
    seconds: list[float] = field(default_factory=list)  # time since the start, per measurement
    stopped_by_budget: bool = False  # True when the time budget ended the run before max_steps
    model: object = None  # the trained GPT2LMHeadModel, to look inside after the run (see head_patterns)

    @property
    def best_induction(self) -> list[float]:
        """The best head's induction score at each measurement."""
        return [float(grid.max()) for grid in self.induction]

    @property
    def best_previous_token(self) -> list[float]:
        """The best head's previous-token score at each measurement."""
        return [float(grid.max()) for grid in self.previous_token]

    def best_head(self, kind: str = "induction") -> tuple[int, int]:
        """(layer, head) of the best head at the last measurement, for ``"induction"`` or ``"previous_token"``."""
        grids = {"induction": self.induction, "previous_token": self.previous_token}
        if kind not in grids:
            raise LabError(f"kind must be 'induction' or 'previous_token', not {kind!r}.")
        grid = grids[kind][-1]
        layer, head = divmod(int(grid.argmax()), grid.shape[1])
        return layer, head

    @property
    def step(self) -> int:
        """Steps taken so far."""
        return self.steps[-1] if self.steps else 0

    def recent_loss(self, step: int) -> float:
        """The mean training loss of the ``LOSS_MEAN`` steps up to ``step`` (one batch alone is noisy); at step 0,
        the first step's loss."""
        recent = self.train_losses[max(0, step - LOSS_MEAN) : max(1, step)]
        return sum(recent) / len(recent)

    def phase_change(self) -> ScoreRise:
        """How the best induction score rose: from where, to what, and over which steps."""
        return score_rise(self.eval_steps, self.best_induction)

    def previous_token_rise(self) -> ScoreRise:
        """How the best previous-token score rose."""
        return score_rise(self.eval_steps, self.best_previous_token)

    def summary(self) -> str:
        """What the run showed, in sentences computed from its numbers (none is written in advance)."""
        config, last = self.config, len(self.eval_steps) - 1
        induction, previous = self.phase_change(), self.previous_token_rise()
        (li, hi), (lp, hp) = self.best_head("induction"), self.best_head("previous_token")
        ran = f"{self.eval_steps[last]} steps in {self.seconds[last]:.0f} s"
        if self.stopped_by_budget:
            ran += f", stopped by the time budget of {config.time_budget_s:.0f} s before the {config.max_steps} planned"
        lines = [f"The run: {ran}.",
                 f"The best induction score went from {induction.start:.2f} at step 0 to {self.best_induction[last]:.2f} "
                 f"at step {self.eval_steps[last]} (layer {li}, head {hi}); a head that spreads its weight evenly "
                 f"scores {even_spread_induction(config.probe_span):.3f}."]
        if induction.formed:
            begin, half = self.eval_steps.index(induction.begin_step), self.eval_steps.index(induction.half_step)
            lines.append(f"The jump: between steps {induction.begin_step} and {induction.half_step} "
                         f"({self.seconds[begin]:.0f} s to {self.seconds[half]:.0f} s into the run) it climbed from "
                         f"{self.best_induction[begin]:.2f} to {self.best_induction[half]:.2f}, a tenth to half of its "
                         f"whole rise; over the same steps the training loss (mean of the last {LOSS_MEAN} steps) fell "
                         f"from {self.recent_loss(induction.begin_step):.2f} to {self.recent_loss(induction.half_step):.2f} "
                         f"nats, and the loss on the repeated half from {self.repeat_losses[begin]:.2f} to "
                         f"{self.repeat_losses[half]:.2f}.")
        else:
            lines.append(f"No induction head formed in this run: no head reached {FORMED_SCORE} (the best was "
                         f"{induction.peak:.2f}, at step {induction.peak_step}).")
        lines.append(f"The best previous-token score went from {previous.start:.2f} to "
                     f"{self.best_previous_token[last]:.2f} (layer {lp}, head {hp}); an even spread scores "
                     f"{even_spread_previous_token(2 * config.probe_span):.3f}.")
        if induction.formed and previous.formed:
            order = ("before" if previous.half_step < induction.half_step else
                     "after" if previous.half_step > induction.half_step else "at the same measurement as")
            lines.append(f"The previous-token score passed halfway through its rise at step {previous.half_step}, "
                         f"{order} the induction score (step {induction.half_step}).")
        return "\n".join(lines)


def copying_batch(config: InductionConfig, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch_size`` windows of ``block_size + 1`` ids, each one random span said again and again.

    Returns the windows (B, T + 1) and each target's loss weight (B, T): 0 inside the first copy, which
    nothing can predict, 1 after it. Each window draws its span's length (``min_span`` .. ``max_span``).
    """
    B, n = config.batch_size, config.block_size + 1
    windows = torch.zeros(B, n, dtype=torch.long)  # (B, T + 1), filled by tile_span from position 0 on
    weights = torch.ones(B, n - 1)  # (B, T): target j is windows[:, j + 1]
    for row in range(B):
        length = int(torch.randint(config.min_span, config.max_span + 1, (1,), generator=generator))
        windows[row], weights[row], _ = tile_span(windows[row], config.vocab_size, generator, length=length,
                                                  start=0, random_tokens=True)
        weights[row, length - 1] = 0.0  # the second copy's first token: nothing yet says where the span ends
    return windows, weights


def probe_sequences(config: InductionConfig) -> torch.Tensor:
    """The measuring sequences: ``probe_count`` times ``probe_span`` random ids followed by the same ids. (count, 2L)"""
    return torch.stack([repeated_random_tokens(config.vocab_size, config.probe_span, seed=PROBE_SEED + k)
                        for k in range(config.probe_count)])  # (count, 2L)


def head_patterns(model, ids: torch.Tensor) -> torch.Tensor:
    """Every head's attention pattern on ``ids`` (T,) or (B, T): (n_layer, n_head, T, T), or (n_layer, B, n_head, T, T)."""
    weights, config = model_weights(model)
    names = [block_stage(layer, "attn.pattern") for layer in range(config.n_layer)]
    kept: dict[str, torch.Tensor] = {}

    def record(name: str, tensor: torch.Tensor) -> torch.Tensor:
        if name in names:
            kept[name] = tensor.detach()
        return tensor

    with torch.no_grad():
        forward(ids, weights, config, record)
    return torch.stack([kept[name] for name in names])


def measure_heads(model, probe: torch.Tensor, L: int) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Each head's induction and previous-token scores on ``probe`` (count, 2L), and the loss on its repeated half.

    Returns two (n_layer, n_head) grids and a loss in nats: the mean over the targets L + 1 .. 2L - 1, the
    tokens a copier can predict (the token at L, the second copy's first, follows nothing seen before).
    """
    patterns = head_patterns(model, probe).mean(dim=1)  # (n_layer, n_head, 2L, 2L): the mean over the sequences
    induction = torch.stack([after_copy_weight(layer, L) for layer in patterns])  # (n_layer, n_head)
    previous = torch.stack([diagonal_weight(layer, 1) for layer in patterns])  # (n_layer, n_head)
    with torch.no_grad():
        losses = next_token_losses(model, probe)  # (count, 2L - 1): loss j is for the token at j + 1
    return induction, previous, float(losses[:, L:].mean())


def train_induction_run(config: InductionConfig | None = None,
                        on_measure: Callable[[InductionHistory], None] | None = None) -> InductionHistory:
    """Train a fresh small GPT-2 on copying windows; measure its heads every ``eval_every`` steps.

    ``on_measure(history)`` is called after every measurement (step 0 included): a live plot's update.
    The run is seeded: the same config gives the same numbers. It ends after ``max_steps``, or at the
    first measurement past ``time_budget_s`` seconds (``history.stopped_by_budget`` then says so).
    """
    config = config or InductionConfig()
    config.check()
    model = new_small_gpt2(config, config.vocab_size)  # reads n_layer, n_head, d_model, block_size and seed
    optimizer = make_optimizer(model.parameters(), config.optimizer)
    generator = torch.Generator().manual_seed(config.seed)  # the training windows
    probe = probe_sequences(config)  # (count, 2L)
    history = InductionHistory(config, model=model)
    start = time.perf_counter()

    def measure(step: int) -> None:
        induction, previous, repeat_loss = measure_heads(model, probe, config.probe_span)
        history.eval_steps.append(step)
        history.induction.append(induction)
        history.previous_token.append(previous)
        history.repeat_losses.append(repeat_loss)
        history.seconds.append(time.perf_counter() - start)
        if on_measure:
            on_measure(history)

    measure(0)
    with torch.enable_grad():
        for step in range(config.max_steps):
            windows, weights = copying_batch(config, generator)  # (B, T + 1), (B, T)
            # no dropout (train=False): every window is new, so there is nothing to overfit
            losses = next_token_losses(model, windows)  # (B, T)
            loss = (losses * weights).sum() / weights.sum()  # mean over the copied tokens only
            history.steps.append(step + 1)
            history.train_losses.append(optimizer_step(optimizer, loss, config.optimizer, step, step / config.max_steps))
            if (step + 1) % config.eval_every == 0 or step + 1 == config.max_steps:
                measure(step + 1)
                out_of_time = config.time_budget_s is not None and history.seconds[-1] > config.time_budget_s
                if out_of_time and step + 1 < config.max_steps:
                    history.stopped_by_budget = True
                    break
    return history
