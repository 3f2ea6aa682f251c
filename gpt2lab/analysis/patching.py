"""Activation patching: where in the network does the model keep what decides its answer?

Run the model on two prompts of the same token length that want different answers: a *clean* one
("When Mary and John went to the store, John gave a drink to" -> " Mary") and a *corrupted* one that
differs in a few tokens ("... Mary gave a drink to" -> " John"). Measure the logit difference
``logit(answer) - logit(wrong)`` at the last position of each. Then run the corrupted prompt again, but
replace the residual stream at ONE (layer, position) with its value from the clean run, and see how much
of the clean logit difference comes back:

    recovered = (patched - corrupted) / (clean - corrupted)     1 = all of it, 0 = none

Rows of the grid (n_layer + 1 of them) are where the stream is patched:
    row 0      the embeddings' output, the stream entering block 0  (``blocks.0.resid_pre``)
    row i      the stream leaving block i - 1                        (``blocks.{i-1}.resid_post``)
Columns are positions. At the last row and the last position the patched stream IS the clean one that
the logits read, so that cell is 1; a position whose token and history are the same in both prompts
gives 0 in row 0 (nothing differs there yet).

The patched runs are the lab's own forward pass with one stage edit (see
:func:`gpt2lab.model.forward.editing`), the same mechanism as head ablation: one batch per row, a copy of
the corrupted prompt per position, where the edit swaps that position's vector of the row's stage for the
clean one. Positions before the first token where the prompts differ are not run: the model is causal, so
both runs hold the same stream there and patching cannot change anything (those cells are exactly 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gpt2lab.errors import LabError
from gpt2lab.inputs import check_token_id, shown, whole_number
from gpt2lab.model.forward import StageEdits
from gpt2lab.model.names import between_blocks


@dataclass(frozen=True)
class PatchingResult:
    """How much of the clean logit difference comes back when one residual vector is patched in."""

    recovered: torch.Tensor  # (n_layer + 1, T)  1 = the clean difference, 0 = the corrupted one
    rows: list[str]  # what each row patches: "embeddings", "after block 0", ...
    stages: list[str]  # the stage patched in each row: "blocks.0.resid_pre", "blocks.0.resid_post", ...
    clean_tokens: list[str]  # (T,)
    corrupted_tokens: list[str]  # (T,)
    answer: str  # the clean prompt's answer token
    wrong: str  # the corrupted prompt's answer token
    clean_diff: float  # logit(answer) - logit(wrong) on the clean prompt
    corrupted_diff: float  # ... on the corrupted prompt
    patched_diff: torch.Tensor  # (n_layer + 1, T)  ... on each patched run

    def __repr__(self) -> str:
        return (f"PatchingResult({len(self.rows)} x {len(self.clean_tokens)} grid; logit difference "
                f"clean {self.clean_diff:+.3f}, corrupted {self.corrupted_diff:+.3f})")


def one_token_id(lab, token: str | int, what: str = "The answer") -> int:
    """A token given as its id, or as a string that is exactly one token (like " Mary"), as an id."""
    if isinstance(token, str):
        ids = lab.encode(token)
        if len(ids) != 1:
            raise LabError(f"{what} {token!r} is {len(ids)} tokens for this model; give a string of exactly one "
                           f"token (often with its leading space, like ' Mary') or a token id.")
        return ids[0]
    if whole_number(token) is None:
        raise LabError(f"{what} must be a one-token string like ' Mary' or a token id, not {shown(token)}.")
    return check_token_id(token, lab.config.vocab_size, what)


def swap_in(clean: torch.Tensor, first: int):
    """The edit of one row's stage: copy b of the batch gets the clean vector at position ``first + b``.

    clean: (T, d_model), the clean run's stage. The edit maps the corrupted batch's stage (B, T, d_model) to
    a patched copy of it (B = T - first), leaving the tensor it is given unchanged.
    """
    def patch(stream: torch.Tensor) -> torch.Tensor:
        stream = stream.clone()  # (B, T, d_model)
        copies = torch.arange(len(stream), device=stream.device)  # (B,)
        stream[copies, copies + first] = clean[first:]
        return stream
    return patch


# Only the last position's logits are compared, so the final LayerNorm and the unembedding read that one alone.
LAST_POSITION_ONLY: StageEdits = {"ln_final": lambda ln_final: ln_final[..., -1:, :]}


@torch.no_grad()
def patch_residual(lab, clean: str, corrupted: str, answer: str | int, wrong: str | int) -> PatchingResult:
    """Patch the clean run's residual stream into the corrupted run at every (layer, position).

    ``answer`` and ``wrong`` are the tokens whose logit difference is measured (one-token strings, or ids).
    Returns a :class:`PatchingResult` whose ``recovered`` grid is (n_layer + 1, T).
    """
    clean_ids, corrupted_ids = lab.to_ids(clean), lab.to_ids(corrupted)
    if len(clean_ids) != len(corrupted_ids):
        raise LabError(f"The clean prompt is {len(clean_ids)} tokens and the corrupted one {len(corrupted_ids)}; "
                       f"patching compares position by position, so give two prompts of the same token length.")
    answer_id, wrong_id = one_token_id(lab, answer, "The answer"), one_token_id(lab, wrong, "The wrong answer")
    if answer_id == wrong_id:
        raise LabError("The answer and the wrong answer are the same token; give two different tokens.")
    rows, stages = between_blocks(lab.config.n_layer)
    clean_trace = lab.trace(clean_ids, keep=stages + ["logits"])
    corrupted_trace = lab.trace(corrupted_ids, keep=["logits"])
    corrupted_logits = corrupted_trace.logits[-1]  # (vocab,)
    diff = lambda logits: logits[..., answer_id] - logits[..., wrong_id]  # noqa: E731
    clean_diff, corrupted_diff = float(diff(clean_trace.logits[-1])), float(diff(corrupted_logits))
    if abs(clean_diff - corrupted_diff) < 1e-6:
        raise LabError("The two prompts give the same logit difference, so there is nothing to recover; choose "
                       "prompts (or answers) that the model treats differently.")

    T = len(corrupted_ids)
    # GPT-2 is causal: before the first token where the prompts differ, both runs hold the very same stream,
    # so patching there changes nothing (those cells are the corrupted difference, with no run needed).
    # (The prompts do differ somewhere: equal prompts give equal logit differences, refused above.)
    first = int((clean_ids != corrupted_ids).nonzero()[0])
    patched_diff = torch.full((len(stages), T), corrupted_diff)  # (n_layer + 1, T)
    copies = corrupted_ids[None].repeat(T - first, 1)  # (T - first, T): one copy per position patched
    for row, stage in enumerate(stages):
        edits = {stage: swap_in(clean_trace[stage], first), **LAST_POSITION_ONLY}
        logits = lab.read(copies, None, ["logits"], edits).logits[:, -1]  # (T - first, vocab) at the last position
        patched_diff[row, first:] = diff(logits.float()).cpu()  # (T - first,)
    return PatchingResult(
        recovered=(patched_diff - corrupted_diff) / (clean_diff - corrupted_diff),
        rows=rows, stages=stages,
        clean_tokens=lab.token_strings(clean_ids), corrupted_tokens=lab.token_strings(corrupted_ids),
        answer=lab.token_strings([answer_id])[0], wrong=lab.token_strings([wrong_id])[0],
        clean_diff=clean_diff, corrupted_diff=corrupted_diff, patched_diff=patched_diff,
    )
