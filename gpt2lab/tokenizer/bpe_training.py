"""Where a vocabulary comes from: learning byte-level BPE merges from text.

Training starts from the 256 byte tokens and repeats one step: count every pair of neighbouring symbols
in the text, and turn the most frequent pair into a new token. The order in which pairs are learned is
their *rank*, the order in which :mod:`gpt2lab.tokenizer.bpe` applies them later.

For example, in ``"low lower lowest"`` (pre-tokens ``low``, `` lower``, `` lowest``) the pairs
``l o`` and ``o w`` occur three times each; ``l o`` comes first in the text, so merge 0 is
``l o -> lo``, and merge 1 is ``lo w -> low``.

GPT-2's 50,000 merges were learned this way from about 40 GB of web text (OpenAI did not publish the
trainer). This one is small and slow on purpose: it is written to be read on a paragraph.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from gpt2lab.errors import LabError
from gpt2lab.inputs import check_whole_number
from gpt2lab.tokenizer.bpe import END_OF_TEXT, BPETokenizer, bytes_to_unicode, merge_pair, pretokenize, printable_form, unicode_to_bytes


@dataclass(frozen=True)
class LearnedMerge:
    """One step of training: the pair that became a new token."""

    rank: int  # the step it was learned at: 0 is the first (and most frequent) merge
    pair: tuple[str, str]  # the two symbols joined, in GPT-2's printable form: ("Ġ", "t")
    result: str  # the new token: "Ġt"
    count: int  # how often the pair occurred in the text when it was chosen
    examples: tuple[str, ...]  # a few pre-tokens that contained the pair, as text: (" the", " that")


@dataclass(frozen=True)
class TrainingRun:
    """What :func:`train_bpe` learned, step by step, and the tokenizer it makes."""

    text: str
    merges: tuple[LearnedMerge, ...]
    tokenizer: BPETokenizer  # 256 byte tokens + one token per merge + <|endoftext|>

    def tokenizer_after(self, n_merges: int) -> BPETokenizer:
        """The tokenizer as it was after the first ``n_merges`` merges (0: bytes only)."""
        if not 0 <= n_merges <= len(self.merges):
            raise LabError(f"This run learned {len(self.merges)} merges; ask for 0 to {len(self.merges)}.")
        return _tokenizer_from_merges([m.pair for m in self.merges[:n_merges]])


def count_words(text: str) -> dict[tuple[str, ...], int]:
    """Count pre-tokens, each written as a tuple of one printable symbol per byte.

    >>> count_words("ab ab")
    {('a', 'b'): 1, ('Ġ', 'a', 'b'): 1}
    """
    # merges never cross pre-token borders, so equal pre-tokens can be counted once and weighted
    counts = Counter(tuple(printable_form(word.encode("utf-8"))) for word in pretokenize(text))
    return dict(counts)


def count_pairs(words: dict[tuple[str, ...], int]) -> Counter:
    """Count neighbouring pairs, each word weighted by how often it occurs.

    >>> count_pairs({("l", "o", "w"): 2, ("l", "o"): 1})
    Counter({('l', 'o'): 3, ('o', 'w'): 2})
    """
    pairs: Counter = Counter()
    for word, count in words.items():
        for pair in zip(word, word[1:]):
            pairs[pair] += count
    return pairs


def train_bpe(text: str, num_merges: int, min_count: int = 2) -> TrainingRun:
    """Learn up to ``num_merges`` merges from ``text``; stop early when no pair occurs ``min_count`` times.

    Ties go to the pair seen first in the text, so a run can be followed by hand.

    >>> run = train_bpe("low lower lowest", num_merges=3)
    >>> [(m.pair, m.result, m.count) for m in run.merges]
    [(('l', 'o'), 'lo', 3), (('lo', 'w'), 'low', 3), (('Ġ', 'low'), 'Ġlow', 2)]
    >>> [run.tokenizer.id_to_token[i] for i in run.tokenizer.encode(" lowest")]
    ['Ġlow', 'e', 's', 't']
    """
    if not isinstance(text, str) or not text:
        raise LabError("Give train_bpe some text to learn from (a non-empty str).")
    num_merges = check_whole_number(num_merges, "num_merges", minimum=0)
    words = count_words(text)
    learned: list[LearnedMerge] = []
    for rank in range(num_merges):
        pairs = count_pairs(words)
        if not pairs:
            break  # every pre-token is a single token already
        # max() keeps the first of equal counts; dicts and Counters keep first-seen order
        pair, count = max(pairs.items(), key=lambda item: item[1])
        if count < min_count:
            break
        examples = tuple(_word_text(w) for w in words if pair in zip(w, w[1:]))[:3]
        learned.append(LearnedMerge(rank, pair, pair[0] + pair[1], count, examples))
        words = {tuple(merge_pair(list(w), pair)): c for w, c in words.items()}
    return TrainingRun(text, tuple(learned), _tokenizer_from_merges([m.pair for m in learned]))


def _word_text(symbols: tuple[str, ...]) -> str:
    table = unicode_to_bytes()
    return bytes(table[c] for symbol in symbols for c in symbol).decode("utf-8", errors="replace")


def _tokenizer_from_merges(merges: list[tuple[str, str]]) -> BPETokenizer:
    # ids 0-255 are the bytes in the order of bytes_to_unicode(): the same first 256 ids as GPT-2's
    vocab = {char: i for i, char in enumerate(bytes_to_unicode().values())}
    for a, b in merges:
        vocab[a + b] = len(vocab)
    vocab[END_OF_TEXT] = len(vocab)  # last, as in GPT-2
    return BPETokenizer(vocab, merges)
