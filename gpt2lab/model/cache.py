"""The KV cache: keys and values of the positions already seen, so a new token costs one position.

A token's key and value depend only on the tokens up to it (the mask sees to that), so they never
change once computed. Generation keeps them, and each new step computes q, k and v for the new
position only, attending to the cached keys and values. ``truncate`` forgets the last positions,
which is how the stepper goes back or branches.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from gpt2lab.model.config import ModelConfig


@dataclass
class KVCache:
    keys: list[torch.Tensor]  # one per block: (n_head, n_ctx, d_head), filled up to `length`
    values: list[torch.Tensor]  # one per block: (n_head, n_ctx, d_head), filled up to `length`
    ids: list[int] = field(default_factory=list)  # the token ids whose keys and values are held
    length: int = 0  # number of positions held

    @classmethod
    def empty(cls, config: ModelConfig, device=None, dtype=torch.float32) -> "KVCache":
        """A cache with room for a full context window, holding nothing yet."""
        shape = (config.n_head, config.n_ctx, config.d_head)
        return cls(
            keys=[torch.zeros(shape, device=device, dtype=dtype) for _ in range(config.n_layer)],
            values=[torch.zeros(shape, device=device, dtype=dtype) for _ in range(config.n_layer)],
        )

    @property
    def capacity(self) -> int:
        """The most positions the cache can hold: the model's context window."""
        return self.keys[0].shape[1]

    def store(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Write one block's new keys and values after the held ones; return all keys and values so far.

        k, v: (n_head, T, d_head). Returns two (n_head, length + T, d_head) views. ``length`` moves on
        only in :meth:`advance`, once every block has stored its keys.
        """
        end = self.length + k.shape[1]
        self.keys[layer][:, self.length : end] = k
        self.values[layer][:, self.length : end] = v
        return self.keys[layer][:, :end], self.values[layer][:, :end]  # (n_head, T_all, d_head) each

    def advance(self, new_ids: list[int]) -> None:
        """Count the positions just stored by every block."""
        self.ids = self.ids + list(new_ids)
        self.length += len(new_ids)

    def truncate(self, length: int) -> None:
        """Forget every position from ``length`` on (their slots are overwritten by the next tokens)."""
        if not 0 <= length <= self.length:
            raise ValueError(f"cannot truncate a cache of {self.length} positions to {length}")
        self.length = length
        self.ids = self.ids[:length]
