"""The optimizer step every kind of training shares: AdamW, a warm-up-then-cosine schedule, clipping.

Pre-training the embedded model, fine-tuning on a text and training a classifier all take their steps
here, with one :class:`OptimizerConfig`; only the defaults each of them starts from differ.

    optimizer = make_optimizer(model.parameters(), cfg)
    for step in range(n_steps):
        loss = ...                                   # through gpt2lab's own forward pass
        optimizer_step(optimizer, loss, cfg, step, progress=step / n_steps)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import torch

from gpt2lab.errors import LabError
from gpt2lab.training.settings import check_fraction, check_positive, check_whole


@dataclass
class OptimizerConfig:
    """AdamW and its learning-rate schedule. Checked by :meth:`check`: a bad value raises one LabError."""

    lr: float = 5e-4  # peak learning rate
    min_lr_ratio: float = 0.1  # the cosine schedule ends at lr * this
    warmup_steps: int = 4  # linear warm-up from 0: the first gradients on new data are the largest
    weight_decay: float = 0.01  # on weight matrices only, not on biases or LayerNorm gains
    beta1: float = 0.9  # AdamW's momentum
    beta2: float = 0.99  # AdamW's second-moment decay (0.99 suits small batches)
    grad_clip: float = 1.0  # clip the global gradient norm: one odd batch cannot throw the weights far

    def check(self) -> None:
        check_positive(self.lr, "lr")
        check_positive(self.grad_clip, "grad_clip")
        check_whole(self.warmup_steps, "warmup_steps", 0)
        check_fraction(self.min_lr_ratio, "min_lr_ratio")
        check_fraction(self.weight_decay, "weight_decay")
        check_fraction(self.beta1, "beta1", upper_open=True)
        check_fraction(self.beta2, "beta2", upper_open=True)


def lr_at(cfg: OptimizerConfig, step: int, progress: float) -> float:
    """Linear warm-up over ``warmup_steps``, then cosine from ``lr`` to ``lr * min_lr_ratio`` as progress goes 0 -> 1.

    >>> cfg = OptimizerConfig(lr=1.0, warmup_steps=2, min_lr_ratio=0.0)
    >>> [round(lr_at(cfg, s, p), 3) for s, p in [(0, 0.0), (1, 0.1), (2, 0.5), (9, 1.0)]]
    [0.5, 1.0, 0.5, 0.0]
    """
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    cosine = 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * cosine)


def make_optimizer(parameters: Iterable[torch.nn.Parameter], cfg: OptimizerConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on the 2-D weights only (GPT-2/nanoGPT practice); frozen parameters are left out."""
    params = [p for p in parameters if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))


def optimizer_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor, cfg: OptimizerConfig, step: int,
                   progress: float) -> float:
    """One training step: set the scheduled learning rate, backpropagate ``loss``, clip, update. Returns the loss."""
    for group in optimizer.param_groups:
        group["lr"] = lr_at(cfg, step, progress)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    params = [p for group in optimizer.param_groups for p in group["params"]]
    torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
    optimizer.step()
    return loss.item()


def check_optimizer_config(optimizer) -> None:
    """The optimizer settings of a fine-tune or a classifier run, checked with one sentence each."""
    if not isinstance(optimizer, OptimizerConfig):
        raise LabError("optimizer must be an OptimizerConfig, such as OptimizerConfig(lr=5e-4).")
    optimizer.check()


def rng_devices(device: torch.device) -> list[int]:
    """The CUDA devices whose random state ``torch.random.fork_rng`` must save and restore (none on a CPU)."""
    if device.type != "cuda":
        return []
    return [device.index if device.index is not None else torch.cuda.current_device()]


def dropout_seed(seed: int, step: int) -> int:
    """Dropout's seed for one step. Seeding every step from (seed, step) makes a resumed run draw the same masks."""
    return seed * 1_000_003 + step
