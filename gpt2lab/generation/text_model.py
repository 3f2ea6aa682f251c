"""The model as generation sees it: a way to read token ids, and a way to show tokens. Nothing more.

Generation (the sampling loop, the stepper, beam search) does not need a whole :class:`~gpt2lab.lab.Lab`:
it needs to turn a prompt into ids once, to read new ids after a KV cache (one forward pass), to batch a
few sequences (beam search), and to say how tokens read. A lab hands these over as one small
:class:`TextModel` (``lab.text_model()``), its inputs already checked, so the loop below never checks the
same ids twice and never reaches back into the lab.

    model = lab.text_model()
    ids = model.encode("The cat sat")                  # (T,) checked ids, fitting the context window
    cache = model.new_cache()
    trace = model.read(ids, cache, ("logits",))        # one forward pass; the cache now holds T positions
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from gpt2lab.inputs import check_lab
from gpt2lab.model.cache import KVCache
from gpt2lab.model.trace import Trace


@dataclass(frozen=True)
class TextModel:
    """What generation needs from a loaded GPT-2 (a lab builds it: ``lab.text_model()``)."""

    name: str  # the model's name ("gpt2", "tiny", a folder): saved sessions record it
    n_ctx: int  # the context window: generation stops when the text fills it
    n_layer: int  # blocks: the stages a step's trace may keep depend on it
    vocab_size: int  # ids run from 0 to vocab_size - 1
    eos_id: int | None  # <|endoftext|>, the end-of-document token (None if the tokenizer has none)
    encode: Callable[[str], torch.Tensor]  # a prompt -> its ids (T,), checked: not empty, fits the window
    read: Callable[[torch.Tensor, KVCache | None, Sequence[str]], Trace]  # ids after the cache -> their trace
    batch_logits: Callable[[torch.Tensor], torch.Tensor]  # (B, T) ids -> (B, T, vocab) logits, no cache
    new_cache: Callable[[], KVCache]  # an empty KV cache for ``read``
    token_strings: Callable[[Sequence[int]], list[str]]  # how each (checked) token reads: [" The", " cat"]
    decode: Callable[[Sequence[int]], str]  # (checked) ids -> text

    def decode_without_end(self, ids: Sequence[int]) -> str:
        """The text of ``ids``, leaving out a final ``<|endoftext|>`` (it ends the text; it is not text)."""
        ids = list(ids)
        if ids and self.eos_id is not None and ids[-1] == self.eos_id:
            ids = ids[:-1]
        return self.decode(ids)


def text_model_of(value) -> TextModel:
    """The :class:`TextModel` of a lab (``gpt2lab.load()``'s result), or one given directly."""
    if isinstance(value, TextModel):
        return value
    return check_lab(value).text_model()


def end_of_text_id(lab) -> int | None:
    """The id of ``<|endoftext|>`` in a lab's vocabulary: 50256 in GPT-2 (None if its tokenizer has none)."""
    return text_model_of(lab).eos_id
