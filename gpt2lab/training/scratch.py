"""Train a small GPT-2 from scratch on a short text, in about a minute on a laptop CPU (notebook 09's live run).

    run = ScratchRun.new(shipped_text("kittiwake_log"))        # random weights, GPT-2's tokenizer cut to 256 merges
    run.train(ScratchConfig(), on_eval=curve.update, on_sample=print)

The model is a real ``GPT2LMHeadModel`` -- pre-LN blocks, GELU, tied head -- only tiny; every step is
gpt2lab's own forward pass (:func:`gpt2lab.training.losses.next_token_losses`) and the one optimizer step
all training shares (:func:`gpt2lab.training.optim.optimizer_step`). It is independent of the model a
notebook has loaded. Samples come from :func:`gpt2lab.generation.loop.generate`, as for any model.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from gpt2lab.lab import Lab
from gpt2lab.training.finetune import mean_loss, split_windows
from gpt2lab.training.history import LossHistory
from gpt2lab.training.losses import next_token_losses
from gpt2lab.training.optim import OptimizerConfig, make_optimizer, optimizer_step, rng_devices
from gpt2lab.training.settings import check_positive, check_whole


@dataclass
class ScratchConfig:
    """The model's shape and the run's length. A bad value raises one LabError (:meth:`check`)."""

    n_layer: int = 2  # transformer blocks
    n_head: int = 2  # attention heads per block
    d_model: int = 64  # residual stream width
    block_size: int = 64  # tokens per training window (also the model's context)
    n_merges: int = 256  # GPT-2's first merges kept: vocabulary 256 bytes + n_merges + <|endoftext|>
    batch_size: int = 16  # windows per step
    max_steps: int = 160  # optimizer steps: about 10 passes over a 4,000-token text
    eval_every: int = 20  # steps between validation losses (and samples)
    val_fraction: float = 0.1  # share of the windows held out
    seed: int = 0  # seeds the initial weights, the window sampler and dropout
    optimizer: OptimizerConfig = field(default_factory=lambda: OptimizerConfig(lr=3e-3, warmup_steps=20, weight_decay=0.1))

    def check(self) -> None:
        for name in ("n_layer", "n_head", "d_model", "block_size", "batch_size", "max_steps", "eval_every"):
            check_whole(getattr(self, name), name, 1)
        check_whole(self.n_merges, "n_merges", 0)
        check_positive(self.val_fraction, "val_fraction")
        if self.d_model % self.n_head:
            from gpt2lab.errors import LabError

            raise LabError(f"d_model ({self.d_model}) must be a multiple of n_head ({self.n_head}).")
        self.optimizer.check()


def small_gpt2_tokenizer(n_merges: int):
    """GPT-2's tokenizer cut to its first ``n_merges`` merges (see :mod:`gpt2lab.training.small_tokenizer`)."""
    from gpt2lab.training.small_tokenizer import write_truncated_tokenizer

    with tempfile.TemporaryDirectory() as folder:
        return write_truncated_tokenizer(folder, n_merges)


def new_small_gpt2(config: ScratchConfig, vocab_size: int):
    """A GPT-2 of ``config``'s shape with fresh random weights (GPT-2's initialisation), seeded by ``config.seed``."""
    from transformers import GPT2Config, GPT2LMHeadModel

    hf_config = GPT2Config(n_layer=config.n_layer, n_head=config.n_head, n_embd=config.d_model,
                           n_positions=config.block_size, vocab_size=vocab_size, bos_token_id=vocab_size - 1,
                           eos_token_id=vocab_size - 1, attn_implementation="eager")
    with torch.random.fork_rng(devices=[]):  # Hugging Face initialises from the global generator: leave the caller's alone
        torch.manual_seed(config.seed)
        return GPT2LMHeadModel(hf_config).eval()


@dataclass
class ScratchRun:
    """A small GPT-2 being trained from scratch on one text: the lab to read it with, its data and its losses."""

    lab: Lab  # the model as a lab: trace it, generate with it, like any other
    text: str  # the training text
    config: ScratchConfig
    history: LossHistory | None = None  # filled by train()
    samples: list[tuple[int, str]] = field(default_factory=list)  # (step, what it wrote then)

    @classmethod
    def new(cls, text: str, config: ScratchConfig | None = None) -> "ScratchRun":
        config = config or ScratchConfig()
        config.check()
        tokenizer = small_gpt2_tokenizer(config.n_merges)
        model = new_small_gpt2(config, len(tokenizer))
        return cls(Lab(model, tokenizer, name="from scratch", source="random weights", device="cpu"), text, config)

    def sample(self, prompt: str, max_new_tokens: int = 60, seed: int = 0) -> str:
        """What the model writes after ``prompt`` now (temperature 0.8, top-k 20, seeded)."""
        from gpt2lab.generation.loop import generate

        was_training = self.lab.hf_model.training
        self.lab.hf_model.eval()
        with torch.no_grad():
            text = generate(self.lab, prompt, max_new_tokens, temperature=0.8, top_k=20, seed=seed, keep=(),
                            distributions=False).completion
        self.lab.hf_model.train(was_training)
        return text

    def train(self, on_eval: Callable[[LossHistory], None] | None = None,
              on_sample: Callable[[int, str], None] | None = None, prompt: str = "Wind") -> LossHistory:
        """Run ``config.max_steps`` steps; every ``eval_every`` steps measure the validation loss, call
        ``on_eval(history)`` and ``on_sample(step, text)`` with a fresh sample after ``prompt``."""
        cfg = self.config
        ids = torch.tensor(self.lab.encode(self.text), dtype=torch.long)  # (N,)
        windows = split_windows(ids, cfg.block_size, cfg.val_fraction, cfg.seed)
        model = self.lab.hf_model
        optimizer = make_optimizer(model.parameters(), cfg.optimizer)
        sampler = torch.Generator().manual_seed(cfg.seed)
        history = self.history = LossHistory(total_steps=cfg.max_steps)

        def measure(step: int) -> None:
            history.eval_steps.append(step)
            history.eval_losses.append(mean_loss(model, windows.val, cfg.batch_size))
            text = self.sample(prompt)
            self.samples.append((step, text))
            if on_eval:
                on_eval(history)
            if on_sample:
                on_sample(step, text)

        measure(0)
        with torch.enable_grad(), torch.random.fork_rng(devices=rng_devices(self.lab.device)):
            torch.manual_seed(cfg.seed)  # dropout's masks, from a forked generator
            for step in range(cfg.max_steps):
                pick = torch.randint(len(windows.train), (cfg.batch_size,), generator=sampler)
                loss = next_token_losses(model, windows.train[pick], train=True).mean()
                history.steps.append(step + 1)
                history.train_losses.append(optimizer_step(optimizer, loss, cfg.optimizer, step, step / cfg.max_steps))
                if (step + 1) % cfg.eval_every == 0 or step + 1 == cfg.max_steps:
                    measure(step + 1)
        model.eval()
        return history


def replace(config: ScratchConfig, **changes) -> ScratchConfig:
    """A copy of ``config`` with some fields changed: ``replace(ScratchConfig(), max_steps=50)``."""
    return dataclasses.replace(config, **changes)
