"""GPT-2's own byte-level BPE, truncated to its first N merges, for the small embedded model.

GPT-2's ids 0..255 are the 256 byte tokens and id ``256 + r`` is the token made by merge rank ``r``.
Keeping only the first N merges therefore keeps a *prefix* of GPT-2's ids: every token the small
tokenizer has carries the same id as in GPT-2, so a learner can compare the two side by side.
``<|endoftext|>`` moves from 50256 to the new last id, ``256 + N``.

BPE with fewer merges stays a valid BPE: a word whose full GPT-2 token needs a later merge simply
stays split into earlier, shorter tokens. Example (N = 7,935, vocabulary 8,192)::

    >>> tok = write_truncated_tokenizer(folder, 7935)           # doctest: +SKIP
    >>> tok(" world<|endoftext|>").input_ids, len(tok)          # doctest: +SKIP
    ([995, 8191], 8192)              # " world" is 995 in GPT-2 too; "Hello" (15496) is split: H|ell|o
"""

from __future__ import annotations

import json
from pathlib import Path

from transformers import GPT2TokenizerFast

from gpt2lab.tokenizer.bpe import END_OF_TEXT
from gpt2lab.loading import GPT2_TOKENIZER_PATH

GPT2_FOLDER = GPT2_TOKENIZER_PATH
N_BYTES = 256  # GPT-2 ids 0..255 are the single bytes


def truncated_vocab_and_merges(n_merges: int, gpt2_folder: Path = GPT2_FOLDER) -> tuple[dict[str, int], list[str]]:
    """GPT-2's vocab restricted to ids < 256 + n_merges (+ ``<|endoftext|>`` = 256 + n_merges), and its first merges."""
    vocab = json.loads((gpt2_folder / "vocab.json").read_text(encoding="utf-8"))
    lines = (gpt2_folder / "merges.txt").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("#version")
    small = {token: i for token, i in vocab.items() if i < N_BYTES + n_merges}
    assert len(small) == N_BYTES + n_merges  # ids are dense, so a prefix is a prefix
    small[END_OF_TEXT] = N_BYTES + n_merges
    return small, lines[1 : 1 + n_merges]


def write_truncated_tokenizer(folder: Path, n_merges: int, gpt2_folder: Path = GPT2_FOLDER) -> GPT2TokenizerFast:
    """Write vocab.json, merges.txt, tokenizer.json, tokenizer_config.json into ``folder``; return the tokenizer."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab, merges = truncated_vocab_and_merges(n_merges, gpt2_folder)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (folder / "merges.txt").write_text("\n".join(["#version: 0.2"] + merges) + "\n", encoding="utf-8")
    # from_pretrained, not GPT2TokenizerFast(vocab_file=...): the latter silently builds an empty tokenizer
    tokenizer = GPT2TokenizerFast.from_pretrained(folder)
    assert len(tokenizer) == N_BYTES + n_merges + 1
    assert tokenizer.eos_token_id == N_BYTES + n_merges
    tokenizer.save_pretrained(folder)
    return tokenizer
