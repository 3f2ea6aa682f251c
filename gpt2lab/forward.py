"""GPT-2's forward pass, stage by stage, recording what each stage computes.

    ids -> token embedding + position embedding                       (embed, pos_embed)
        -> n_layer x block:                                            (blocks.{i}.*)
              x = x + attention(ln1(x))      masked multi-head self-attention
              x = x + mlp(ln2(x))            GELU MLP, 4x wider
        -> final LayerNorm -> logits = ln_final @ token_embedding.T   (ln_final, logits)

Each function reads the Hugging Face model's own parameter tensors (see :mod:`gpt2lab.weights`), and
``record(name, tensor)`` keeps a stage under its name from :mod:`gpt2lab.names`. The arithmetic is
exactly Hugging Face's eager GPT-2, so every recorded number is what GPT-2 computes.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .attention import attention_pattern, attention_scores, output_projection, query_key_value, weighted_values
from .cache import KVCache
from .config import ModelConfig
from .embeddings import position_embedding, token_embedding
from .layernorm import layer_norm
from .mlp import ACTIVATION_FUNCTIONS, mlp_hidden, mlp_output
from .names import block_stage
from .weights import BlockWeights, GPT2Weights

# record(name, tensor) keeps the tensor under that stage name (or not) and returns it unchanged.
Recorder = Callable[[str, torch.Tensor], torch.Tensor]


def attention(x: torch.Tensor, w: BlockWeights, config: ModelConfig, layer: int, cache: KVCache | None, record: Recorder):
    """Masked multi-head self-attention of one block. x: (T, d_model) after ln1. Returns (T, d_model)."""
    name = lambda stage: block_stage(layer, stage)  # noqa: E731
    q, k, v = query_key_value(x, w.qkv_weight, w.qkv_bias, config.n_head)  # 3 x (n_head, T, d_head)
    record(name("attn.q"), q)
    record(name("attn.k"), k)
    record(name("attn.v"), v)
    if cache is not None:  # attend to the cached positions too
        k, v = cache.store(layer, k, v)  # 2 x (n_head, T_all, d_head)
    scores = record(name("attn.scores"), attention_scores(q, k))  # (n_head, T, T_all)
    pattern = record(name("attn.pattern"), attention_pattern(scores))  # (n_head, T, T_all)
    z = record(name("attn.z"), weighted_values(pattern, v))  # (n_head, T, d_head)
    return output_projection(z, w.out_weight, w.out_bias)  # (T, d_model)


def mlp(x: torch.Tensor, w: BlockWeights, config: ModelConfig, layer: int, record: Recorder) -> torch.Tensor:
    """The block's MLP. x: (T, d_model) after ln2. Returns (T, d_model)."""
    pre = record(block_stage(layer, "mlp.pre"), mlp_hidden(x, w.fc_weight, w.fc_bias))  # (T, d_mlp)
    post = record(block_stage(layer, "mlp.post"), ACTIVATION_FUNCTIONS[config.activation](pre))  # (T, d_mlp)
    return mlp_output(post, w.proj_weight, w.proj_bias)  # (T, d_model)


def transformer_block(
    resid: torch.Tensor, w: BlockWeights, config: ModelConfig, layer: int, cache: KVCache | None, record: Recorder
) -> torch.Tensor:
    """One pre-LN block: each sub-layer reads a normalised copy of the residual stream and adds to it.

    resid: (T, d_model). Returns (T, d_model).
    """
    name = lambda stage: block_stage(layer, stage)  # noqa: E731
    eps = config.layer_norm_eps
    record(name("resid_pre"), resid)
    ln1 = record(name("ln1"), layer_norm(resid, w.ln1_weight, w.ln1_bias, eps))  # (T, d_model)
    attn_out = record(name("attn_out"), attention(ln1, w, config, layer, cache, record))  # (T, d_model)
    resid = record(name("resid_mid"), resid + attn_out)  # (T, d_model)
    ln2 = record(name("ln2"), layer_norm(resid, w.ln2_weight, w.ln2_bias, eps))  # (T, d_model)
    mlp_out = record(name("mlp_out"), mlp(ln2, w, config, layer, record))  # (T, d_model)
    return record(name("resid_post"), resid + mlp_out)  # (T, d_model)


def unembed(x: torch.Tensor, wte: torch.Tensor) -> torch.Tensor:
    """Logits: the dot product of each final vector with every token's embedding (GPT-2 ties the two).

    x: (T, d_model); wte: (vocab_size, d_model). Returns (T, vocab_size).
    """
    return torch.matmul(x, wte.t())  # (T, vocab_size)


def forward(ids: torch.Tensor, weights: GPT2Weights, config: ModelConfig, record: Recorder, cache: KVCache | None = None) -> torch.Tensor:
    """Run GPT-2 on ``ids`` (T,), after the positions already in ``cache`` if one is given.

    Returns the logits (T, vocab_size). With a cache, the new keys and values are appended to it.
    """
    start = cache.length if cache is not None else 0
    embed = record("embed", token_embedding(ids, weights.token_embedding))  # (T, d_model)
    pos = record("pos_embed", position_embedding(start, len(ids), weights.position_embedding))  # (T, d_model)
    resid = embed + pos  # (T, d_model)  the residual stream begins as their sum
    for layer, block_weights in enumerate(weights.blocks):
        resid = transformer_block(resid, block_weights, config, layer, cache, record)  # (T, d_model)
    if cache is not None:
        cache.advance(ids.tolist())
    ln_final = record("ln_final", layer_norm(resid, weights.ln_final_weight, weights.ln_final_bias, config.layer_norm_eps))
    return record("logits", unembed(ln_final, weights.token_embedding))  # (T, vocab_size)
