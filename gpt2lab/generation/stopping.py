"""Why generation stops: three reasons, one rule, shared by sampling, the stepper and beam search.

    "length"        max_new_tokens new tokens have been written
    "end_of_text"   the model wrote <|endoftext|>, its "this document is over" token
    "context_full"  the text fills the context window (n_ctx tokens): no position is left to read more
"""

from __future__ import annotations

# why generation stopped (the token <|endoftext|> itself is gpt2lab.tokenizer.bpe.END_OF_TEXT)
STOPPED_AT_LENGTH, STOPPED_AT_END_OF_TEXT, STOPPED_AT_CONTEXT_FULL = "length", "end_of_text", "context_full"
STOP_REASONS = {
    STOPPED_AT_LENGTH: "the requested number of new tokens has been written",
    STOPPED_AT_END_OF_TEXT: "the model wrote <|endoftext|>, its end-of-document token",
    STOPPED_AT_CONTEXT_FULL: "the text fills the model's context window, so it cannot read one more token",
}


def stop_reason(ids: list[int], n_new: int, max_new_tokens: int, eos_id: int | None, n_ctx: int) -> str | None:
    """Why generation must stop now (see STOP_REASONS), or None if it can go on.

    >>> stop_reason([5, 6, 0], n_new=1, max_new_tokens=40, eos_id=0, n_ctx=8)
    'end_of_text'
    >>> stop_reason([5, 6, 7], n_new=1, max_new_tokens=40, eos_id=0, n_ctx=8) is None
    True
    """
    if n_new > 0 and eos_id is not None and ids[-1] == eos_id:
        return STOPPED_AT_END_OF_TEXT
    if n_new >= max_new_tokens:
        return STOPPED_AT_LENGTH
    if len(ids) >= n_ctx:
        return STOPPED_AT_CONTEXT_FULL
    return None


class WrittenText:
    """What a finished generation shares, beam search or sampling: its ids and why it stopped, in words.

    Mixed into :class:`~gpt2lab.generation.loop.GenerationResult` and :class:`~gpt2lab.generation.beam.BeamResult`,
    which hold ``prompt_ids``, ``new_ids`` and ``stop_reason``.
    """

    @property
    def ids(self) -> list[int]:
        """The prompt's ids, then the generated ones."""
        return self.prompt_ids + self.new_ids

    @property
    def stop_explanation(self) -> str:
        """Why generation stopped, as a phrase: "the model wrote <|endoftext|>, ..."."""
        return STOP_REASONS[self.stop_reason]
