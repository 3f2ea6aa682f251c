"""Checkers for the exercises of ``notebooks/04_transformer_block.ipynb``.

Each checker takes the learner's answer (``None`` while unanswered) and what it is about, and returns a
:class:`~gpt2lab.exercises.checks.CheckResult`; a wrong answer is never an error.
"""

from __future__ import annotations

import torch

from gpt2lab.model.layernorm import layer_norm
from gpt2lab.model.names import block_stage
from gpt2lab.exercises.checks import CheckResult, as_vector, as_whole, checker, not_answered


def _close(answer: torch.Tensor, expected: torch.Tensor) -> bool:
    scale = max(1.0, expected.abs().max().item())
    return answer.shape == expected.shape and torch.allclose(answer, expected, atol=1e-5 * scale, rtol=0)


@checker
def check_block_output(trace, layer: int, answer: torch.Tensor | None) -> CheckResult:
    """Exercise 1: block ``layer``'s output (resid_post, all positions) from its input and its two sub-layers' outputs."""
    if answer is None:
        return not_answered("Set answer to a tensor of shape (T, d_model) built from three of the block's stages.")
    expected = trace["resid_post", layer]
    answer = as_vector(answer, expected)
    if answer is None:
        return CheckResult(False, "Give a tensor of shape (T, d_model).")
    if answer.shape != expected.shape:
        return CheckResult(False, f"Your tensor has shape {tuple(answer.shape)}; the stream is {tuple(expected.shape)} (T, d_model).")
    if _close(answer, expected):
        return CheckResult(True, "resid_pre + attn_out + mlp_out: the block only ADDS to the stream, it never overwrites it.")
    if _close(answer, trace["resid_mid", layer]):
        return CheckResult(False, "That is the stream after attention only (resid_mid); the MLP adds its output too.")
    if _close(answer, trace["attn_out", layer] + trace["mlp_out", layer]):
        return CheckResult(False, "That is what the block adds; add it to what came in (resid_pre).")
    return CheckResult(False, "Start from the block's input and add what attention and the MLP each output.")


@checker
def check_layer_norm_by_hand(lab, trace, layer: int, position: int, answer: torch.Tensor | None) -> CheckResult:
    """Exercise 2: ln2 of block ``layer`` at ``position``, computed by hand from resid_mid and the block's weights."""
    if answer is None:
        return not_answered("Set answer to a tensor of shape (d_model,): normalise the vector, then scale and shift it.")
    w, eps = lab.weights.blocks[layer], lab.config.layer_norm_eps
    x = trace["resid_mid", layer][position]  # (d_model,)
    expected = trace["ln2", layer][position]
    answer = as_vector(answer, expected)
    if answer is None:
        return CheckResult(False, "Give a tensor of shape (d_model,).")
    if answer.shape != expected.shape:
        return CheckResult(False, f"Your tensor has shape {tuple(answer.shape)}; it should be one vector of {expected.shape[0]} numbers.")
    if _close(answer, expected):
        return CheckResult(True, "Exactly the trace's ln2: centre, divide by the standard deviation, then weight and bias.")
    ones, zeros = torch.ones_like(x), torch.zeros_like(x)
    with torch.no_grad():
        if _close(answer, layer_norm(x[None], ones, zeros, eps)[0]):
            return CheckResult(False, "Normalised correctly; now multiply by ln2_weight and add ln2_bias (the learned part).")
        unbiased = [(x - x.mean()) / torch.sqrt(x.var(unbiased=True) + eps), (x - x.mean()) / x.std()]
        if any(_close(answer, u * w.ln2_weight + w.ln2_bias) for u in unbiased):  # with eps, as the learner writes it, or without
            return CheckResult(False, "Close: LayerNorm uses the biased variance (divide by d, not d - 1), plus eps.")
        if _close(answer, (x - x.mean()) / x.std(unbiased=False) * w.ln2_weight + w.ln2_bias):
            return CheckResult(False, "Close: add eps (lab.config.layer_norm_eps) to the variance before the square root.")
    return CheckResult(False, f"Use blocks.{layer}.resid_mid at that position, its mean and variance, and the block's ln2 weights.")


def settled_positions(lab, trace, before_last: int = 1) -> list[int]:
    """The positions of ``trace`` whose logit-lens reading ``before_last`` blocks before the end already has the
    model's final top token as its top guess (one lens per position, from the trace's own stages)."""
    from gpt2lab.model.forward import readout

    n = lab.config.n_layer
    stage = block_stage(0, "resid_pre") if n - before_last <= 0 else block_stage(n - before_last - 1, "resid_post")
    early = readout(trace[stage], lab.weights, lab.config)  # (T, vocab_size)
    return (early.argmax(-1) == trace.logits.argmax(-1)).nonzero().flatten().tolist()


@checker
def check_settled_positions(lab, trace, answer) -> CheckResult:
    """Exercise 3: at how many positions of ``trace`` is the lens's top guess BEFORE the last block already the
    model's final answer? (Non-degenerate on any depth: on the 4-block model as on GPT-2's 12 to 48.)"""
    if answer is None:
        return not_answered("Set answer to an int: the number of positions whose reading after the second-to-last "
                            "block already agrees with the final answer.")
    settled = settled_positions(lab, trace)
    expected, T = len(settled), len(trace.tokens)
    answer = as_whole(answer)
    if answer is None:
        return CheckResult(False, f"Give a count, a whole number between 0 and {T}.")
    if answer == expected:
        return CheckResult(True, f"{expected} of {T} positions ({settled}) have settled before the last block: there, "
                                 "the last block only sharpens a guess already made.")
    if answer == T - expected:
        return CheckResult(False, "That counts the positions that have NOT settled; count those that agree.")
    return CheckResult(False, "For each position, compare the lens's top token after the second-to-last block "
                              "with the model's own top token (trace.logits[position].argmax()).")
