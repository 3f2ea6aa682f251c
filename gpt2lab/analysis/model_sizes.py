"""The GPT-2 family by the numbers: shapes and parameter counts, computed from configs alone.

Nothing is downloaded: each checkpoint's shape is a handful of integers, and every parameter count
follows from them. For GPT-2 small (12 layers, d_model 768, 50,257 tokens, 1,024 positions):

    token embedding   50,257 x 768         = 38,597,376
    position emb.      1,024 x 768         =    786,432
    12 blocks x 7,087,872                  = 85,054,464
    final LayerNorm    2 x 768             =      1,536
    total (the unembedding is the token embedding, tied) = 124,439,808
"""

from __future__ import annotations

from dataclasses import dataclass

from gpt2lab.model.config import ModelConfig

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
                 f"{s.parameters.total / 1e6:,.1f}M", _gib(s.fp32_bytes), _gib(s.fp16_bytes)]
        rows.append("<tr>" + "".join(f'<td style="padding:2px 10px;text-align:right">{x}</td>' for x in cells) + "</tr>")
    header = "<tr>" + "".join(f'<th style="padding:2px 10px;text-align:right">{h}</th>' for h in head) + "</tr>"
    return f'<table style="border-collapse:collapse">{header}{"".join(rows)}</table>'


def _gib(n_bytes: int) -> str:
    return f"{n_bytes / 2**30:.2f} GiB" if n_bytes >= 2**30 else f"{n_bytes / 2**20:.0f} MiB"


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
