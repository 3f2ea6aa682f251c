"""GPT-2's forward pass, stage by stage, recording what each stage computes.

    ids -> token embedding + position embedding                       (embed, pos_embed)
        -> n_layer x block:                                            (blocks.{i}.*)
              x = x + attention(ln1(x))      masked multi-head self-attention
              x = x + mlp(ln2(x))            GELU MLP, 4x wider
        -> readout: final LayerNorm, then logits = ln_final @ unembedding.T   (ln_final, logits)

Each function reads the Hugging Face model's own parameter tensors (see :mod:`gpt2lab.model.weights`), and
``record(name, tensor)`` keeps a stage under its name from :mod:`gpt2lab.model.names`. The arithmetic is
exactly Hugging Face's eager GPT-2, so every recorded number is what GPT-2 computes.

Every pass the kit runs on a model goes through these functions: a trace reads one sequence (ids of shape
(T,)); training reads a batch (ids of shape (B, T)), with ``train=True`` switching dropout on and gradients
flowing back through every stage; experiments change a stage by name with :func:`editing` (ablation,
activation patching) or read a stream with :func:`readout` (the logit lens). Nothing else re-types a piece
of it; the one plain-torch copy is the capstone exercise's answer key (``gpt2lab.exercises.capstone``), which
makes the classic mistakes on purpose. Every shape comment below reads "(T, ...)" for one sequence and
"(B, T, ...)" for a batch.
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

# record(name, tensor) keeps the tensor under that stage name (or not) and returns the tensor the pass carries on
# with: the same one, unless the recorder applies an edit (see editing).
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


def in_block(record: Recorder, layer: int) -> Recorder:
    """One block's recorder: a stage recorded as ``"attn.q"`` is kept as ``"blocks.{layer}.attn.q"``."""
    return lambda stage, tensor: record(block_stage(layer, stage), tensor)


def attention(x: torch.Tensor, w: BlockWeights, config: ModelConfig, layer: int, cache: KVCache | None, record: Recorder,
              train: bool = False) -> torch.Tensor:
    """Masked multi-head self-attention of one block. x: (T, d_model) after ln1. Returns (T, d_model).

    ``record`` is the block's own (see :func:`in_block`): it takes the short names, ``"attn.q"``.
    """
    q, k, v = query_key_value(x, w.qkv_weight, w.qkv_bias, config.n_head)  # 3 x (n_head, T, d_head)
    q, k, v = record("attn.q", q), record("attn.k", k), record("attn.v", v)
    if cache is not None:  # attend to the cached positions too
        k, v = cache.store(layer, k, v)  # 2 x (n_head, T_all, d_head)
    if config.reorder_and_upcast_attn:  # scores in float32 even for half-precision weights (a no-op in float32)
        q, k = q.float(), k.float()
    scores = record("attn.scores", attention_scores(q, k, config.attention_scale(layer)))  # (n_head, T, T_all)
    pattern = record("attn.pattern", attention_pattern(scores).to(v.dtype))  # (n_head, T, T_all)
    z = record("attn.z", weighted_values(dropout(pattern, config.attn_pdrop, train), v))  # (n_head, T, d_head)
    return dropout(output_projection(z, w.out_weight, w.out_bias), config.resid_pdrop, train)  # (T, d_model)


def mlp(x: torch.Tensor, w: BlockWeights, config: ModelConfig, record: Recorder, train: bool = False) -> torch.Tensor:
    """The block's MLP. x: (T, d_model) after ln2. Returns (T, d_model). ``record`` is the block's own."""
    pre = record("mlp.pre", mlp_hidden(x, w.fc_weight, w.fc_bias))  # (T, d_mlp)
    post = record("mlp.post", ACTIVATION_FUNCTIONS[config.activation](pre))  # (T, d_mlp)
    return dropout(mlp_output(post, w.proj_weight, w.proj_bias), config.resid_pdrop, train)  # (T, d_model)


def attention_sublayer(resid: torch.Tensor, w: BlockWeights, config: ModelConfig, layer: int, cache: KVCache | None,
                       record: Recorder, train: bool = False) -> torch.Tensor:
    """What attention adds to the stream: ln1, then attention. resid: (T, d_model). Returns attn_out (T, d_model)."""
    ln1 = record("ln1", layer_norm(resid, w.ln1_weight, w.ln1_bias, config.layer_norm_eps))  # (T, d_model)
    return record("attn_out", attention(ln1, w, config, layer, cache, record, train))  # (T, d_model)


def mlp_sublayer(resid: torch.Tensor, w: BlockWeights, config: ModelConfig, record: Recorder,
                 train: bool = False) -> torch.Tensor:
    """What the MLP adds to the stream: ln2, then the MLP. resid: (T, d_model). Returns mlp_out (T, d_model)."""
    ln2 = record("ln2", layer_norm(resid, w.ln2_weight, w.ln2_bias, config.layer_norm_eps))  # (T, d_model)
    return record("mlp_out", mlp(ln2, w, config, record, train))  # (T, d_model)


def transformer_block(
    resid: torch.Tensor, w: BlockWeights, config: ModelConfig, layer: int, cache: KVCache | None, record: Recorder,
    train: bool = False,
) -> torch.Tensor:
    """One pre-LN block: each sub-layer reads a normalised copy of the residual stream and adds to it.

    resid: (T, d_model). Returns (T, d_model). nanoGPT's two lines, ``x = x + attn(ln_1(x))`` and
    ``x = x + mlp(ln_2(x))``, with the stream recorded before, between and after them.
    """
    record = in_block(record, layer)  # this block's stages: "ln1" is kept as "blocks.{layer}.ln1"
    resid = record("resid_pre", resid)  # (T, d_model)
    resid = record("resid_mid", resid + attention_sublayer(resid, w, config, layer, cache, record, train))  # (T, d_model)
    return record("resid_post", resid + mlp_sublayer(resid, w, config, record, train))  # (T, d_model)


def unembed(x: torch.Tensor, wte: torch.Tensor) -> torch.Tensor:
    """Logits: the dot product of each final vector with every token's embedding (GPT-2 ties the two).

    x: (T, d_model); wte: (vocab_size, d_model), the token embedding itself in GPT-2 (``weights.unembedding``
    is that same tensor, or a head of its own in a checkpoint that unties them). Returns (T, vocab_size).
    """
    return torch.matmul(x, wte.t())  # (T, vocab_size)


def final_layer_norm(resid: torch.Tensor, weights: GPT2Weights, config: ModelConfig,
                     record: Recorder = keep_nothing) -> torch.Tensor:
    """The LayerNorm after the last block: (..., d_model) -> ln_final, the same shape."""
    return record("ln_final", layer_norm(resid, weights.ln_final_weight, weights.ln_final_bias, config.layer_norm_eps))


def readout(resid: torch.Tensor, weights: GPT2Weights, config: ModelConfig, record: Recorder = keep_nothing) -> torch.Tensor:
    """The tail of the pass: the final LayerNorm, then the unembedding. resid (..., d_model) -> logits (..., vocab_size).

    :func:`forward` ends with it on the last block's output; the logit lens applies it to earlier streams.
    """
    return record("logits", unembed(final_layer_norm(resid, weights, config, record), weights.unembedding))


def final_residual(ids: torch.Tensor, weights: GPT2Weights, config: ModelConfig, record: Recorder = keep_nothing,
                   cache: KVCache | None = None, *, train: bool = False) -> torch.Tensor:
    """The embeddings, then every block: the residual stream leaving the last block.

    ids (T,) or (B, T) -> (T, d_model) or (B, T, d_model). With a cache (one sequence only), the input continues the positions the cache holds and its new keys and
    values are appended to it.
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
    return resid


def final_hidden_state(ids: torch.Tensor, weights: GPT2Weights, config: ModelConfig, record: Recorder = keep_nothing,
                       cache: KVCache | None = None, *, train: bool = False) -> torch.Tensor:
    """Every stage up to the final LayerNorm: ids (T,) or (B, T) -> ln_final, (T, d_model) or (B, T, d_model).

    A classifier reads this, not the logits.
    """
    return final_layer_norm(final_residual(ids, weights, config, record, cache, train=train), weights, config, record)


def forward(ids: torch.Tensor, weights: GPT2Weights, config: ModelConfig, record: Recorder = keep_nothing,
            cache: KVCache | None = None, *, train: bool = False) -> torch.Tensor:
    """Run GPT-2 on ``ids`` (T,) or a batch (B, T), after the positions already in ``cache`` if one is given.

    Returns the logits (T, vocab_size) or (B, T, vocab_size). ``train=True`` switches dropout on; the
    result is differentiable either way (a trace runs it under ``torch.no_grad``).
    """
    return readout(final_residual(ids, weights, config, record, cache, train=train), weights, config, record)
