"""GPT-2's forward pass, stage by stage, recording what each stage computes.

    ids -> token embedding + position embedding                       (embed, pos_embed)
        -> n_layer x block:                                            (blocks.{i}.*)
              x = x + attention(ln1(x))      masked multi-head self-attention
              x = x + mlp(ln2(x))            GELU MLP, 4x wider
        -> final LayerNorm -> logits = ln_final @ token_embedding.T   (ln_final, logits)

Each function reads the Hugging Face model's own parameter tensors (see :mod:`gpt2lab.model.weights`), and
``record(name, tensor)`` keeps a stage under its name from :mod:`gpt2lab.model.names`. The arithmetic is
exactly Hugging Face's eager GPT-2, so every recorded number is what GPT-2 computes.

This is the only forward pass the kit runs: a trace reads one sequence (ids of shape (T,)), and
training reads a batch (ids of shape (B, T)) through the very same functions, with ``train=True``
switching dropout on and gradients flowing back through every stage. Every shape comment below
therefore reads "(T, ...)" for one sequence and "(B, T, ...)" for a batch.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from gpt2lab.model.attention import attention_pattern, attention_scores, output_projection, query_key_value, weighted_values
from gpt2lab.model.cache import KVCache
from gpt2lab.model.config import ModelConfig
from gpt2lab.model.embeddings import position_embedding, token_embedding
from gpt2lab.model.layernorm import layer_norm
from gpt2lab.model.mlp import ACTIVATION_FUNCTIONS, mlp_hidden, mlp_output
from gpt2lab.model.names import block_stage
from gpt2lab.model.weights import BlockWeights, GPT2Weights

# record(name, tensor) keeps the tensor under that stage name (or not) and returns it unchanged.
Recorder = Callable[[str, torch.Tensor], torch.Tensor]


def keep_nothing(name: str, tensor: torch.Tensor) -> torch.Tensor:
    """The recorder that keeps no stage: what training uses (it wants the loss, not the intermediates)."""
    return tensor


# Edits: stage name -> function(tensor) -> tensor. Every stage the pass computes goes through ``record`` and
# the pass carries on with what ``record`` returns, so an edit changes the stage itself, and all that follows.
StageEdits = dict[str, Callable[[torch.Tensor], torch.Tensor]]


def editing(record: Recorder, edits: StageEdits) -> Recorder:
    """A recorder that first applies ``edits[name]`` to a stage, then records (and passes on) the edited tensor.

    This is how an experiment intervenes in the forward pass without a second copy of it: ablation replaces
    some heads' ``attn.z``, activation patching replaces a residual stream vector.
    """
    def record_edited(name: str, tensor: torch.Tensor) -> torch.Tensor:
        edit = edits.get(name)
        return record(name, tensor if edit is None else edit(tensor))
    return record_edited


ABLATIONS = ("zero", "mean")  # what a switched-off head outputs: nothing, or its average over the sequence


def ablate_heads(z: torch.Tensor, heads: list[int], how: str = "zero") -> torch.Tensor:
    """Switch heads off: a copy of z with those heads' outputs zeroed, or replaced by their mean over positions.

    z: (..., n_head, T, d_head). Returns the same shape. A zeroed head adds nothing to attn_out but the
    output projection's bias; a mean-ablated head adds the same vector at every position (it still "fires",
    but carries no information about which token is where).
    """
    z = z.clone()  # never change the tensor handed in
    if how == "zero":
        z[..., heads, :, :] = 0
    else:  # "mean"
        z[..., heads, :, :] = z[..., heads, :, :].mean(dim=-2, keepdim=True)  # (..., len(heads), 1, d_head) broadcast
    return z


def dropout(x: torch.Tensor, p: float, train: bool) -> torch.Tensor:
    """Zero a random share ``p`` of ``x`` and scale the rest by 1 / (1 - p), when training; else ``x``."""
    return F.dropout(x, p=p, training=True) if train and p > 0 else x


def attention(x: torch.Tensor, w: BlockWeights, config: ModelConfig, layer: int, cache: KVCache | None, record: Recorder,
              train: bool = False):
    """Masked multi-head self-attention of one block. x: (T, d_model) after ln1. Returns (T, d_model)."""
    name = lambda stage: block_stage(layer, stage)  # noqa: E731
    q, k, v = query_key_value(x, w.qkv_weight, w.qkv_bias, config.n_head)  # 3 x (n_head, T, d_head)
    q, k, v = record(name("attn.q"), q), record(name("attn.k"), k), record(name("attn.v"), v)
    if cache is not None:  # attend to the cached positions too
        k, v = cache.store(layer, k, v)  # 2 x (n_head, T_all, d_head)
    if config.reorder_and_upcast_attn:  # scores in float32 even for half-precision weights (a no-op in float32)
        q, k = q.float(), k.float()
    scores = record(name("attn.scores"), attention_scores(q, k, config.attention_scale(layer)))  # (n_head, T, T_all)
    pattern = record(name("attn.pattern"), attention_pattern(scores).to(v.dtype))  # (n_head, T, T_all)
    z = record(name("attn.z"), weighted_values(dropout(pattern, config.attn_pdrop, train), v))  # (n_head, T, d_head)
    return dropout(output_projection(z, w.out_weight, w.out_bias), config.resid_pdrop, train)  # (T, d_model)


def mlp(x: torch.Tensor, w: BlockWeights, config: ModelConfig, layer: int, record: Recorder, train: bool = False) -> torch.Tensor:
    """The block's MLP. x: (T, d_model) after ln2. Returns (T, d_model)."""
    pre = record(block_stage(layer, "mlp.pre"), mlp_hidden(x, w.fc_weight, w.fc_bias))  # (T, d_mlp)
    post = record(block_stage(layer, "mlp.post"), ACTIVATION_FUNCTIONS[config.activation](pre))  # (T, d_mlp)
    return dropout(mlp_output(post, w.proj_weight, w.proj_bias), config.resid_pdrop, train)  # (T, d_model)


def transformer_block(
    resid: torch.Tensor, w: BlockWeights, config: ModelConfig, layer: int, cache: KVCache | None, record: Recorder,
    train: bool = False,
) -> torch.Tensor:
    """One pre-LN block: each sub-layer reads a normalised copy of the residual stream and adds to it.

    resid: (T, d_model). Returns (T, d_model).
    """
    name = lambda stage: block_stage(layer, stage)  # noqa: E731
    eps = config.layer_norm_eps
    resid = record(name("resid_pre"), resid)  # (T, d_model)
    ln1 = record(name("ln1"), layer_norm(resid, w.ln1_weight, w.ln1_bias, eps))  # (T, d_model)
    attn_out = record(name("attn_out"), attention(ln1, w, config, layer, cache, record, train))  # (T, d_model)
    resid = record(name("resid_mid"), resid + attn_out)  # (T, d_model)
    ln2 = record(name("ln2"), layer_norm(resid, w.ln2_weight, w.ln2_bias, eps))  # (T, d_model)
    mlp_out = record(name("mlp_out"), mlp(ln2, w, config, layer, record, train))  # (T, d_model)
    return record(name("resid_post"), resid + mlp_out)  # (T, d_model)


def unembed(x: torch.Tensor, wte: torch.Tensor) -> torch.Tensor:
    """Logits: the dot product of each final vector with every token's embedding (GPT-2 ties the two).

    x: (T, d_model); wte: (vocab_size, d_model), the token embedding itself in GPT-2 (``weights.unembedding``
    is that same tensor, or a head of its own in a checkpoint that unties them). Returns (T, vocab_size).
    """
    return torch.matmul(x, wte.t())  # (T, vocab_size)


def final_hidden_state(ids: torch.Tensor, weights: GPT2Weights, config: ModelConfig, record: Recorder = keep_nothing,
                       cache: KVCache | None = None, *, train: bool = False) -> torch.Tensor:
    """Every stage up to the final LayerNorm: ids (T,) or (B, T) -> ln_final, (T, d_model) or (B, T, d_model).

    A classifier reads this, not the logits. With a cache (one sequence only), the input continues the
    positions the cache holds and its new keys and values are appended to it.
    """
    if cache is not None and ids.dim() != 1:
        raise ValueError("a KV cache holds one sequence: give ids of shape (T,)")
    start = cache.length if cache is not None else 0
    embed = record("embed", token_embedding(ids, weights.token_embedding))  # (T, d_model)
    pos = record("pos_embed", position_embedding(start, ids.shape[-1], weights.position_embedding))  # (T, d_model)
    resid = dropout(embed + pos, config.embd_pdrop, train)  # (T, d_model)  the residual stream begins as their sum
    for layer, block_weights in enumerate(weights.blocks):
        resid = transformer_block(resid, block_weights, config, layer, cache, record, train)  # (T, d_model)
    if cache is not None:
        cache.advance(ids.tolist())
    return record("ln_final", layer_norm(resid, weights.ln_final_weight, weights.ln_final_bias, config.layer_norm_eps))


def forward(ids: torch.Tensor, weights: GPT2Weights, config: ModelConfig, record: Recorder = keep_nothing,
            cache: KVCache | None = None, *, train: bool = False) -> torch.Tensor:
    """Run GPT-2 on ``ids`` (T,) or a batch (B, T), after the positions already in ``cache`` if one is given.

    Returns the logits (T, vocab_size) or (B, T, vocab_size). ``train=True`` switches dropout on; the
    result is differentiable either way (a trace runs it under ``torch.no_grad``).
    """
    ln_final = final_hidden_state(ids, weights, config, record, cache, train=train)  # (T, d_model)
    return record("logits", unembed(ln_final, weights.unembedding))  # (T, vocab_size)
