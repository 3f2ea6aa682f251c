"""The logit lens: read the residual stream after every block as if it were the last one.

GPT-2 turns its final residual stream into next-token scores with the final LayerNorm and the
unembedding (the token embedding matrix, transposed): the forward pass's own tail,
:func:`gpt2lab.model.forward.readout`. Nothing stops us from applying that same function to the stream
*earlier*: after the embeddings, after block 0, after block 1, ... Each reading is the model's "best guess
so far", and watching it change shows where in the depth a prediction forms. (The idea and the
name come from nostalgebraist's 2020 post "interpreting GPT: the logit lens".)

    lens = logit_lens(lab, trace, position=-1, top_k=5)
    lens.top_tokens[-1]     # after the last block: exactly the model's own top 5 next tokens
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gpt2lab.errors import LabError
from gpt2lab.inputs import check_lab, check_trace, check_whole_number
from gpt2lab.model.forward import readout
from gpt2lab.model.names import between_blocks


@dataclass(frozen=True)
class LogitLens:
    """The top next-token guesses read off the residual stream at each depth, for one position."""

    position: int  # the position read (an index into the trace's tokens)
    token: str  # the token at that position: the lens guesses what comes after it
    labels: list[str]  # one per reading: "embeddings", "after block 0", ..., "after block n_layer-1"
    stages: list[str]  # the trace stage each reading comes from
    top_ids: torch.Tensor  # (n_readings, top_k)  token ids, most probable first
    top_tokens: list[list[str]]  # (n_readings, top_k)  their display strings
    top_probs: torch.Tensor  # (n_readings, top_k)  their probabilities under that reading
    final_id: int  # the model's own top next token (the last reading's first choice)
    final_token: str  # its display string
    final_probs: torch.Tensor  # (n_readings,)  the probability each reading gives the final token

    def first_layer_agreeing(self) -> int:
        """The index of the first reading whose top guess is already the model's final answer."""
        agrees = (self.top_ids[:, 0] == self.final_id).nonzero()
        return int(agrees[0])  # the last reading always agrees, so there is one


def logit_lens(lab, trace, position: int = -1, top_k: int = 5) -> LogitLens:
    """Read the top ``top_k`` next tokens off the stream at ``position`` before block 0 and after each block.

    ``trace`` must keep ``blocks.*.resid_pre``/``resid_post`` (a full trace does). ``position`` indexes
    ``trace.tokens``; -1 is the last token, whose next token is the one the model generates.
    """
    check_lab(lab)
    check_trace(trace)
    T = len(trace.tokens)
    position, top_k = check_whole_number(position, "position"), check_whole_number(top_k, "top_k")
    if not -T <= position < T:
        raise LabError(f"Position {position} is outside the {T} tokens of this trace; use 0 to {T - 1}, or -1 for the last.")
    if not 1 <= top_k <= lab.config.vocab_size:
        raise LabError(f"top_k must be between 1 and the vocabulary size ({lab.config.vocab_size:,}), not {top_k}.")
    position = position % T
    labels, stages = between_blocks(trace.n_layer)
    trace.require(stages, "to use the logit lens")
    resid = torch.stack([trace[s][position] for s in stages])  # (n_readings, d_model)
    with torch.no_grad():  # like lab.trace: plain tensors a learner can mix with the weights afterwards
        # the pass's own final LayerNorm and unembedding: on the last block's output, exactly trace.logits
        logits = readout(resid.to(lab.weights.token_embedding.device), lab.weights, lab.config).float()  # (n_readings, vocab), on the lab's device
    probs = torch.softmax(logits, dim=-1)  # (n_readings, vocab_size)
    top_probs, top_ids = probs.topk(top_k, dim=-1)  # 2 x (n_readings, top_k)
    final_id = int(top_ids[-1, 0])
    return LogitLens(
        position=position,
        token=trace.tokens[position],
        labels=labels,
        stages=stages,
        top_ids=top_ids,
        top_tokens=[lab.token_strings(row.tolist()) for row in top_ids],
        top_probs=top_probs,
        final_id=final_id,
        final_token=lab.token_strings([final_id])[0],
        final_probs=probs[:, final_id],
    )
