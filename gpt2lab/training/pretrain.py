"""Train the kit's tiny GPT-2 on Jane Austen, on a CPU: ``python -m gpt2lab.training.pretrain --minutes 90``.

The loop is the textbook one -- sample random windows of text, predict each next token, step AdamW --
plus what a long CPU run needs: a time budget (the cosine learning-rate schedule runs over the
the budget, so a 10-minute and a 100-minute run both end at the low learning rate), a checkpoint of the
*full* training state every few minutes (``--resume`` picks it up), and, at every checkpoint and at
the end, the shippable model folder (default ``runs/tiny/model``; the kit's own embedded model was made
with ``--out gpt2lab/assets/tiny``, which only a maintainer should ever give).

Every step runs gpt2lab's own forward pass (:mod:`gpt2lab.training.losses`) over the Hugging Face
model's parameters, and takes the one optimizer step all training shares (:mod:`gpt2lab.training.optim`).

Example (a CI-sized run)::

    python -m gpt2lab.training.pretrain --slice-chars 20000 --max-steps 5 --n-layer 1 --out /tmp/tiny --run-dir /tmp/run
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gpt2lab.model.forward import keep_nothing
from gpt2lab.model.names import block_stage
from gpt2lab.training.copying import mix_in_copies
from gpt2lab.training.guided_heads import HeadGuide, guide_loss
from gpt2lab.training.losses import next_token_losses
from gpt2lab.training.optim import OptimizerConfig, make_optimizer, optimizer_step

# pre-training's optimizer: a high peak rate suits a small model; a long warm-up keeps early huge gradients
# from wrecking Adam's statistics; nanoGPT's weight decay of 0.1
PRETRAINING_OPTIMIZER = OptimizerConfig(lr=2e-3, warmup_steps=100, weight_decay=0.1)


@dataclass
class TrainConfig:
    # --- model shape (GPT-2 architecture) ---
    n_layer: int = 4  # transformer blocks
    n_embd: int = 256  # residual stream width
    n_head: int = 4  # attention heads (head size n_embd / n_head = 64, as in GPT-2)
    n_positions: int = 512  # context length; training always uses full-length windows
    n_merges: int = 7935  # GPT-2 merges kept: vocabulary = 256 bytes + merges + <|endoftext|> = 8,192
    # --- optimisation ---
    batch_size: int = 8  # windows per step (8 x 512 = 4,096 tokens)
    optimizer: OptimizerConfig = dataclasses.field(default_factory=lambda: dataclasses.replace(PRETRAINING_OPTIMIZER))
    # --- budget and bookkeeping ---
    minutes: float | None = None  # training-time budget (the LR schedule spans it)
    max_steps: int | None = None  # or a step budget (if both, whichever ends first)
    threads: int = 1  # torch.set_num_threads: one core leaves the other to the rest of the machine
    seed: int = 0  # seeds the initial weights and the window sampler
    slice_chars: int | None = None  # train on only the first this-many characters (CI-sized runs)
    eval_every: int = 50  # steps between held-out loss measurements (on a fixed subset)
    eval_tokens: int = 8192  # size of that subset (the card uses the whole held-out text)
    checkpoint_minutes: float = 10.0  # wall-clock minutes between checkpoints + folder exports
    out: str = "runs/tiny/model"  # the shippable model folder (never inside the installed package by default)
    run_dir: str = "runs/tiny"  # checkpoint and log (git-ignored)
    resume: bool = False  # continue from run_dir/checkpoint
    stop_at_step: int | None = None  # checkpoint and stop early at this step, as if interrupted (tests resume)
    # --- what the embedded model's second run added (see its model card) ---
    init_from: str | None = None  # start from this model folder's weights instead of random ones
    copy_share: float = 0.0  # share of windows given a span said again and again (gpt2lab.training.copying)
    guide: str = ""  # heads nudged toward a job, "layer.head:kind,..." (gpt2lab.training.guided_heads)
    guide_steps: int = 0  # ... for this many first steps, then the nudge stops
    guide_weight: float = 0.1  # the nudge's weight beside the language-modelling loss
    dropout: float = 0.0  # dropout while training (attention, residual, embedding); the shipped model has none


def build_model(cfg: TrainConfig, eos_id: int):
    """A randomly initialised GPT2LMHeadModel of ``cfg``'s shape (seeded by ``cfg.seed``), or the weights of
    ``cfg.init_from``; with ``cfg.dropout`` while training."""
    from transformers import GPT2Config, GPT2LMHeadModel

    if cfg.init_from:
        model = GPT2LMHeadModel.from_pretrained(cfg.init_from, dtype=torch.float32, attn_implementation="eager")
        c = model.config
        if (c.n_layer, c.n_embd, c.n_head, c.n_positions, c.vocab_size) != (cfg.n_layer, cfg.n_embd, cfg.n_head, cfg.n_positions, 256 + cfg.n_merges + 1):
            raise SystemExit(f"{cfg.init_from} has another shape than the one asked for; give the same --n-layer, --n-embd, ...")
        c.resid_pdrop = c.embd_pdrop = c.attn_pdrop = cfg.dropout
        return model

    config = GPT2Config(
        vocab_size=256 + cfg.n_merges + 1,
        n_positions=cfg.n_positions,
        n_embd=cfg.n_embd,
        n_layer=cfg.n_layer,
        n_head=cfg.n_head,
        activation_function="gelu_new",
        resid_pdrop=cfg.dropout,
        embd_pdrop=cfg.dropout,
        attn_pdrop=cfg.dropout,
        tie_word_embeddings=True,
        # GPT2Config defaults these to 50256, which does not exist in a smaller vocabulary
        bos_token_id=eos_id,
        eos_token_id=eos_id,
        pad_token_id=eos_id,
    )
    torch.manual_seed(cfg.seed)
    return GPT2LMHeadModel(config)


def first_run(folder: str) -> dict:
    """What the card says of the run a warm start began from: its steps, tokens, time, loss and command."""
    m = json.loads((Path(folder) / "metrics.json").read_text())
    keys = ("step", "tokens_seen", "train_seconds", "heldout_loss_per_char", "command")
    return {k: m[k] for k in keys}


def token_ids(text: str, tokenizer, name: str, cache: Path) -> np.ndarray:
    """Tokenize ``text`` once and cache the ids as ``.npy`` (uint16: the vocabulary is < 65,536)."""
    import hashlib

    key = hashlib.sha256(text.encode()).hexdigest()[:16]
    path = cache / f"{name}-{len(tokenizer)}-{key}.npy"
    if path.exists():
        return np.load(path, allow_pickle=False)
    ids = np.array(tokenizer(text).input_ids, dtype=np.uint16)
    np.save(path, ids, allow_pickle=False)
    return ids


def train(cfg: TrainConfig, command: str = "") -> dict:
    """Run (or resume) training; return the final metrics (also in ``cfg.out``/metrics.json)."""
    from tqdm import tqdm

    from gpt2lab.training.corpus import cache_dir, load_split
    from gpt2lab.training.export import best_head_scores, cpu_name, export_folder, heldout_nats
    from gpt2lab.training.small_tokenizer import write_truncated_tokenizer
    from gpt2lab.training.state import load_state, save_state

    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)

    train_text, heldout_text = load_split(cfg.slice_chars)
    tokenizer = write_truncated_tokenizer(run_dir / "tokenizer", cfg.n_merges)
    train_ids = torch.from_numpy(token_ids(train_text, tokenizer, "train", cache_dir()).astype(np.int64))  # (N,)
    heldout_ids = torch.from_numpy(token_ids(heldout_text, tokenizer, "heldout", cache_dir()).astype(np.int64))  # (M,)
    eval_ids = heldout_ids[: cfg.eval_tokens + 1]  # the fixed subset for the loss curve

    model = build_model(cfg, tokenizer.eos_token_id)
    optimizer = make_optimizer(model.parameters(), cfg.optimizer)
    sampler = torch.Generator().manual_seed(cfg.seed)  # draws the training windows
    step, tokens_seen, seconds, log = 0, 0, 0.0, []
    phases: list[dict] = []  # each command that ran this run (a resumed run may change its settings)
    log_path = run_dir / "log.jsonl"
    if cfg.resume:
        info = load_state(run_dir / "checkpoint", model, optimizer, sampler)
        step, tokens_seen, seconds = info["step"], info["tokens_seen"], info["train_seconds"]
        phases = info.get("phases", [{"from_step": 0, "command": info.get("command", "")}])
        log = [json.loads(line) for line in log_path.read_text().splitlines() if line]
        log = [r for r in log if r["step"] <= step]  # drop rows written after the checkpoint
        log_path.write_text("".join(json.dumps(r) + "\n" for r in log))
    elif log_path.exists():
        log_path.unlink()

    if not phases or phases[-1]["command"] != command:
        phases.append({"from_step": step, "command": command})
    T, B = cfg.n_positions, cfg.batch_size
    budget = cfg.minutes * 60 if cfg.minutes else None
    parameters = sum(p.numel() for p in model.parameters())  # the tied embedding is one Parameter
    facts = lambda: {  # noqa: E731 -- everything the card reports besides the held-out loss
        **{k: v for k, v in dataclasses.asdict(cfg).items() if k not in ("out", "run_dir", "resume", "stop_at_step", "optimizer")},
        **dataclasses.asdict(cfg.optimizer),
        "betas": [cfg.optimizer.beta1, cfg.optimizer.beta2],
        "parameters": parameters,
        "weights_bytes": 2 * parameters,
        "train_tokens": len(train_ids),
        "step": step,
        "tokens_seen": tokens_seen,
        "train_seconds": round(seconds, 1),
        "tokens_per_second": tokens_seen / max(seconds, 1e-9),
        "cpu": cpu_name(),
        "command": command,
        "phases": phases,
        **({"first_run": first_run(cfg.init_from)} if cfg.init_from else {}),
    }

    def progress() -> float:
        fractions = [seconds / budget if budget else 0.0, step / cfg.max_steps if cfg.max_steps else 0.0]
        return max(fractions)

    def checkpoint() -> dict:
        save_state(run_dir / "checkpoint", model, optimizer, sampler, {"step": step, "tokens_seen": tokens_seen, "train_seconds": seconds,
                                                                     "config": dataclasses.asdict(cfg), "command": command, "phases": phases})
        return export_folder(Path(cfg.out), model, cfg.n_merges, heldout_ids, heldout_text, facts(), log)

    guides = HeadGuide.parse(cfg.guide)
    guided = {block_stage(g.layer, "attn.pattern") for g in guides}
    bar = tqdm(total=cfg.max_steps, initial=step, unit="step", dynamic_ncols=True)
    last_checkpoint, running, running_n = time.monotonic(), 0.0, 0
    while progress() < 1.0:
        t0 = time.perf_counter()
        starts = torch.randint(0, len(train_ids) - T - 1, (B,), generator=sampler)
        windows = torch.stack([train_ids[s : s + T + 1] for s in starts.tolist()])  # (B, T + 1): inputs, then targets
        weight, copy_of = torch.ones(B, T), None
        if cfg.copy_share > 0:
            windows, weight, copy_of = mix_in_copies(windows, model.config.vocab_size, sampler, cfg.copy_share)
        patterns: dict[str, torch.Tensor] = {}
        guiding = step < cfg.guide_steps and bool(guides)
        keep = (lambda name, t: patterns.setdefault(name, t) if name in guided else t) if guiding else keep_nothing  # noqa: E731
        losses = next_token_losses(model, windows, train=True, record=keep)  # (B, T)
        loss = (losses * weight).sum() / weight.sum()
        if guiding:
            loss = loss + cfg.guide_weight * sum(guide_loss(patterns[block_stage(g.layer, "attn.pattern")], g, copy_of) for g in guides)
        loss = optimizer_step(optimizer, loss, cfg.optimizer, step, progress())
        step += 1
        tokens_seen += B * T
        seconds += time.perf_counter() - t0
        running, running_n = running + loss, running_n + 1

        if step % cfg.eval_every == 0 or progress() >= 1.0:
            row = {"step": step, "tokens": tokens_seen, "seconds": round(seconds, 1), "lr": optimizer.param_groups[0]["lr"], "train_loss": running / running_n}
            nats, count = heldout_nats(model, eval_ids, T)
            row["heldout_loss"] = nats / count
            row.update(best_head_scores(model, heldout_ids[: T // 2]))
            log.append(row)
            with log_path.open("a") as f:
                f.write(json.dumps(row) + "\n")
            running, running_n = 0.0, 0
            bar.set_postfix(train=f"{row['train_loss']:.3f}", heldout=f"{row['heldout_loss']:.3f}", tok_s=f"{tokens_seen / seconds:.0f}")
        if budget and not cfg.max_steps:
            bar.total = max(step, round(step / max(progress(), 1e-9)))  # the estimated final step
        bar.update(1)
        if step == cfg.stop_at_step:
            break
        if time.monotonic() - last_checkpoint > cfg.checkpoint_minutes * 60 and progress() < 1.0:
            checkpoint()
            last_checkpoint = time.monotonic()
    bar.close()
    return checkpoint()


def parse_args(argv: list[str] | None = None, prog: str | None = None) -> TrainConfig:
    """Every TrainConfig and OptimizerConfig field becomes a ``--flag`` (``n_layer`` -> ``--n-layer``, ``--lr``)."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    kinds = {"int": int, "float": float, "str": str, "int | None": int, "float | None": float, "str | None": str}
    fields = [(f, f.default) for f in dataclasses.fields(TrainConfig) if f.name != "optimizer"]
    fields += [(f, getattr(PRETRAINING_OPTIMIZER, f.name)) for f in dataclasses.fields(OptimizerConfig)]
    for field, default in fields:
        flag = "--" + field.name.replace("_", "-")
        if field.type in ("bool",):
            parser.add_argument(flag, action="store_true")
        else:
            parser.add_argument(flag, type=kinds[field.type], default=default)
    args = vars(parser.parse_args(argv))
    optimizer = OptimizerConfig(**{f.name: args.pop(f.name) for f in dataclasses.fields(OptimizerConfig)})
    return TrainConfig(**args, optimizer=optimizer)


def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    cfg = parse_args(argv, prog)
    if cfg.minutes is None and cfg.max_steps is None:
        raise SystemExit("give a budget: --minutes and/or --max-steps")
    torch.set_num_threads(cfg.threads)  # the command line decides the threads; the library never does
    metrics = train(cfg, command="python -m gpt2lab.training.pretrain " + shlex.join(argv))
    print(f"held-out: {metrics['heldout_loss_per_token']:.4f} nats/token, {metrics['heldout_loss_per_char']:.4f} nats/char -> {cfg.out}")


if __name__ == "__main__":
    main()
