"""Checkers for the exercises of ``notebooks/08_model_sizes.ipynb``."""

from __future__ import annotations

from gpt2lab.analysis.model_sizes import FAMILY, count_parameters
from gpt2lab.exercises.checks import CheckResult, as_number, not_answered


def check_mlp_parameters(answer: int | None, name: str = "gpt2-medium") -> CheckResult:
    """Exercise 1: all the MLP parameters of ``name``, biases included, from its shape alone."""
    if answer is None:
        return not_answered("Set answer to an int, computed from n_layer and d_model.")
    expected = count_parameters(FAMILY[name]).mlp
    answer = as_number(answer)
    if answer == expected:
        return CheckResult(True, f"{expected:,}: per block d x 4d + 4d + 4d x d + d, times {FAMILY[name].n_layer} blocks.")
    c = FAMILY[name]
    if answer == c.n_layer * 8 * c.d_model**2:
        return CheckResult(False, "Close: you counted the weights; add the biases (4d + d per block).")
    return CheckResult(False, "Not yet: each block's MLP has a (d, 4d) matrix, a (4d, d) matrix and their biases.")


def check_fp16_gib(answer: float | None, name: str = "gpt2-xl") -> CheckResult:
    """Exercise 2: the weights of ``name`` in 16-bit floats, in GiB (2**30 bytes), to two decimals."""
    if answer is None:
        return not_answered("Set answer to a number of GiB, such as 1.23.")
    expected = 2 * count_parameters(FAMILY[name]).total / 2**30
    answer = as_number(answer)
    if answer is None:
        return CheckResult(False, "Give one number of GiB, such as 1.23.")
    if abs(answer - expected) < 0.006:
        return CheckResult(True, f"{expected:.2f} GiB: 2 bytes for each of {count_parameters(FAMILY[name]).total:,} parameters.")
    if abs(answer - 2 * expected) < 0.012:
        return CheckResult(False, "That is the fp32 size (4 bytes a parameter); fp16 takes 2.")
    return CheckResult(False, "Not yet: parameters x 2 bytes, divided by 2**30.")


def check_embedding_share(answer: float | None, name: str = "gpt2") -> CheckResult:
    """Exercise 3: the fraction of ``name``'s parameters in the token embedding (0 to 1, two decimals)."""
    if answer is None:
        return not_answered("Set answer to a fraction between 0 and 1, such as 0.25.")
    counts = count_parameters(FAMILY[name])
    expected = counts.token_embedding / counts.total
    answer = as_number(answer)
    if answer is None:
        return CheckResult(False, "Give one number, a fraction between 0 and 1.")
    if abs(answer - expected) < 0.006:
        return CheckResult(True, f"{expected:.2f}: in the smallest GPT-2, this share of the model is its vocabulary table.")
    return CheckResult(False, "Not yet: vocab_size x d_model, divided by the total parameter count.")
