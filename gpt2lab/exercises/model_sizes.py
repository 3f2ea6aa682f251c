"""Checkers for the exercises of ``notebooks/08_model_sizes.ipynb``."""

from __future__ import annotations

from gpt2lab.analysis.model_sizes import FAMILY, count_parameters
from gpt2lab.exercises.checks import CheckResult, as_number, as_whole, checker, not_answered, rounding_hint, same_number


@checker
def check_mlp_parameters(answer: int | None, name: str = "gpt2-medium") -> CheckResult:
    """Exercise 1: all the MLP parameters of ``name``, biases included, from its shape alone."""
    if answer is None:
        return not_answered("Set answer to an int, computed from n_layer and d_model.")
    expected = count_parameters(FAMILY[name]).mlp
    answer = as_whole(answer)
    if answer is None:
        return CheckResult(False, "Give the count as one whole number (an int).")
    c = FAMILY[name]
    if answer == expected:
        return CheckResult(True, f"{expected:,}: per block d x 4d + 4d + 4d x d + d, times {c.n_layer} blocks.")
    if answer == c.n_layer * 8 * c.d_model**2:
        return CheckResult(False, "Close: you counted the weights; add the biases (4d + d per block).")
    if answer * c.n_layer == expected:
        return CheckResult(False, f"That is one block's MLP; {name} has {c.n_layer} blocks.")
    return CheckResult(False, "Each block's MLP has a (d, 4d) matrix, a (4d, d) matrix and their biases.")


@checker
def check_fp16_gib(answer: float | None, name: str = "gpt2-xl") -> CheckResult:
    """Exercise 2: the weights of ``name`` in 16-bit floats, in GiB (2**30 bytes), to two decimals."""
    if answer is None:
        return not_answered("Set answer to a number of GiB, such as 1.23.")
    total = count_parameters(FAMILY[name]).total
    expected = 2 * total / 2**30
    value = as_number(answer)
    if value is None:
        return CheckResult(False, "Give one number of GiB, such as 1.23.")
    if same_number(answer, expected, abs_tol=0.006):  # "to two decimals"
        return CheckResult(True, f"{expected:.2f} GiB: 2 bytes for each of {total:,} parameters.")
    if same_number(answer, 2 * expected, abs_tol=0.012):
        return CheckResult(False, "That is the fp32 size (4 bytes a parameter); fp16 takes 2.")
    if same_number(answer, 2 * total / 1e9, abs_tol=0.006):
        return CheckResult(False, "That is in GB (10**9 bytes); a GiB is 2**30 bytes.")
    if hint := rounding_hint(answer, expected):
        return CheckResult(False, hint)
    return CheckResult(False, "Parameters x 2 bytes, divided by 2**30.")


def embedding_shares(name: str) -> tuple[float, float]:
    """The share of ``name``'s parameters in its token embedding, and in its token AND position embeddings."""
    counts = count_parameters(FAMILY[name])
    return counts.token_embedding / counts.total, (counts.token_embedding + counts.position_embedding) / counts.total


@checker
def check_embedding_share(answer: float | None, name: str = "gpt2") -> CheckResult:
    """Exercise 3: the fraction of ``name``'s parameters in the token embedding (0 to 1, two decimals).

    The share rounded to two significant digits or more passes (for GPT-2 small 0.31 or 0.310 of 0.3102, see
    :func:`~gpt2lab.exercises.checks.same_number`); the token and position embeddings counted together (0.3165,
    "0.32" or "0.316") get their own hint.
    """
    if answer is None:
        return not_answered("Set answer to a fraction between 0 and 1, such as 0.25.")
    expected, with_positions = embedding_shares(name)
    value = as_number(answer)
    if value is None:
        return CheckResult(False, "Give one number, a fraction between 0 and 1.")
    if same_number(answer, expected) and abs(value - expected) < abs(value - with_positions):
        return CheckResult(True, f"{expected:.4f}: in the smallest GPT-2, this share of the model is its vocabulary table.")
    if abs(value - with_positions) < 0.002 or same_number(answer, with_positions):
        return CheckResult(False, "That counts the position embedding too; the question asks for the token embedding "
                                  "alone (vocab_size x d_model).")
    if 1 < value <= 100 and abs(value / 100 - expected) < 0.006:
        return CheckResult(False, "That is a percentage; give the fraction between 0 and 1.")
    if hint := rounding_hint(answer, expected):
        return CheckResult(False, hint)
    return CheckResult(False, "vocab_size x d_model, divided by the total parameter count.")
