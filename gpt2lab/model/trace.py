"""A trace: every intermediate tensor of one forward pass, by stage name.

``trace["blocks.0.attn.pattern"]`` is block 0's attention pattern. Tensors have no batch axis (a trace
is one sequence) and live on the lab's device, beside its weights (the CPU unless a GPU was asked for).
See :mod:`gpt2lab.model.names` for every name and shape; ``trace["resid_post", 3]`` is short for
``trace["blocks.3.resid_post"]`` (and ``-1`` is the last block).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property

import torch

from gpt2lab.errors import LabError


@dataclass
class Trace:
    ids: torch.Tensor  # (T,)  token ids of the positions computed in this call
    start: int  # position of ids[0]: 0, or the number of tokens the KV cache already held
    context_ids: torch.Tensor  # (T_all,)  every position attended to: cached ones, then ids
    activations: dict[str, torch.Tensor]  # stage name -> tensor, in the order they were computed
    n_layer: int  # number of blocks of the model that made it
    labeller: Callable[[list[int]], list[str]] = field(repr=False, default=lambda ids: [f"<id {i}>" for i in ids])
    # how token ids read (the lab's token_strings); asked only when .tokens or .context_tokens is read

    @cached_property
    def context_tokens(self) -> list[str]:
        """How every position attended to reads (the key axis of attention): built on first use, then kept."""
        return self.labeller(self.context_ids.tolist())

    @property
    def tokens(self) -> list[str]:
        """How the positions computed in this call read: ``[" The", " cat"]``."""
        return self.context_tokens[self.start :]

    def __getitem__(self, name: str | tuple[str, int]) -> torch.Tensor:
        """``trace["blocks.3.resid_post"]``, or the shorthand ``trace["resid_post", 3]`` for a block's stage."""
        if isinstance(name, tuple):
            from gpt2lab.model.names import block_stage

            stage, layer = name
            name = block_stage(layer % self.n_layer if isinstance(layer, int) and layer < 0 else layer, stage)
        try:
            return self.activations[name]
        except KeyError:
            from gpt2lab.model.names import stage_names

            if name in stage_names(self.n_layer):
                self.require([name])
            raise LabError(f"No stage is called {name!r}; see gpt2lab.stage_names({self.n_layer}) for the names.") from None

    def __contains__(self, name: str) -> bool:
        return name in self.activations

    def require(self, names: Iterable[str], purpose: str = "to keep every stage") -> None:
        """Check that this trace kept every stage in ``names``; else one sentence saying what to do for ``purpose``.

        >>> trace.require(["blocks.0.attn.pattern"], "to draw attention")       # doctest: +SKIP
        LabError: The stage 'blocks.0.attn.pattern' was not kept in this trace; trace again with keep=None to draw attention.
        """
        missing = next((name for name in names if name not in self.activations), None)
        if missing is not None:
            raise LabError(f"The stage {missing!r} was not kept in this trace; trace again with keep=None {purpose}.")

    @property
    def names(self) -> list[str]:
        """The names of the stages this trace kept, in the order they were computed."""
        return list(self.activations)

    @property
    def logits(self) -> torch.Tensor:
        """(T, vocab_size): the scores of every possible next token, at every position."""
        return self["logits"]

    @property
    def positions(self) -> range:
        """The positions computed in this call."""
        return range(self.start, self.start + len(self.ids))

    def nbytes(self) -> int:
        """Memory held by the kept tensors, in bytes."""
        return sum(t.numel() * t.element_size() for t in self.activations.values())

    def __repr__(self) -> str:
        shown = "".join(self.tokens)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        return (
            f"Trace({len(self.ids)} tokens from position {self.start}: {shown!r}, "
            f"{len(self.activations)} stages, {self.nbytes() / 2**20:.1f} MiB)"
        )
