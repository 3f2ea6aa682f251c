"""Named views of a Hugging Face GPT-2's parameter tensors.

gpt2lab never copies the weights: every field below *is* the tensor inside ``GPT2LMHeadModel`` (same
storage), so the kit's forward pass and Hugging Face's always read the same numbers, and a model costs
its memory once.

Hugging Face stores GPT-2's linear layers as ``Conv1D`` modules, a name inherited from OpenAI's
TensorFlow code: they compute ``x @ weight + bias`` with ``weight`` of shape (d_in, d_out), i.e. the
transpose of ``torch.nn.Linear``'s layout. The shape comments below follow that layout.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class BlockWeights:
    ln1_weight: torch.Tensor  # (d_model,)  LayerNorm before attention: scale
    ln1_bias: torch.Tensor  # (d_model,)  ... and shift
    qkv_weight: torch.Tensor  # (d_model, 3 * d_model)  queries, keys and values in one matrix
    qkv_bias: torch.Tensor  # (3 * d_model,)
    out_weight: torch.Tensor  # (d_model, d_model)  attention's output projection
    out_bias: torch.Tensor  # (d_model,)
    ln2_weight: torch.Tensor  # (d_model,)  LayerNorm before the MLP: scale
    ln2_bias: torch.Tensor  # (d_model,)  ... and shift
    fc_weight: torch.Tensor  # (d_model, d_mlp)  MLP: up to the hidden layer
    fc_bias: torch.Tensor  # (d_mlp,)
    proj_weight: torch.Tensor  # (d_mlp, d_model)  MLP: back down to the residual stream
    proj_bias: torch.Tensor  # (d_model,)


@dataclass(frozen=True)
class GPT2Weights:
    token_embedding: torch.Tensor  # (vocab_size, d_model)  one row per token
    position_embedding: torch.Tensor  # (n_ctx, d_model)  learned, one row per position
    blocks: list[BlockWeights]  # one per transformer block
    ln_final_weight: torch.Tensor  # (d_model,)  the final LayerNorm: scale
    ln_final_bias: torch.Tensor  # (d_model,)  ... and shift
    unembedding: torch.Tensor  # (vocab_size, d_model)  the logits head: GPT-2 ties it, so it IS token_embedding

    @classmethod
    def from_hf(cls, hf_model) -> "GPT2Weights":
        """Views of the parameters of a ``GPT2LMHeadModel`` (or a bare ``GPT2Model``)."""
        transformer = getattr(hf_model, "transformer", hf_model)
        blocks = [
            BlockWeights(
                ln1_weight=h.ln_1.weight,
                ln1_bias=h.ln_1.bias,
                qkv_weight=h.attn.c_attn.weight,
                qkv_bias=h.attn.c_attn.bias,
                out_weight=h.attn.c_proj.weight,
                out_bias=h.attn.c_proj.bias,
                ln2_weight=h.ln_2.weight,
                ln2_bias=h.ln_2.bias,
                fc_weight=h.mlp.c_fc.weight,
                fc_bias=h.mlp.c_fc.bias,
                proj_weight=h.mlp.c_proj.weight,
                proj_bias=h.mlp.c_proj.bias,
            )
            for h in transformer.h
        ]
        return cls(
            token_embedding=transformer.wte.weight,
            position_embedding=transformer.wpe.weight,
            blocks=blocks,
            ln_final_weight=transformer.ln_f.weight,
            ln_final_bias=transformer.ln_f.bias,
            # a checkpoint with tie_word_embeddings=False has a head of its own; GPT-2's is the embedding itself
            unembedding=hf_model.lm_head.weight if hasattr(hf_model, "lm_head") else transformer.wte.weight,
        )
