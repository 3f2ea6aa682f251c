"""Measure the model and write the shippable folder: fp16 weights, tokenizer, card, metrics, loss curve.

The held-out loss is measured on the *shipped* weights (saved in fp16, reloaded in fp32), so
``python -m gpt2lab.training.evaluate`` on the folder reproduces ``metrics.json`` exactly.

Held-out loss per token: the mean cross-entropy (nats) over every held-out token after the first,
each predicted from up to ``n_positions`` tokens before it (non-overlapping windows).
Per character: the same total nats divided by the held-out characters (the novels' text, not
counting the ``<|endoftext|>`` separators) -- comparable across tokenizers.
"""

from __future__ import annotations

import copy
import json
import platform
from pathlib import Path

import torch
from transformers import GPT2LMHeadModel, GPT2TokenizerFast

from gpt2lab.tokenizer.bpe import END_OF_TEXT
from gpt2lab.training.corpus import LICENCE_NOTE
from gpt2lab.analysis.head_scores import after_copy_weight, diagonal_weight, repeated_random_tokens
from gpt2lab.model.forward import forward
from gpt2lab.training.losses import model_weights, next_token_losses
from gpt2lab.training.small_tokenizer import write_truncated_tokenizer

SUBSET_CHARS = 50_000  # a quick check: the first 50k held-out characters (a quarter), also in metrics.json
SAMPLE_PROMPTS = [
    "It is a truth universally acknowledged",
    "Mr. Darcy",
    "Emma Woodhouse was",
    "\"My dear Elinor,\" said",
    "The weather at Bath",
]
SAMPLE_SEED = 1234  # the card's samples are reproducible: torch.manual_seed(1234) before each
SAMPLE_SETTINGS = dict(top_k=40, temperature=0.8, max_new_tokens=60)


@torch.no_grad()
def heldout_nats(model: GPT2LMHeadModel, ids: torch.Tensor, block: int, batch_size: int = 8) -> tuple[float, int]:
    """(total nats, tokens predicted) over ``ids`` (shape (N,)) in non-overlapping windows of ``block``.

    Window k feeds ``ids[k*block : (k+1)*block]`` and predicts the next token at each position, so
    every token but the first is predicted exactly once. ``ids = [5, 6, 7], block = 2`` -> windows
    ``[5, 6] -> [6, 7]``: two predictions.
    """
    n_full = (len(ids) - 1) // block  # windows with a full block of targets
    windows = [(k * block, block) for k in range(n_full)]
    if n_full * block < len(ids) - 1:
        windows.append((n_full * block, len(ids) - 1 - n_full * block))  # the shorter last one
    total, count = 0.0, 0
    for b in range(0, len(windows), batch_size):
        for group in _same_length(windows[b : b + batch_size]):
            t = group[0][1]
            windows_ids = torch.stack([ids[s : s + t + 1] for s, _ in group])  # (B, T + 1): inputs, then targets
            with torch.no_grad():
                total += next_token_losses(model, windows_ids).sum().item()  # gpt2lab's own forward pass
            count += windows_ids[:, 1:].numel()
    return total, count


@torch.no_grad()
def best_head_scores(model, prose_ids: torch.Tensor, repeat_length: int = 50, seeds: int = 3) -> dict:
    """The best previous-token score (on ``prose_ids``) and the best induction score (on random tokens repeated
    twice, averaged over ``seeds`` draws) of any head: what the training log follows."""
    weights, config = model_weights(model)
    repeat_length = min(repeat_length, config.n_ctx // 2)  # both halves must fit the context window

    def patterns(ids: torch.Tensor) -> list[torch.Tensor]:
        kept: dict[str, torch.Tensor] = {}
        forward(ids, weights, config, lambda name, t: kept.setdefault(name, t) if name.endswith("attn.pattern") else t)
        return list(kept.values())  # n_layer x (n_head, T, T)

    previous = torch.stack([diagonal_weight(p, 1) for p in patterns(prose_ids)])  # (n_layer, n_head)
    induction = torch.stack([torch.stack([after_copy_weight(p, repeat_length) for p in
                                          patterns(repeated_random_tokens(config.vocab_size, repeat_length, seed))])
                             for seed in range(seeds)]).mean(0)  # (n_layer, n_head)
    return {"previous_token": previous.max().item(), "induction": induction.max().item()}


def _same_length(windows: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Split a batch of (start, length) windows into groups of equal length (only the last one differs)."""
    groups: dict[int, list] = {}
    for w in windows:
        groups.setdefault(w[1], []).append(w)
    return list(groups.values())


def heldout_metrics(model: GPT2LMHeadModel, ids: torch.Tensor, heldout_text: str, block: int) -> dict:
    """Held-out loss in nats per token and per character (see the module docstring)."""
    nats, tokens = heldout_nats(model, ids, block)
    chars = len(heldout_text.replace(END_OF_TEXT, ""))
    return {"heldout_tokens": tokens, "heldout_chars": chars, "heldout_loss_per_token": nats / tokens, "heldout_loss_per_char": nats / chars}


def samples(model: GPT2LMHeadModel, tokenizer: GPT2TokenizerFast) -> list[dict]:
    """Continuations of ``SAMPLE_PROMPTS`` by gpt2lab's own generation loop, each drawn with seed ``SAMPLE_SEED``."""
    from gpt2lab.generation.loop import generate
    from gpt2lab.lab import Lab

    lab = Lab(model, tokenizer, name="training")  # a Lab reads the model in training, and never changes it
    out = []
    for prompt in SAMPLE_PROMPTS:
        # a tiny CI model may have fewer positions than prompt + continuation
        n_new = min(SAMPLE_SETTINGS["max_new_tokens"], lab.config.n_ctx - len(lab.encode(prompt)))
        result = generate(lab, prompt, max_new_tokens=n_new, temperature=SAMPLE_SETTINGS["temperature"],
                          top_k=SAMPLE_SETTINGS["top_k"], seed=SAMPLE_SEED, keep=(), distributions=False)
        out.append({"prompt": prompt, "continuation": result.completion})
    return out


def plot_loss(log: list[dict], path: Path) -> None:
    """Train and held-out loss (nats/token) against tokens seen, saved as a PNG."""
    from matplotlib.figure import Figure  # a bare Figure draws to a file without any backend or display

    fig = Figure(figsize=(6, 3.5), dpi=100)
    ax = fig.subplots()
    rows = [r for r in log if "train_loss" in r]
    ax.plot([r["tokens"] / 1e6 for r in rows], [r["train_loss"] for r in rows], label="train", lw=1)
    rows = [r for r in log if "heldout_loss" in r]
    ax.plot([r["tokens"] / 1e6 for r in rows], [r["heldout_loss"] for r in rows], label="held-out (subset)", lw=1.5)
    ax.set_xlabel("tokens seen (millions)")
    ax.set_ylabel("loss (nats per token)")
    ax.set_title("Tiny GPT-2 on Jane Austen")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (or platform.processor() elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def export_folder(out: Path, model: GPT2LMHeadModel, n_merges: int, heldout_ids: torch.Tensor, heldout_text: str, facts: dict, log: list[dict]) -> dict:
    """Write the shippable folder ``out``; return the metrics written to ``metrics.json``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    half = copy.deepcopy(model).half()
    half.config.resid_pdrop = half.config.embd_pdrop = half.config.attn_pdrop = 0.0  # dropout is for training only
    half.save_pretrained(out)
    tokenizer = write_truncated_tokenizer(out, n_merges)
    # measure what we ship: the fp16 weights, reloaded as fp32
    shipped = GPT2LMHeadModel.from_pretrained(out, dtype=torch.float32, attn_implementation="eager")
    metrics = {**facts, **heldout_metrics(shipped, heldout_ids, heldout_text, shipped.config.n_positions)}
    subset = heldout_text[:SUBSET_CHARS]
    subset_ids = torch.tensor(tokenizer(subset).input_ids)  # (M',)
    metrics["heldout_subset"] = {"chars_from_start": SUBSET_CHARS, **heldout_metrics(shipped, subset_ids, subset, shipped.config.n_positions)}
    metrics["samples"] = samples(shipped, tokenizer)
    metrics["head_scores"] = best_head_scores(shipped, heldout_ids[: shipped.config.n_positions // 2])
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    plot_loss(log, out / "loss_curve.png")
    (out / "MODEL_CARD.md").write_text(model_card(metrics, shipped.config), encoding="utf-8")
    return metrics


def first_run_text(m: dict) -> str:
    """The card's line on the run a warm-started model began from (empty for a run from random weights)."""
    first = m.get("first_run")
    if not first:
        return ""
    return (f"- Started from the weights of an earlier run: {first['step']:,} steps, {first['tokens_seen']:,} tokens, "
            f"{first['train_seconds'] / 60:.1f} minutes, held-out {first['heldout_loss_per_char']:.4f} nats per character "
            f"(`{first['command']}`). This card's run went on from there:\n")


def copying_text(m: dict) -> str:
    """The card's lines on the repeated spans and guided heads of a run that used them."""
    lines = []
    if m.get("copy_share"):
        lines.append(f"- Repeated spans: in {m['copy_share']:.0%} of the windows (in the last command; each phase's share is in "
                     "its command below), from a random point on, one span of 8 to 64 "
                     "tokens is said again and again (random token ids or the window's own text, half and half; "
                     "`gpt2lab.training.copying`). Copying is then the only way to predict the later copies, which "
                     "rewards an induction head; the random first copies are left out of the loss.")
    if m.get("guide") and m.get("guide_steps"):
        lines.append(f"- Guided heads (a shortcut, said plainly): for the first {m['guide_steps']:,} steps an extra loss "
                     f"(weight {m['guide_weight']} in the last command; each phase's weight is in its command below) pulled heads `{m['guide']}` (layer.head:kind) toward reading the "
                     "previous token and the token after the current token's earlier copy "
                     "(`gpt2lab.training.guided_heads`). Then the pull stopped, and the last "
                     f"{m['step'] - m['guide_steps']:,} steps trained on the language-modelling loss alone: the heads stayed "
                     "because the model uses them. In real GPT-2 such heads form on their own; notebook 09 shows one "
                     "forming on its own in a smaller model.")
    return "".join(line + "\n" for line in lines)


def phases_text(m: dict) -> str:
    """The card's list of the commands a resumed run ran, each from the step it began at (when there were several)."""
    phases = m.get("phases") or []
    if len(phases) < 2:
        return ""
    return " (the last of the commands this run ran; each began at the step given:)\n" + "".join(
        f"  - from step {p['from_step']:,}: `{p['command']}`\n" for p in phases).rstrip("\n")


def head_text(m: dict) -> str:
    """The card's line on the heads' measured jobs."""
    scores = m.get("head_scores")
    if not scores:
        return ""
    return (f"- Heads (`gpt2lab.analysis.head_scores`, the best head of each kind): previous-token "
            f"{scores['previous_token']:.2f} on the first {m['n_positions'] // 2} held-out tokens; induction "
            f"{scores['induction']:.2f} on 50 random tokens said twice (mean of 3 draws; a head spreading its "
            "weight evenly scores about 0.01-0.02).\n")


def model_card(m: dict, config) -> str:
    """The model card's Markdown, from ``metrics.json``'s figures."""
    sample_text = "\n\n".join(f"**{s['prompt']}**{s['continuation']}".replace("\n", " ") for s in m["samples"])
    return f"""# gpt2lab tiny GPT-2 (Jane Austen)

A {m['parameters'] / 1e6:.2f}M-parameter GPT-2 trained from scratch on a CPU, small enough to ship
inside the kit, so every notebook works offline. It writes Austen-flavoured text; it is a teaching
model, not a useful language model.

## Model
- Architecture: `transformers.GPT2LMHeadModel` (pre-LayerNorm blocks, `gelu_new`, learned positions,
  LM head tied to the token embedding): n_layer={config.n_layer} blocks, n_embd={config.n_embd},
  n_head={config.n_head}, context n_positions={config.n_positions} tokens, dropout 0.
- Parameters: {m['parameters']:,} (the tied embedding counted once).
- Weights: `model.safetensors` in float16 ({m['weights_bytes'] / 1e6:.1f} MB); load with
  `GPT2LMHeadModel.from_pretrained(folder, dtype=torch.float32)`.
- Tokenizer: GPT-2's own byte-level BPE truncated to its first {m['n_merges']:,} merges: vocabulary
  {config.vocab_size:,} = 256 bytes + {m['n_merges']:,} merges + `<|endoftext|>` (id {config.eos_token_id}).
  Every other token has the same id as in GPT-2 (ids are a prefix of GPT-2's). Why 8,192: the
  embedding (which is also the LM head) stays at {config.vocab_size * config.n_embd / m['parameters']:.0%} of the parameters,
  while the common Austen words are single tokens: {m['heldout_chars'] / m['heldout_tokens']:.2f} characters per token on
  the held-out text (on the whole held-out text, 7,935 merges give 3.84 and 3,840 merges give 3.50,
  so a 4,096-token vocabulary would feed about 9% less text per step).

## Data
- {LICENCE_NOTE}
- Lines joined into paragraphs, front matter before chapter 1 dropped, novels separated by
  `<|endoftext|>`. Held out: the last 5% of each novel ({m['heldout_chars']:,} characters,
  {m['heldout_tokens']:,} tokens); trained on the rest ({m['train_tokens']:,} tokens).

## Training
{first_run_text(m)}- AdamW (peak lr {m['lr']} in the last command, betas {m['betas']}, weight decay {m['weight_decay']}), {m['warmup_steps']} warm-up steps then cosine
  decay to {m['min_lr_ratio']} x lr over the {'step' if m.get('max_steps') else 'time'} budget; batches of {m['batch_size']} random windows of
  {config.n_positions + 1} tokens; dropout {m.get('dropout', 0.0)} while training; seed {m['seed']}.
{copying_text(m)}- Steps: {m['step']:,}; tokens seen: {m['tokens_seen']:,} ({m['tokens_seen'] / max(m['train_tokens'], 1):.1f} passes over the training text).
- Training time: {m['train_seconds'] / 60:.1f} minutes of optimizer steps (held-out checks and
  checkpoints not counted) on {m['cpu']} with `torch.set_num_threads({m['threads']})`,
  on a shared 2-core machine: {m['tokens_per_second']:,.0f} tokens/s.
- Command: `{m['command']}`{phases_text(m)}

## Results
- Held-out loss: **{m['heldout_loss_per_token']:.4f} nats per token**, **{m['heldout_loss_per_char']:.4f} nats per character**
  (the fp16 weights as shipped; every held-out token predicted once from up to {config.n_positions} tokens
  of context; per character = the same total over the novels' characters). Recompute with
  `python -m gpt2lab.training.evaluate` (or, on the first {SUBSET_CHARS:,} held-out characters only, in a few
  seconds: `python -m gpt2lab.training.evaluate --subset`, which gives {m['heldout_subset']['heldout_loss_per_token']:.4f} nats/token,
  {m['heldout_subset']['heldout_loss_per_char']:.4f} nats/char).
- Loss curve: `loss_curve.png` (train loss averaged over the steps between points{'; while heads were guided it includes the guide loss' if m.get('guide_steps') else ''}; held-out loss on
  the first {m['eval_tokens']:,} held-out tokens).
{head_text(m)}
![loss curve](loss_curve.png)

## Samples
Sampled with `torch.manual_seed({SAMPLE_SEED})`, `{SAMPLE_SETTINGS}`:

{sample_text}

## Licence
Model weights: MIT, like the kit. Training texts: public domain. Tokenizer merges: from OpenAI's
GPT-2 (MIT; see `gpt2lab/assets/gpt2_tokenizer/`).
"""
