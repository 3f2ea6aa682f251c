"""The GPT-2 family by the numbers: shapes and parameter counts, computed from configs alone.

Nothing is downloaded: each checkpoint's shape is a handful of integers, and every parameter count
follows from them. For GPT-2 small (12 layers, d_model 768, 50,257 tokens, 1,024 positions):

    token embedding   50,257 x 768         = 38,597,376
    position emb.      1,024 x 768         =    786,432
    12 blocks x 7,087,872                  = 85,054,464
    final LayerNorm    2 x 768             =      1,536
    total (the unembedding is the token embedding, tied) = 124,439,808

And the memory a piece of work needs, from the same integers (:func:`memory_needed`, :func:`training_bytes`),
so a notebook can say what a lab, a trace or a fine-tune will take before it allocates any of it, and what
the device has free (:func:`available_memory`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from gpt2lab.errors import LabError
from gpt2lab.model.config import ModelConfig
from gpt2lab.model.names import select_stages

# The published shapes of the GPT-2 family (Radford et al. 2019; distilgpt2 by Hugging Face).
FAMILY = {
    "gpt2": ModelConfig(n_layer=12, n_head=12, d_model=768, n_ctx=1024, vocab_size=50257),
    "gpt2-medium": ModelConfig(n_layer=24, n_head=16, d_model=1024, n_ctx=1024, vocab_size=50257),
    "gpt2-large": ModelConfig(n_layer=36, n_head=20, d_model=1280, n_ctx=1024, vocab_size=50257),
    "gpt2-xl": ModelConfig(n_layer=48, n_head=25, d_model=1600, n_ctx=1024, vocab_size=50257),
    "distilgpt2": ModelConfig(n_layer=6, n_head=12, d_model=768, n_ctx=1024, vocab_size=50257),
}


@dataclass(frozen=True)
class ParameterCount:
    token_embedding: int  # vocab_size x d_model (also the unembedding: GPT-2 ties them)
    position_embedding: int  # n_ctx x d_model
    attention: int  # all blocks: q/k/v projection and output projection, with biases
    mlp: int  # all blocks: the 4x-wide hidden layer and the projection back, with biases
    layer_norm: int  # all LayerNorms: 2 per block and the final one, a scale and a shift each

    @property
    def total(self) -> int:
        return self.token_embedding + self.position_embedding + self.attention + self.mlp + self.layer_norm

    def as_dict(self) -> dict[str, int]:
        """The parts by name, for tables and plots."""
        return {
            "token embedding": self.token_embedding,
            "position embedding": self.position_embedding,
            "attention": self.attention,
            "MLP": self.mlp,
            "LayerNorm": self.layer_norm,
        }


def count_parameters(c: ModelConfig) -> ParameterCount:
    """Every parameter of a GPT-2 of shape ``c``, by where it lives.

    >>> count_parameters(FAMILY["gpt2"]).total
    124439808
    """
    d, m = c.d_model, c.d_mlp  # m = 4 * d in every GPT-2
    attention_per_block = (d * 3 * d + 3 * d) + (d * d + d)  # qkv projection + output projection
    mlp_per_block = (d * m + m) + (m * d + d)  # up to d_mlp, then back down
    return ParameterCount(
        token_embedding=c.vocab_size * d,
        position_embedding=c.n_ctx * d,
        attention=c.n_layer * attention_per_block,
        mlp=c.n_layer * mlp_per_block,
        layer_norm=(2 * c.n_layer + 1) * 2 * d,
    )


@dataclass(frozen=True)
class ModelSize:
    name: str  # "gpt2", "tiny", ...
    config: ModelConfig  # its shape
    parameters: ParameterCount  # where its parameters live

    @property
    def fp32_bytes(self) -> int:
        """Memory for the weights in 32-bit floats (4 bytes each): how this kit computes."""
        return 4 * self.parameters.total

    @property
    def fp16_bytes(self) -> int:
        """Memory for the weights in 16-bit floats (2 bytes each): how checkpoints are often shipped."""
        return 2 * self.parameters.total


def family_sizes(extra: dict[str, ModelConfig] | None = None) -> list[ModelSize]:
    """One :class:`ModelSize` per GPT-2 checkpoint (plus ``extra`` models, e.g. the embedded one)."""
    configs = dict(FAMILY, **(extra or {}))
    return [ModelSize(name, c, count_parameters(c)) for name, c in configs.items()]


def sizes_table_html(sizes: list[ModelSize]) -> str:
    """A self-contained HTML table: shape, parameters and weight memory of each model."""
    head = ["model", "layers", "heads", "d_model", "d_head", "context", "vocabulary", "parameters", "fp32", "fp16"]
    rows = []
    for s in sizes:
        c = s.config
        cells = [s.name, c.n_layer, c.n_head, c.d_model, c.d_head, f"{c.n_ctx:,}", f"{c.vocab_size:,}",
                 f"{s.parameters.total / 1e6:,.1f}M", gib(s.fp32_bytes), gib(s.fp16_bytes)]
        rows.append("<tr>" + "".join(f'<td style="padding:2px 10px;text-align:right">{x}</td>' for x in cells) + "</tr>")
    header = "<tr>" + "".join(f'<th style="padding:2px 10px;text-align:right">{h}</th>' for h in head) + "</tr>"
    return f'<table style="border-collapse:collapse">{header}{"".join(rows)}</table>'


def gib(n_bytes: int) -> str:
    """Bytes in words: ``gib(3 * 2**30) == "3.00 GiB"``, ``gib(5 * 2**20) == "5 MiB"``, ``gib(3000) == "3 KiB"``."""
    if n_bytes >= 2**30:
        return f"{n_bytes / 2**30:.2f} GiB"
    return f"{n_bytes / 2**20:.0f} MiB" if n_bytes >= 2**20 else f"{max(1, round(n_bytes / 2**10))} KiB"


def hf_config(c: ModelConfig):
    """The ``transformers.GPT2Config`` of a shape (no download: a config is just these integers)."""
    from transformers import GPT2Config

    return GPT2Config(n_layer=c.n_layer, n_head=c.n_head, n_embd=c.d_model, n_positions=c.n_ctx, vocab_size=c.vocab_size)


def hf_parameter_count(c: ModelConfig) -> int:
    """Parameters of Hugging Face's ``GPT2LMHeadModel`` of this shape, counted by transformers itself.

    The model is built on PyTorch's "meta" device: tensors with shapes but no memory, so even GPT-2 XL
    is counted in a moment without allocating its 6 GiB.
    """
    import torch
    from transformers import GPT2LMHeadModel

    with torch.device("meta"):
        model = GPT2LMHeadModel(hf_config(c))
    return sum(p.numel() for p in model.parameters())  # the tied unembedding is one tensor, counted once


# --- memory ----------------------------------------------------------------------------------------------------

BYTES = 4  # float32: every number the kit computes with
# What autograd keeps for the backward pass, per token, measured with torch.autograd.graph.saved_tensors_hooks
# on gpt2lab's own training forward (dropout on); tests/test_model_memory.py measures it again:
SAVED_PER_BLOCK_PER_D = 136  # bytes per token per unit of d_model in each trained block (34 float32 numbers)
SAVED_PER_BLOCK_PER_KEY = 12  # bytes per token per head per key: the scores, the pattern and its dropout mask
LOGIT_BYTES_PER_TOKEN = 3 * BYTES  # per vocabulary entry: the logits, their log-softmax and its gradient
ACTIVATION_MARGIN = 1.25  # what the backward pass adds on top of the saved tensors (gradients in flight)
# of the memory a device reports free, the share a training plan may use: on a GPU all but the allocator's slack;
# on the CPU half, since the same memory holds the browser, the notebook server and whatever else the machine runs
FREE_SHARE = {"cuda": 0.9, "cpu": 0.5}


def resolve_config(model: ModelConfig | str) -> ModelConfig:
    """A shape, or the name of a GPT-2 checkpoint (``"gpt2-xl"``) looked up in :data:`FAMILY`."""
    if isinstance(model, ModelConfig):
        return model
    if model not in FAMILY:
        raise LabError(f"There is no GPT-2 size called {model!r}; use one of {', '.join(FAMILY)} or a ModelConfig.")
    return FAMILY[model]


def stage_numbers(c: ModelConfig, name: str, tokens: int) -> int:
    """How many numbers one stage of a trace of ``tokens`` tokens holds (no KV cache: T_all = T)."""
    T, d = tokens, c.d_model
    stage = name.split(".", 2)[-1] if name.startswith("blocks.") else name
    if stage in ("attn.scores", "attn.pattern"):
        return c.n_head * T * T  # (n_head, T, T)
    if stage in ("mlp.pre", "mlp.post"):
        return T * c.d_mlp  # (T, d_mlp)
    if stage == "logits":
        return T * c.vocab_size  # (T, vocab_size)
    return T * d  # every other stage: (T, d_model), or (n_head, T, d_head) with n_head * d_head = d_model


def trace_bytes(model: ModelConfig | str, tokens: int, keep: Iterable[str] | None = None) -> int:
    """Bytes a trace of ``tokens`` tokens holds: every stage, or those ``keep`` names (names or globs).

    GPT-2 small, 1,024 tokens, every stage: 2,140,475,392 bytes (1.99 GiB), what ``Trace.nbytes()`` measures.
    """
    c = resolve_config(model)
    kept = select_stages(None if keep is None else tuple(keep), c.n_layer)
    return BYTES * sum(stage_numbers(c, name, tokens) for name in kept)


def kv_cache_bytes(model: ModelConfig | str, tokens: int) -> int:
    """Bytes of a KV cache holding ``tokens`` positions: a key and a value per position, head and block."""
    c = resolve_config(model)
    return BYTES * 2 * c.n_layer * tokens * c.d_model


def working_bytes(model: ModelConfig | str, tokens: int) -> int:
    """Bytes the forward pass holds while it computes one block, kept or not: the scores, their masked copy
    and the pattern (n_head x T x T each), the MLP's hidden layer before and after GELU, and the logits."""
    c = resolve_config(model)
    T = tokens
    return BYTES * (3 * c.n_head * T * T + 2 * T * c.d_mlp + 4 * T * c.d_model + T * c.vocab_size)


@dataclass(frozen=True)
class MemoryNeed:
    """Bytes a piece of work needs, part by part (``str()`` lists them)."""

    parts: dict[str, int]  # what -> bytes, e.g. {"weights": ..., "trace of 64 tokens": ...}

    @property
    def total(self) -> int:
        return sum(self.parts.values())

    def __str__(self) -> str:
        return " + ".join(f"{name} {gib(n)}" for name, n in self.parts.items()) + f" = {gib(self.total)}"


def memory_needed(model: ModelConfig | str, *, tokens: int = 64, keep: Iterable[str] | None = None,
                  cache: bool = False, weights: bool = True) -> MemoryNeed:
    """The memory a lab (its float32 weights) and one trace of ``tokens`` tokens need, before allocating any.

    ``keep``: the stages the trace keeps (default every one); ``cache``: add a KV cache of ``tokens``
    positions; ``weights=False`` leaves the weights out (a lab already loaded).

    >>> str(memory_needed("gpt2-xl", tokens=64))
    'weights 5.80 GiB + trace of 64 tokens 407 MiB + working memory 18 MiB = 6.22 GiB'
    """
    c = resolve_config(model)
    parts = {}
    if weights:
        parts["weights"] = BYTES * count_parameters(c).total
    kept = trace_bytes(c, tokens, keep)
    if kept:  # a trace that keeps no stage holds nothing after the pass
        parts[f"trace of {tokens:,} tokens"] = kept
    if cache:
        parts[f"KV cache of {tokens:,} tokens"] = kv_cache_bytes(c, tokens)
    parts["working memory"] = working_bytes(c, tokens)
    return MemoryNeed(parts)


def block_parameters(c: ModelConfig) -> int:
    """Parameters of one transformer block: attention, MLP and the block's two LayerNorms."""
    parts = count_parameters(c)
    return (parts.attention + parts.mlp) // c.n_layer + 4 * c.d_model


def training_bytes(model: ModelConfig | str, *, batch_size: int, block_size: int, trained_blocks: int | None = None,
                   vocab_logits: bool = True) -> MemoryNeed:
    """The memory a training run needs on top of the loaded model, part by part.

    ``trained_blocks``: how many blocks from the top are trained (with the final LayerNorm); ``None`` or all
    of them trains every weight, embeddings included. Each trained weight needs its own copy (the lab keeps
    its own), a gradient and AdamW's two running averages: 16 bytes. Autograd keeps each trained block's
    activations for the backward pass (measured: about 34 numbers per token per unit of width, plus 3 per
    head per key). ``vocab_logits=False`` for a classifier, which reads a few class scores instead of
    50,257 logits.
    """
    c = resolve_config(model)
    k = c.n_layer if trained_blocks is None else min(max(int(trained_blocks), 0), c.n_layer)
    n_params = count_parameters(c).total if k == c.n_layer else k * block_parameters(c) + 2 * c.d_model
    tokens = batch_size * block_size
    per_block = SAVED_PER_BLOCK_PER_D * c.d_model + SAVED_PER_BLOCK_PER_KEY * c.n_head * block_size
    activations = tokens * k * per_block + (tokens * LOGIT_BYTES_PER_TOKEN * c.vocab_size if vocab_logits else 0)
    return MemoryNeed({
        "trained weights' own copy": BYTES * n_params,
        "gradients": BYTES * n_params,
        "AdamW's averages": 2 * BYTES * n_params,
        "activations": int(ACTIVATION_MARGIN * activations),
    })


def available_memory(device) -> int | None:
    """Bytes free for new tensors on ``device`` now (None when this machine does not say).

    On a GPU: what CUDA reports free plus what PyTorch holds unused, within the share this process may use
    (``torch.cuda.set_per_process_memory_fraction``, as a 15 GiB T4 is imitated on a bigger card). On the CPU:
    the operating system's available memory, within a container's limit when there is one.
    """
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        free, total = torch.cuda.mem_get_info(device)
        allocated, reserved = torch.cuda.memory_allocated(device), torch.cuda.memory_reserved(device)
        share = getattr(torch.cuda, "get_per_process_memory_fraction", None)  # torch 2.6 on; 1.0 before it
        fraction = share(device) if share is not None else 1.0
        return max(0, min(free + reserved - allocated, int(fraction * total) - allocated))
    if device.type != "cpu":
        return None
    candidates = [_meminfo_available(), _cgroup_available()]
    known = [n for n in candidates if n is not None]
    return min(known) if known else None


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _cgroup_available() -> int | None:
    """A cgroup v2 memory limit minus what the group uses (containers, Colab), or None without one."""
    try:
        limit = open("/sys/fs/cgroup/memory.max").read().strip()
        if limit == "max":
            return None
        return max(0, int(limit) - int(open("/sys/fs/cgroup/memory.current").read()))
    except (OSError, ValueError):
        return None
