"""Fitting a training run into the memory at hand: the nearest real run, said in one sentence.

Fine-tuning every weight of gpt2-xl in float32 needs about 30 GiB: a copy of each trained weight (the lab
keeps its own), its gradient, AdamW's two running averages, and the activations the backward pass reads
(:func:`~gpt2lab.analysis.model_sizes.training_bytes`). A Colab T4 has 15 GiB, a laptop perhaps 8. Rather
than stop with an out-of-memory traceback, a run that does not fit trains less, and says so:

1. every weight, as asked, when that fits;
2. else only the top blocks and the final LayerNorm, as many blocks as fit: the lower blocks stay as they
   were (they share their memory with the lab, and keep no activations for a backward pass);
3. else the top block with shorter windows (halved, down to 16 tokens), then fewer windows per step;
4. else (a classifier) only the score head; else a :class:`LabError` that says to load a smaller model.

    plan = plan_training(lab.config, batch_size=8, block_size=64, budget=available_memory(lab.device), name=lab.name)
    str(plan)           # one sentence: what will be trained, in how much memory
    plan.changed        # False when the run is the one asked for
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from gpt2lab.analysis.model_sizes import FREE_SHARE, available_memory, gib, training_bytes
from gpt2lab.errors import LabError
from gpt2lab.model.config import ModelConfig

MIN_BLOCK_SIZE = 16  # windows are never cut shorter than this: below it, little of a text's style is left to learn


@dataclass(frozen=True)
class TrainingPlan:
    """What a training run will train, and the memory that takes."""

    trained_blocks: int  # blocks trained, counted from the top; n_layer: every weight, embeddings included
    n_layer: int  # blocks the model has
    block_size: int  # tokens per window (a classifier: its longest sentence)
    batch_size: int  # windows (or sentences) per step
    need: int  # bytes the run needs on top of the loaded model, by training_bytes
    budget: int | None  # bytes it may use (None: this machine does not say)
    note: str = ""  # "" when the run is the one asked for; else one sentence saying what changed, and why
    where: str = ""  # the device, in words, for the sentence

    @property
    def everything(self) -> bool:
        """True when every weight is trained (the run as asked)."""
        return self.trained_blocks == self.n_layer

    @property
    def changed(self) -> bool:
        return bool(self.note)

    def __str__(self) -> str:
        if self.note:
            return self.note
        free = f"; {gib(self.budget)} are free to use on {self.where}" if self.budget is not None else ""
        what = "every weight" if self.everything else (
            "only the score head" if self.trained_blocks == 0 else f"the top {self.trained_blocks} of {self.n_layer} blocks")
        return f"Training {what} needs about {gib(self.need)} on top of the loaded model{free}."

    def as_dict(self) -> dict:
        """The plan as JSON-ready numbers (a checkpoint stores it, so a resumed run trains the same weights)."""
        return {"trained_blocks": self.trained_blocks, "n_layer": self.n_layer, "block_size": self.block_size,
                "batch_size": self.batch_size, "need": self.need, "budget": self.budget, "note": self.note,
                "where": self.where}


def usable_memory(device, memory_budget: int | None = None) -> int | None:
    """The bytes a training plan may use: ``memory_budget`` if given, else a share of what ``device`` has free
    (:data:`~gpt2lab.analysis.model_sizes.FREE_SHARE`: 90 % on a GPU, half on the CPU)."""
    if memory_budget is not None:
        if not isinstance(memory_budget, int) or isinstance(memory_budget, bool) or memory_budget <= 0:
            raise LabError(f"memory_budget is a number of bytes, such as 8 * 2**30 for 8 GiB, not {memory_budget!r}.")
        return memory_budget
    free = available_memory(device)
    return None if free is None else int(FREE_SHARE.get(torch.device(device).type, 0.5) * free)


def plan_training(config: ModelConfig, *, batch_size: int, block_size: int, budget: int | None, name: str = "this model",
                  where: str = "this device", classifier: bool = False, head_only: bool = False) -> TrainingPlan:
    """The nearest run to the one asked for that fits ``budget`` bytes (see the module docstring).

    ``classifier``: a score head on the model (no 50,257 logits per token; it may train the head alone);
    ``head_only``: a classifier asked to train only its head (``freeze_body``).
    """
    n = config.n_layer

    def need(k: int, T: int, B: int) -> int:
        return training_bytes(config, batch_size=B, block_size=T, trained_blocks=k, vocab_logits=not classifier).total

    def plan(k: int, T: int, B: int, note: str = "") -> TrainingPlan:
        return TrainingPlan(k, n, T, B, need(k, T, B), budget, note, where)

    asked = 0 if head_only else n
    if budget is None or need(asked, block_size, batch_size) <= budget:
        return plan(asked, block_size, batch_size)
    why = (f"{'Training' if classifier else 'Fine-tuning'} every weight of {name} needs about "
           f"{gib(need(asked, block_size, batch_size))} but {gib(budget)} are free to use on {where}")
    kept = "the rest stay as they were"
    for k in range(n - 1, 0, -1) if asked else ():
        if need(k, block_size, batch_size) <= budget:
            head = " and the score head" if classifier else ""
            return plan(k, block_size, batch_size,
                        f"{why}: training only the top {k} of its {n} blocks and the final LayerNorm{head} ({kept}).")
    T, B = block_size, batch_size
    shortest = block_size if classifier else min(block_size, MIN_BLOCK_SIZE)  # a sentence cannot be cut; a window can
    while asked and (T > shortest or B > 1) and need(1, T, B) > budget:
        T, B = (max(shortest, T // 2), B) if T > shortest else (T, max(1, B // 2))
    if asked and need(1, T, B) <= budget:
        windows = f"{B} sentences per step" if classifier else f"on windows of {T} tokens, {B} per step"
        return plan(1, T, B, f"{why}: training only its top block and the final LayerNorm, {windows} ({kept}).")
    if classifier and need(0, block_size, batch_size) <= budget:
        return plan(0, block_size, batch_size, f"{why}: training only the score head (the transformer stays as it was).")
    raise LabError(f"{why}, too little to train even one block; free memory (close other notebooks) or load a "
                   f"smaller model.")


def restored_plan(saved: dict | None) -> TrainingPlan | None:
    """The plan a checkpoint stored (see :meth:`TrainingPlan.as_dict`), or None for an older checkpoint."""
    return TrainingPlan(**saved) if saved else None


# --- sharing memory with the lab ----------------------------------------------------------------------------


def shared_copy(module: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``module`` whose parameters share their memory with ``module``'s (new Parameter objects,
    same numbers): it costs no memory until :func:`own_memory` gives the trained ones their own copy."""
    memo = {id(p): torch.nn.Parameter(p.detach(), requires_grad=p.requires_grad) for p in module.parameters()}
    return copy.deepcopy(module, memo)  # tied weights stay tied: one Parameter, one entry in memo


def own_memory(parameters, shared_with: set[int]) -> None:
    """Give each parameter whose memory is one of ``shared_with`` (storage addresses) a copy of its own, so
    training it leaves the lab it was copied from as it was."""
    for p in parameters:
        if p.untyped_storage().data_ptr() in shared_with:
            p.data = p.data.clone()


def storage_addresses(module: torch.nn.Module) -> set[int]:
    """The memory addresses of ``module``'s parameters: what :func:`own_memory` must not write to."""
    return {p.untyped_storage().data_ptr() for p in module.parameters()}


def trained_parameters(model: torch.nn.Module, plan: TrainingPlan) -> list[torch.nn.Parameter]:
    """The parameters of a GPT-2 ``model`` (with a ``.transformer``) that ``plan`` trains: every one, or the top
    ``plan.trained_blocks`` blocks and the final LayerNorm (none of the transformer's: a classifier's head alone)."""
    if plan.everything:
        return list(model.parameters())
    transformer = model.transformer
    top = transformer.h[len(transformer.h) - plan.trained_blocks:] if plan.trained_blocks else []
    return [p for module in (*top, transformer.ln_f) for p in module.parameters()] if plan.trained_blocks else []


def train_only(model: torch.nn.Module, parameters: list[torch.nn.Parameter]) -> None:
    """Switch gradients on for ``parameters`` and off for every other parameter of ``model``: autograd then
    keeps no activations below the lowest trained block."""
    model.requires_grad_(False)
    for p in parameters:
        p.requires_grad_(True)


def is_out_of_memory(error: BaseException) -> bool:
    """Did an allocation fail (on a GPU, or the CPU's ``DefaultCPUAllocator``)?"""
    if isinstance(error, (MemoryError, torch.cuda.OutOfMemoryError)):
        return True
    return isinstance(error, RuntimeError) and ("out of memory" in str(error) or "can't allocate memory" in str(error))


def out_of_memory_error(plan: TrainingPlan, what: str) -> LabError:
    """The one sentence for an allocation that failed although the plan said it would fit."""
    smaller = f"memory_budget={plan.need // 2:,}" if plan.need > 1 else "a smaller model"
    return LabError(f"{what} ran out of memory on {plan.where} although about {gib(plan.need)} looked free; "
                    f"something else took memory meanwhile: run it again with {smaller} (bytes), or load a smaller model.")
