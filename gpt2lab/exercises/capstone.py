"""The checker of ``notebooks/11_assemble_gpt2.ipynb``: your own GPT-2 forward pass, compared stage by stage.

The learner writes ``my_forward(ids, weights, config, record)``: ``ids`` (T,) token ids, ``weights`` the kit's
:class:`~gpt2lab.model.weights.GPT2Weights`, ``config`` its :class:`~gpt2lab.model.config.ModelConfig`, and
``record(name, tensor)`` to call with each stage under its kit name (``"blocks.0.resid_pre"``,
``"blocks.{i}.ln1"``, ``"blocks.{i}.attn_out"``, ``"blocks.{i}.resid_mid"``, ``"blocks.{i}.ln2"``,
``"blocks.{i}.mlp_out"``, ``"blocks.{i}.resid_post"``, ``"ln_final"``); it returns the logits (T, vocab_size).

:func:`check_forward` runs it on a short prompt, compares every recorded stage with the kit's own trace in
the order the model computes them, and names the first stage that differs, even by a little (a difference that
starts small, like an exact GELU's, may only grow past the tolerance blocks later). To say *why* it differs,
it runs the classic mistakes itself (:data:`MISTAKES`) and reports the one whose numbers are the learner's.
"""

from __future__ import annotations

import math

import torch

from gpt2lab.exercises.checks import CheckResult, checker
from gpt2lab.model.names import block_stage

PROMPT = "It is a truth universally acknowledged, that a single man"

# The mistakes the checker recognises, each with the sentence it says.
MISTAKES = {
    "unbiased_variance": "LayerNorm divides by the BIASED variance: mean of (x - mean)**2 over d, not d - 1 "
                         "(torch.var(x, unbiased=False), or x.var(-1, correction=0)), plus eps.",
    "no_scale": "The attention scores are q @ k.T divided by sqrt(d_head); without it the softmax saturates.",
    "no_mask": "The causal mask is missing: before the softmax, set the scores of every key after its query to "
               "-inf (torch.triu(..., diagonal=1)), so no position reads the future.",
    "post_ln": "GPT-2 is pre-LN: each sub-layer reads a normalised COPY, x = x + attn(ln1(x)) and x = x + mlp(ln2(x)); "
               "normalising after the addition, x = ln1(x + attn(x)), is the original Transformer's (and GPT-1's) order.",
    "relu": "GPT-2's MLP uses GELU (the tanh approximation: gelu_new), not ReLU.",
    "gelu_erf": "Your GELU is the exact one, built on erf (F.gelu(x), nn.GELU()); GPT-2 uses the tanh approximation, "
                "0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3))), which is F.gelu(x, approximate='tanh'). "
                "The two differ by less than 0.001, so the difference starts small and grows block by block.",
    "gelu_sigmoid": "Your GELU is the sigmoid approximation, x * sigmoid(1.702 * x); GPT-2 uses the tanh approximation, "
                    "0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3))), which is F.gelu(x, approximate='tanh').",
    "scale_d_model": "The scores are divided by sqrt(d_model); divide by sqrt(d_head) = sqrt(d_model / n_head), the "
                     "length of ONE head's queries and keys.",
    "untied_head": "GPT-2 ties its head to the token embedding: logits = ln_final @ weights.token_embedding.T, "
                   "no matrix of its own.",
    "conv1d_layout": "Hugging Face's Conv1D stores each weight as (d_in, d_out): compute x @ weight + bias, "
                     "not x @ weight.T (nn.Linear's layout).",
}

# What each stage computes, for the hint when no known mistake matches.
STAGE_HINTS = {
    "resid_pre": "the token embedding row of each id plus the position embedding row of each position",
    "ln1": "LayerNorm of the stream with ln1_weight and ln1_bias",
    "attn_out": "masked multi-head attention of ln1, heads concatenated, then out_weight and out_bias",
    "resid_mid": "the stream plus attn_out",
    "ln2": "LayerNorm of resid_mid with ln2_weight and ln2_bias",
    "mlp_out": "fc_weight, GELU, then proj_weight, applied to ln2",
    "resid_post": "resid_mid plus mlp_out",
    "ln_final": "the final LayerNorm of the last block's output",
    "logits": "ln_final times the token embedding, transposed",
}


def checked_stages(n_layer: int) -> list[str]:
    """The stages compared, in the order the forward pass computes them."""
    names = ["blocks.0.resid_pre"]
    for i in range(n_layer):
        names += [block_stage(i, s) for s in ("ln1", "attn_out", "resid_mid", "ln2", "mlp_out", "resid_post")]
    return names + ["ln_final", "logits"]


def _layer_norm(x, weight, bias, eps, unbiased=False):
    mean = x.mean(-1, keepdim=True)
    var = x.var(-1, keepdim=True, unbiased=unbiased)
    return (x - mean) / torch.sqrt(var + eps) * weight + bias


def _gelu(x, mistake: str | None):
    if mistake == "relu":
        return torch.relu(x)
    if mistake == "gelu_erf":
        return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))
    if mistake == "gelu_sigmoid":
        return x * torch.sigmoid(1.702 * x)
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))  # GPT-2's: tanh approximation


def mistaken_forward(ids: torch.Tensor, weights, config, mistake: str | None = None) -> dict[str, torch.Tensor]:
    """GPT-2's forward pass written out in plain torch, with one of :data:`MISTAKES` made on purpose (or none).

    Returns the stages it computes by name (the post-LN variant has no ln1/ln2 of its own). The checker
    compares these with a learner's stages to name the mistake; ``mistake=None`` is the right answer.
    """
    stages = {}
    eps, n_head = config.layer_norm_eps, config.n_head
    T = ids.shape[0]
    ln = lambda x, w, b: _layer_norm(x, w, b, eps, unbiased=mistake == "unbiased_variance")  # noqa: E731
    right = lambda x, W: x @ W.T if mistake == "conv1d_layout" and W.shape[0] == W.shape[1] else x @ W  # noqa: E731

    def attn(x, w):  # x: (T, d_model)
        q, k, v = (x @ w.qkv_weight + w.qkv_bias).split(config.d_model, dim=-1)  # 3 x (T, d_model)
        q, k, v = (t.view(T, n_head, -1).transpose(0, 1) for t in (q, k, v))  # (n_head, T, d_head)
        scores = q @ k.transpose(-1, -2)  # (n_head, T, T)
        if mistake == "scale_d_model":
            scores = scores / math.sqrt(config.d_model)
        elif mistake != "no_scale":
            scores = scores / math.sqrt(q.shape[-1])
        if mistake != "no_mask":
            future = torch.triu(torch.ones(T, T, dtype=torch.bool, device=x.device), diagonal=1)
            scores = scores.masked_fill(future, float("-inf"))
        z = torch.softmax(scores, dim=-1) @ v  # (n_head, T, d_head)
        return right(z.transpose(0, 1).reshape(T, -1), w.out_weight) + w.out_bias  # (T, d_model)

    def mlp(x, w):
        h = x @ w.fc_weight + w.fc_bias  # (T, d_mlp)
        h = _gelu(h, mistake)
        return h @ w.proj_weight + w.proj_bias  # (T, d_model)

    positions = torch.arange(T, device=ids.device)
    x = stages["blocks.0.resid_pre"] = weights.token_embedding[ids] + weights.position_embedding[positions]
    for i, w in enumerate(weights.blocks):
        name = lambda stage: block_stage(i, stage)  # noqa: E731  (the names come from gpt2lab.model.names)
        if mistake == "post_ln":
            stages[name("attn_out")] = a = attn(x, w)
            x = stages[name("resid_mid")] = ln(x + a, w.ln1_weight, w.ln1_bias)
            stages[name("mlp_out")] = m = mlp(x, w)
            x = stages[name("resid_post")] = ln(x + m, w.ln2_weight, w.ln2_bias)
            continue
        h = stages[name("ln1")] = ln(x, w.ln1_weight, w.ln1_bias)
        stages[name("attn_out")] = a = attn(h, w)
        x = stages[name("resid_mid")] = x + a
        h = stages[name("ln2")] = ln(x, w.ln2_weight, w.ln2_bias)
        stages[name("mlp_out")] = m = mlp(h, w)
        x = stages[name("resid_post")] = x + m
    x = stages["ln_final"] = ln(x, weights.ln_final_weight, weights.ln_final_bias)
    head = weights.token_embedding
    if mistake == "untied_head":  # a head of its own: a fresh matrix, as `nn.Linear(d_model, vocab)` would give
        head = torch.randn(head.shape, generator=torch.Generator().manual_seed(0)).to(head) * 0.02
    stages["logits"] = x @ head.T
    return stages


ROUNDING = 1e-5  # a stage within this (relative to its largest value) of the kit's is the same number, rounded differently


def _error(a, b: torch.Tensor) -> float:
    """How far ``a`` is from ``b``, relative to ``b``'s largest value; inf when they cannot be compared."""
    if not isinstance(a, torch.Tensor) or a.shape != b.shape or a.is_complex():
        return math.inf
    gap = float((a.detach().to(dtype=b.dtype, device=b.device) - b).abs().max()) if b.numel() else 0.0
    return gap / max(1.0, float(b.abs().max())) if math.isfinite(gap) else math.inf


def _close(a, b) -> bool:
    """Equal within the checker's tolerance (a difference this small never fails a forward pass on its own)."""
    if not isinstance(a, torch.Tensor) or a.shape != b.shape or a.is_complex():
        return False
    a = a.detach().to(dtype=b.dtype, device=b.device)
    return bool(torch.allclose(a, b, atol=1e-4 * max(1.0, b.abs().max().item()), rtol=1e-4))


def _nearest_mistake(stage: str, given: dict, variants: dict, kit_error: float) -> str | None:
    """The known mistake whose numbers at ``stage`` are the learner's: equal to within rounding (a little
    amplified), and far nearer to them than the kit's are (``kit_error``), so that a right answer rounded
    differently is never taken for a mistake whose numbers differ only slightly from the kit's."""
    distances = {m: _error(given[stage], stages[stage]) for m, stages in variants.items() if stage in stages}
    mistake = min(distances, key=distances.get, default=None)
    if mistake is None or not math.isfinite(kit_error):
        return None
    return mistake if distances[mistake] <= min(10 * ROUNDING, 0.1 * kit_error) else None


def _diagnose(where: list[str], given: dict, errors: dict, ids, weights, config) -> str | None:
    """The known mistake behind the learner's numbers, looked for at each stage of ``where`` in turn."""
    variants = {m: mistaken_forward(ids, weights, config, m) for m in MISTAKES}
    for stage in dict.fromkeys(where):
        mistake = _nearest_mistake(stage, given, variants, errors[stage])
        if mistake:
            return mistake
    return None


def _reshape(value: torch.Tensor, kit: torch.Tensor, name: str) -> str:
    """What to do about ``value``'s shape when it is ``kit``'s with a batch dimension in front; else nothing."""
    return f": drop the batch dimension ({name}[0], or {name}.squeeze(0))" if value.shape == (1, *kit.shape) else ""


def _right(stages: list[str], given: dict, ids, tolerance: str = "") -> CheckResult:
    """The verdict on a forward pass whose every recorded stage, and logits, equal the kit's (within ``tolerance``).

    Right logits with no stage recorded are not yet the exercise: it asks for every stage, to compare them."""
    recorded = [stage for stage in stages if stage != "logits"]
    if not recorded:
        other = [name for name in given if name != "logits"]
        named = f" (the names you gave, {', '.join(map(repr, other[:3]))}, are not the kit's)" if other else ""
        return CheckResult(False, f"Your logits equal the kit's, but no stage was recorded{named}: call record(name, "
                                  "tensor) with each stage as you compute it, under the names of section 1's table "
                                  "(\"blocks.0.resid_pre\", \"blocks.{i}.ln1\", ..., \"ln_final\"), so that each can be "
                                  "compared.")
    return CheckResult(True, f"All {len(recorded)} stages you recorded, and the logits, equal the kit's trace of "
                             f"{len(ids)} tokens{tolerance}: you have written GPT-2's forward pass.")


def _why(stage: str, given: dict, kit, mistake: str | None) -> str:
    """Why ``stage`` differs, in one sentence: the mistake's, a shape or type, or what the stage should be."""
    if mistake:
        return MISTAKES[mistake]
    value = given[stage]
    if not isinstance(value, torch.Tensor):
        return f"record got a {type(value).__name__}, not a tensor."
    if value.shape != kit[stage].shape:
        return f"it has shape {tuple(value.shape)}, the kit's {tuple(kit[stage].shape)}{_reshape(value, kit[stage], 'x')}."
    return f"it should be {STAGE_HINTS[stage.split('.')[-1]]}."


@checker
def check_forward(fn, lab, prompt: str = PROMPT) -> CheckResult:
    """Run ``fn(ids, weights, config, record)`` on ``prompt`` and compare it with the kit, stage by stage.

    Passes when every stage ``fn`` records, and the logits it returns, equal the kit's trace. Otherwise names
    the stage where the difference starts, even when it is still small there, and when it recognises it, the
    mistake (see :data:`MISTAKES`); a known mistake fails even when its numbers stay within the tolerance.
    """
    if fn is None:
        return CheckResult(False, "Define my_forward(ids, weights, config, record) and run the cell again.", answered=False)
    if not callable(fn):
        return CheckResult(False, "Pass your function itself: check_forward(my_forward, lab).")
    ids = lab.to_ids(prompt)  # (T,)
    trace = lab.trace(ids)
    given: dict[str, torch.Tensor] = {}

    def record(name, tensor):
        given[name] = tensor
        return tensor

    weights, config = lab.weights, lab.config
    with torch.no_grad():
        try:
            logits = fn(ids, weights, config, record)
        except RuntimeError as error:  # a shape error: most often a weight used in the wrong layout
            if "mat1 and mat2" in str(error) or "shape" in str(error) or "size" in str(error):
                return CheckResult(False, f"Your function stopped at a shape mismatch ({str(error).splitlines()[0]}). "
                                          + MISTAKES["conv1d_layout"])
            return CheckResult(False, f"Your function raised {type(error).__name__}: {str(error).splitlines()[0]}")
        except Exception as error:  # noqa: BLE001 - the learner's code: report it in one line, never a traceback
            return CheckResult(False, f"Your function raised {type(error).__name__}: {error}")
        if isinstance(logits, torch.Tensor):
            given.setdefault("logits", logits)
        if "logits" not in given:
            return CheckResult(False, "Return the logits, a tensor of shape (T, vocab_size).")
        mine, kit = given["logits"], trace["logits"]
        if isinstance(mine, torch.Tensor) and mine.shape != kit.shape:  # before any number: a shape says what to fix
            return CheckResult(False, f"Your logits have shape {tuple(mine.shape)}, where (T, vocab_size) = "
                                      f"{tuple(kit.shape)} was expected{_reshape(mine, kit, 'logits')}.")
        stages = [stage for stage in checked_stages(config.n_layer) if stage in given]
        errors = {stage: _error(given[stage], trace[stage]) for stage in stages}
        failing = next((stage for stage in stages if not _close(given[stage], trace[stage])), None)
        start = next((stage for stage in stages if errors[stage] > ROUNDING), None)
        if start is None:
            return _right(stages, given, ids)
        # where the difference starts; else where it fails, or at the logits (a post-LN forward has no ln1 to compare)
        mistake = _diagnose([start] + [failing] * (failing is not None) + ["logits"], given, errors, ids, weights, config)
        if failing is None and mistake is None:  # small differences no known mistake explains: rounding, done another way
            return _right(stages, given, ids, f" (to within {max(errors.values()):.0e} of each stage's largest value)")
        if mistake is None and start == "logits" and "ln_final" in given:  # ln_final was right: the head is not
            mistake = "untied_head"
        where = f"First difference at {start!r}"
        if failing != start and math.isfinite(errors[start]):
            grows = f"it grows to {errors[failing]:.1e} at {failing!r}" if failing else "every stage stays within the tolerance"
            where += f" (small there: {errors[start]:.1e} of the stage's largest value; {grows})"
        return CheckResult(False, f"{where}: {_why(start, given, trace, mistake)}")
