"""The shipped GPT-2 tokenizer files (recovered from OpenAI's ranks) encode exactly like tiktoken."""

from pathlib import Path

import pytest

from data.tokenizer_corpus import CORPUS

tiktoken = pytest.importorskip("tiktoken")
from tiktoken.load import load_tiktoken_bpe  # noqa: E402
from transformers import GPT2TokenizerFast  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "gpt2lab" / "assets" / "gpt2_tokenizer"
# GPT-2's pre-tokenizer regex, as in tiktoken_ext/openai_public.py
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


@pytest.fixture(scope="module")
def reference():
    ranks = load_tiktoken_bpe(str(ROOT / "tests" / "data" / "gpt2.tiktoken"))
    return tiktoken.Encoding("gpt2-local", pat_str=GPT2_PATTERN, mergeable_ranks=ranks, special_tokens={"<|endoftext|>": 50256})


@pytest.fixture(scope="module")
def shipped():
    tok = GPT2TokenizerFast.from_pretrained(FOLDER)
    assert len(tok) == 50257
    return tok


def test_corpus_is_varied():
    assert len(CORPUS) >= 200


def test_same_ids_as_tiktoken(reference, shipped):
    mismatches = [s for s in CORPUS if shipped(s)["input_ids"] != reference.encode(s, allowed_special="all")]
    assert mismatches == []


def test_round_trip(shipped):
    for s in CORPUS:
        assert shipped.decode(shipped(s)["input_ids"]) == s


def test_known_ids(shipped):
    # "Hello world" is [15496, 995] in GPT-2; the end-of-text token is 50256
    assert shipped("Hello world<|endoftext|>")["input_ids"] == [15496, 995, 50256]
