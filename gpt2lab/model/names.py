"""The names of every recorded stage, from one place.

These names are a public contract: notebooks, the README and outside checks index a trace with them, so
they are defined once here and one test pins their order. Extend them; never rename them.

>>> stage_names(n_layer=1)[:4]
['embed', 'pos_embed', 'blocks.0.resid_pre', 'blocks.0.ln1']
"""

from __future__ import annotations

import fnmatch
from functools import lru_cache

# Recorded before the first block.
EMBEDDING_STAGES = ["embed", "pos_embed"]

# Recorded inside every block i, in the order the block computes them, as "blocks.{i}.<stage>".
BLOCK_STAGES = [
    "resid_pre",  # (T, d_model)  the residual stream entering the block
    "ln1",  # (T, d_model)  LayerNorm before attention (GPT-2 is pre-LN)
    "attn.q",  # (n_head, T, d_head)  queries
    "attn.k",  # (n_head, T, d_head)  keys of the positions computed in this call
    "attn.v",  # (n_head, T, d_head)  values of the positions computed in this call
    "attn.scores",  # (n_head, T, T_all)  q.k / sqrt(d_head), before the causal mask
    "attn.pattern",  # (n_head, T, T_all)  softmax of the masked scores: each row sums to 1
    "attn.z",  # (n_head, T, d_head)  each head's weighted sum of values
    "attn_out",  # (T, d_model)  heads concatenated, then the output projection
    "resid_mid",  # (T, d_model)  resid_pre + attn_out
    "ln2",  # (T, d_model)  LayerNorm before the MLP
    "mlp.pre",  # (T, d_mlp)  the MLP's hidden layer before GELU
    "mlp.post",  # (T, d_mlp)  after GELU
    "mlp_out",  # (T, d_model)  projected back to the residual width
    "resid_post",  # (T, d_model)  resid_mid + mlp_out: the residual stream leaving the block
]

# Recorded after the last block.
FINAL_STAGES = ["ln_final", "logits"]


def block_stage(layer: int, stage: str) -> str:
    """The full name of one block's stage: ``block_stage(3, "attn.pattern") == "blocks.3.attn.pattern"``."""
    return f"blocks.{layer}.{stage}"


def between_blocks(n_layer: int) -> tuple[list[str], list[str]]:
    """The residual stream before block 0 and after each block: labels, and the stages that hold it.

    >>> between_blocks(n_layer=2)
    (['embeddings', 'after block 0', 'after block 1'], ['blocks.0.resid_pre', 'blocks.0.resid_post', 'blocks.1.resid_post'])
    """
    labels = ["embeddings"] + [f"after block {i}" for i in range(n_layer)]
    return labels, [block_stage(0, "resid_pre")] + [block_stage(i, "resid_post") for i in range(n_layer)]


def stage_names(n_layer: int) -> list[str]:
    """Every stage a full trace records, in the order the forward pass computes them."""
    names = list(EMBEDDING_STAGES)
    for layer in range(n_layer):
        names += [block_stage(layer, stage) for stage in BLOCK_STAGES]
    return names + list(FINAL_STAGES)


@lru_cache(maxsize=64)  # a generation loop asks for the same selection at every step
def select_stages(patterns: tuple[str, ...] | None, n_layer: int) -> frozenset[str]:
    """The stage names matched by ``patterns`` (exact names or globs like ``"blocks.*.attn.pattern"``).

    ``None`` keeps every stage; an empty list keeps none.

    >>> sorted(select_stages(("blocks.*.attn.pattern",), n_layer=2))
    ['blocks.0.attn.pattern', 'blocks.1.attn.pattern']
    """
    from gpt2lab.errors import LabError

    names = stage_names(n_layer)
    if patterns is None:
        return frozenset(names)
    kept = set()
    for pattern in patterns:
        matched = fnmatch.filter(names, pattern)
        if not matched:
            raise LabError(f"No stage is called {pattern!r}; see gpt2lab.stage_names({n_layer}) for the names.")
        kept.update(matched)
    return frozenset(kept)
