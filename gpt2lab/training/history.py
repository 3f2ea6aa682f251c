"""The record of a training run: the losses to plot, from pre-training, fine-tuning and classification alike."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class LossHistory:
    """The losses of a training run, ready to plot: one training loss per step, an evaluation loss every few."""

    total_steps: int  # the steps the whole run will take
    steps: list[int] = field(default_factory=list)  # 1, 2, 3 ...
    train_losses: list[float] = field(default_factory=list)  # the loss of each step's batch (noisy)
    eval_steps: list[int] = field(default_factory=list)  # 0 (before training), then every eval_every steps
    eval_losses: list[float] = field(default_factory=list)  # loss on data never trained on
    eval_label: str = "validation"  # what the evaluation data is called in plots
    eval_accuracies: list[float] = field(default_factory=list)  # classification runs: accuracy at each eval step

    @property
    def step(self) -> int:
        """Steps taken so far."""
        return self.steps[-1] if self.steps else 0
