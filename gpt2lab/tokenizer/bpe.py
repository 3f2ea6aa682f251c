"""Stage 1: how GPT-2 turns text into token ids, and back.

GPT-2 reads bytes, not words. Four steps turn a text into ids:

1. **Split** the text into pre-tokens with a regular expression (:data:`GPT2_PATTERN`):
   ``"Hello world!"`` -> ``["Hello", " world", "!"]``. A leading space stays *inside* the next word.
2. **Bytes**: each pre-token becomes its UTF-8 bytes: ``" world"`` -> ``[32, 119, 111, 114, 108, 100]``.
3. **Printable form**: each byte is shown as one printable character (:func:`bytes_to_unicode`), so the
   space (byte 32) becomes ``"Ġ"`` and the newline (byte 10) ``"Ċ"``: ``" world"`` -> ``Ġ w o r l d``.
4. **Merges**: the pair of neighbours with the best (lowest) rank in ``merges.txt`` is joined, again
   and again, until no neighbouring pair has a rank: ``Ġ w o r l d`` -> ... -> ``Ġworld``. Each final
   symbol is looked up in ``vocab.json`` to get its id.

Decoding runs backwards: ids -> printable symbols -> bytes -> UTF-8 text. Because every byte has a
token, any text can be encoded: there is no "unknown" token.

This is the algorithm of OpenAI's ``encoder.py`` (GPT-2, 2019), written to be read. It reads the same
``vocab.json`` and ``merges.txt`` as Hugging Face's ``GPT2TokenizerFast``, and gives the same ids.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType

import regex  # the `re` module has no \p{L} (any letter) or \p{N} (any digit); `regex` does

from gpt2lab.errors import LabError

# GPT-2's pre-tokenization pattern, from OpenAI's encoder.py. Read it as alternatives, tried in order:
#   's 't 're 've 'm 'll 'd   English contractions split off: "it's" -> "it", "'s"
#   ' ?\p{L}+'                 a run of letters, with at most one space in front: " world"
#   ' ?\p{N}+'                 a run of digits, with at most one space in front: " 2019"
#   ' ?[^\s\p{L}\p{N}]+'       a run of other symbols (punctuation, emoji ...): " :-)"
#   '\s+(?!\S)'                spaces not followed by a non-space, so the *last* space of a run is left
#                              to join the next word: "a   b" -> "a", "  ", " b"
#   '\s+'                      any remaining whitespace (at the end of the text)
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

END_OF_TEXT = "<|endoftext|>"  # GPT-2's only special token: it separates documents during training

_PRE_TOKEN_RE = regex.compile(GPT2_PATTERN)


# ---------------------------------------------------------------------------------------------------
# bytes <-> printable characters


@lru_cache(maxsize=1)  # built once; read-only, so no caller can change what every later encoding sees
def bytes_to_unicode() -> Mapping[int, str]:
    """Map each of the 256 byte values to one printable character, as GPT-2 does (a read-only mapping).

    Bytes that are already printable and not a space keep their own character; the 68 others (control
    bytes, the space, ...) are moved to the characters from U+0100 on, in order. So ``vocab.json`` and
    ``merges.txt`` never contain a space or an invisible character, and a pair is written ``"Ġ t"``.

    >>> table = bytes_to_unicode()
    >>> table[ord("A")], table[ord(" ")], table[ord("\\n")], table[0]
    ('A', 'Ġ', 'Ċ', 'Ā')

    (``0`` is the first byte moved, to U+0100 ``Ā``; the space is the 33rd, to U+0100 + 32 = ``Ġ``.)
    """
    printable = (
        list(range(ord("!"), ord("~") + 1))  # ! .. ~
        + list(range(ord("¡"), ord("¬") + 1))  # ¡ .. ¬
        + list(range(ord("®"), ord("ÿ") + 1))  # ® .. ÿ (skips the soft hyphen U+00AD)
    )
    table = {b: chr(b) for b in printable}
    moved = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + moved)
            moved += 1
    return MappingProxyType(table)


@lru_cache(maxsize=1)
def unicode_to_bytes() -> Mapping[str, int]:
    """The inverse of :func:`bytes_to_unicode`, read-only too: ``{"Ġ": 32, "A": 65, ...}``."""
    return MappingProxyType({char: b for b, char in bytes_to_unicode().items()})


def printable_form(data: bytes) -> str:
    """Write bytes in GPT-2's printable form: ``printable_form(" hi\\n".encode()) == "ĠhiĊ"``."""
    table = bytes_to_unicode()
    return "".join(table[b] for b in data)


def bytes_of_printable(symbols: str) -> bytes:
    """Turn GPT-2's printable form back into bytes: ``bytes_of_printable("ĠhiĊ") == b" hi\\n"``."""
    table = unicode_to_bytes()
    return bytes(table[char] for char in symbols)


# ---------------------------------------------------------------------------------------------------
# pre-tokens and merges


def pretokenize(text: str) -> list[str]:
    """Split text into GPT-2's pre-tokens; merges never cross their borders.

    >>> pretokenize("It's 2019,  ok?")
    ['It', "'s", ' 2019', ',', ' ', ' ok', '?']

    The two spaces before "ok" split: the last one joins the word, the first stands alone.
    """
    return _PRE_TOKEN_RE.findall(text)


def merge_pair(symbols: list[str], pair: tuple[str, str]) -> list[str]:
    """Join every neighbouring occurrence of ``pair``, scanning left to right.

    >>> merge_pair(["a", "a", "a", "b"], ("a", "a"))
    ['aa', 'a', 'b']
    """
    merged, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
            merged.append(symbols[i] + symbols[i + 1])
            i += 2
        else:
            merged.append(symbols[i])
            i += 1
    return merged


@dataclass(frozen=True)
class MergeStep:
    """One merge applied to a pre-token: which pair, its rank in merges.txt, and what came out."""

    pair: tuple[str, str]  # the two neighbours joined, in printable form: ("Ġ", "w")
    rank: int  # its line in merges.txt, counting from 0: lower ranks were learned earlier, merge first
    result: str  # the joined symbol: "Ġw"
    symbols: tuple[str, ...]  # all symbols of the pre-token after this step: ("Ġw", "o", "r", "l", "d")


def bpe_merge_steps(symbols: list[str], ranks: dict[tuple[str, str], int]) -> list[MergeStep]:
    """Merge by rank until no neighbouring pair has one, and return every step.

    Each step joins the neighbouring pair with the lowest rank (everywhere it occurs).

    >>> ranks = {("l", "o"): 0, ("lo", "w"): 1, ("e", "r"): 2}
    >>> [(s.pair, s.rank, s.result) for s in bpe_merge_steps(list("lower"), ranks)]
    [(('l', 'o'), 0, 'lo'), (('lo', 'w'), 1, 'low'), (('e', 'r'), 2, 'er')]
    """
    steps: list[MergeStep] = []
    while len(symbols) > 1:
        pairs = set(zip(symbols, symbols[1:]))
        best = min(pairs, key=lambda pair: ranks.get(pair, float("inf")))
        if best not in ranks:
            break  # no neighbouring pair was ever learned: these are the final tokens
        symbols = merge_pair(symbols, best)
        steps.append(MergeStep(best, ranks[best], best[0] + best[1], tuple(symbols)))
    return steps


# ---------------------------------------------------------------------------------------------------
# "show your work" records


@dataclass(frozen=True)
class TokenView:
    """One final token, as a learner should see it."""

    id: int
    printable: str  # as in vocab.json: "Ġworld"
    bytes: bytes  # b" world"
    label: str  # readable text: " world"; a piece of a character is written "[😀 1-2/4]"
    is_partial: bool  # True when the token holds only some of the bytes of a character (emoji, CJK)


@dataclass(frozen=True)
class PreTokenWork:
    """Everything that happens to one pre-token, or to one special token (which skips the merges)."""

    text: str  # " world"
    bytes: bytes  # b" world"
    start_symbols: tuple[str, ...]  # one printable character per byte: ("Ġ", "w", "o", "r", "l", "d")
    merges: tuple[MergeStep, ...]  # the merges applied, in order
    tokens: tuple[TokenView, ...]  # the final tokens
    is_special: bool = False  # True for <|endoftext|>: looked up whole, never split

    @property
    def ids(self) -> list[int]:
        return [token.id for token in self.tokens]


@dataclass(frozen=True)
class EncodingWork:
    """The whole path from a text to its ids, one pre-token at a time."""

    text: str
    pieces: tuple[PreTokenWork, ...]

    @property
    def tokens(self) -> list[TokenView]:
        return [token for piece in self.pieces for token in piece.tokens]

    @property
    def ids(self) -> list[int]:
        return [token.id for token in self.tokens]


def utf8_length(lead: int) -> int:
    """How many bytes a UTF-8 character takes, read off its first byte (0: not a first byte).

    >>> utf8_length(ord("a")), utf8_length(0xE2), utf8_length(0xF0), utf8_length(0x80)   # a, the first of €'s 3, 😀's 4
    (1, 3, 4, 0)
    """
    if lead < 0x80:
        return 1  # ASCII
    if 0xC2 <= lead <= 0xDF:
        return 2
    if 0xE0 <= lead <= 0xEF:
        return 3
    if 0xF0 <= lead <= 0xF4:
        return 4
    return 0  # a continuation byte (0x80-0xBF) or a byte UTF-8 never uses


def utf8_characters(data: bytes) -> list[tuple[str, int, int]]:
    """Split bytes into UTF-8 characters with their byte spans; a byte that is not valid UTF-8 stands
    alone, written ``\\xNN``.

    >>> utf8_characters("a€".encode())   # "€" takes 3 bytes: E2 82 AC
    [('a', 0, 1), ('€', 1, 4)]
    """
    characters, offset = [], 0
    while offset < len(data):
        lead = data[offset]
        size = utf8_length(lead)
        try:  # a valid lead byte still needs valid continuation bytes after it
            char = chr(lead) if size == 1 else data[offset : offset + size].decode("utf-8") if size else None
        except UnicodeDecodeError:
            char = None
        if char is None:
            char, size = f"\\x{lead:02x}", 1
        characters.append((char, offset, offset + size))
        offset += size
    return characters


def describe_bytes(data: bytes, start: int, end: int) -> tuple[str, bool]:
    """Say in readable text what ``data[start:end]`` holds, marking pieces of a character.

    Returns the label and whether any character was cut. A character cut by a token border is written
    ``[char i-j/n]``: bytes i to j (counting from 1) of its n bytes.

    >>> describe_bytes("a😀".encode(), 0, 3)   # "a" is 1 byte, "😀" is 4: F0 9F 98 80
    ('a[😀 1-2/4]', True)
    >>> describe_bytes("😀".encode(), 3, 4)
    ('[😀 4/4]', True)
    >>> describe_bytes(" hé".encode(), 0, 4)
    (' hé', False)
    """
    return describe_spans(data, [(start, end)])[0]


def describe_spans(data: bytes, spans: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """:func:`describe_bytes` for consecutive spans of one byte string (the tokens of a text, in order).

    The characters of ``data`` are found once and walked alongside the spans, so labelling n tokens
    costs time in proportion to n, not n squared.

    >>> describe_spans("a😀".encode(), [(0, 3), (3, 5)])
    [('a[😀 1-2/4]', True), ('[😀 3-4/4]', True)]
    """
    characters = utf8_characters(data)
    described, first = [], 0
    for start, end in spans:
        while first < len(characters) and characters[first][2] <= start:
            first += 1  # characters wholly before this span: no later span needs them either
        parts, cut, i = [], False, first
        while i < len(characters) and characters[i][1] < end:
            char, char_start, char_end = characters[i]
            invalid = char.startswith("\\x")  # a lone byte of a character cut before the data begins or ends
            if start <= char_start and char_end <= end:
                parts.append(char)
                cut = cut or invalid
            else:
                cut = True
                first_byte, last_byte = max(start, char_start) - char_start + 1, min(end, char_end) - char_start
                span = f"{first_byte}" if first_byte == last_byte else f"{first_byte}-{last_byte}"
                parts.append(f"[{char} {span}/{char_end - char_start}]")
            i += 1
        described.append(("".join(parts), cut))
    return described


@dataclass(frozen=True)
class TokenCost:
    """How much a text costs: models read (and APIs bill) tokens, not characters."""

    text: str
    characters: int  # len(text): what a person counts
    bytes: int  # UTF-8 bytes: what the tokenizer starts from ("é" is 2, "😀" is 4)
    tokens: int  # what the model reads

    @property
    def characters_per_token(self) -> float:
        return self.characters / self.tokens if self.tokens else 0.0


# ---------------------------------------------------------------------------------------------------
# the tokenizer


class BPETokenizer:
    """GPT-2's byte-level BPE: ``vocab`` maps printable token strings to ids, ``merges`` are ranked pairs.

    >>> tok = gpt2_tokenizer()
    >>> tok.encode("Hello world")
    [15496, 995]
    >>> tok.decode([15496, 995])
    'Hello world'
    """

    def __init__(
        self,
        vocab: dict[str, int],
        merges: list[tuple[str, str]],
        special_tokens: dict[str, int] | None = None,
    ):
        if special_tokens is None:  # GPT-2 format: <|endoftext|> is in vocab.json
            special_tokens = {END_OF_TEXT: vocab[END_OF_TEXT]} if END_OF_TEXT in vocab else {}
        self.vocab = dict(vocab)  # "Ġworld" -> 995
        self.merges = list(merges)  # [("Ġ", "t"), ("Ġ", "a"), ...], best first
        self.ranks = {pair: rank for rank, pair in enumerate(self.merges)}  # ("Ġ", "t") -> 0
        self.special_tokens = dict(special_tokens)  # "<|endoftext|>" -> 50256
        self.vocab.update(self.special_tokens)
        self.id_to_token = {i: token for token, i in self.vocab.items()}
        # split around special tokens first; longest first so one special token never hides another
        names = sorted(self.special_tokens, key=len, reverse=True)
        self._special_re = regex.compile("(" + "|".join(map(regex.escape, names)) + ")") if names else None
        self._cache: dict[str, list[str]] = {}  # pre-token -> final symbols: words repeat a lot

    # -- building ----------------------------------------------------------------------------------

    @classmethod
    def from_folder(cls, folder: str | Path) -> BPETokenizer:
        """Read ``vocab.json`` and ``merges.txt`` from a folder (the files GPT2TokenizerFast reads)."""
        folder = Path(folder)
        vocab_path, merges_path = folder / "vocab.json", folder / "merges.txt"
        if vocab_path.is_file() and merges_path.is_file():
            vocab = json.loads(vocab_path.read_text(encoding="utf-8"))
            return cls(vocab, read_merges(merges_path.read_text(encoding="utf-8")))
        # transformers 5's save_pretrained writes only tokenizer.json, which holds the same two lists
        if (folder / "tokenizer.json").is_file():
            return cls.from_tokenizer_json(json.loads((folder / "tokenizer.json").read_text(encoding="utf-8")))
        raise LabError(f"The folder {folder} needs vocab.json and merges.txt (or a tokenizer.json).")

    @classmethod
    def from_hf(cls, hf_tokenizer) -> BPETokenizer:
        """Build from a loaded Hugging Face ``GPT2TokenizerFast`` (for example ``lab.tokenizer``).

        transformers 5 keeps no path to ``vocab.json``; the vocabulary and merges live in the Rust
        tokenizer, whose JSON form has them under ``"model"``.
        """
        return cls.from_tokenizer_json(json.loads(hf_tokenizer.backend_tokenizer.to_str()))

    @classmethod
    def from_tokenizer_json(cls, state: dict) -> BPETokenizer:
        """Build from the contents of a Hugging Face ``tokenizer.json`` (already parsed)."""
        model = state["model"]
        if model.get("type") != "BPE":
            raise LabError(f"This tokenizer is {model.get('type')}, not the byte-level BPE of GPT-2.")
        # merges are stored as ["Ġ", "t"] pairs (tokenizers >= 0.20) or as "Ġ t" strings (older)
        merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ", 1)) for m in model["merges"]]
        specials = {t["content"]: t["id"] for t in state.get("added_tokens", []) if t.get("special")}
        return cls(model["vocab"], merges, specials)

    def save(self, folder: str | Path) -> None:
        """Write ``vocab.json`` and ``merges.txt`` in GPT-2's format, readable by GPT2TokenizerFast."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "vocab.json").write_text(json.dumps(self.vocab, ensure_ascii=False), encoding="utf-8")
        lines = ["#version: 0.2"] + [f"{a} {b}" for a, b in self.merges]
        (folder / "merges.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def __len__(self) -> int:
        return len(self.vocab)

    def __repr__(self) -> str:
        return f"BPETokenizer({len(self)} tokens, {len(self.merges)} merges)"

    # -- encoding ----------------------------------------------------------------------------------

    def split_special(self, text: str, allow_special: bool = True) -> list[str]:
        """Cut text around special tokens: ``"a<|endoftext|>b"`` -> ``["a", "<|endoftext|>", "b"]``."""
        if not allow_special or self._special_re is None:
            return [text] if text else []
        return [part for part in self._special_re.split(text) if part]

    def bpe(self, pre_token: str) -> list[str]:
        """The final symbols of one pre-token: ``bpe(" world") == ["Ġworld"]`` with GPT-2's merges."""
        if pre_token not in self._cache:
            symbols = list(printable_form(pre_token.encode("utf-8")))
            steps = bpe_merge_steps(symbols, self.ranks)
            self._cache[pre_token] = list(steps[-1].symbols) if steps else symbols
        return self._cache[pre_token]

    def encode(self, text: str, allow_special: bool = True) -> list[int]:
        """Text -> ids. With ``allow_special=False``, ``<|endoftext|>`` is read as ordinary text.

        >>> tok = gpt2_tokenizer()
        >>> tok.encode("a<|endoftext|>b"), tok.encode("a<|endoftext|>b", allow_special=False)
        ([64, 50256, 65], [64, 27, 91, 437, 1659, 5239, 91, 29, 65])
        """
        if not isinstance(text, str):
            raise LabError(f"Tokenizers read text (a str), not {type(text).__name__}.")
        ids = []
        for part in self.split_special(text, allow_special):
            if allow_special and part in self.special_tokens:
                ids.append(self.special_tokens[part])
                continue
            for pre_token in pretokenize(part):
                ids.extend(self.vocab[symbol] for symbol in self.bpe(pre_token))
        return ids

    def encode_and_show_work(self, text: str, allow_special: bool = True) -> EncodingWork:
        """Like :meth:`encode`, but keep every intermediate step (see :class:`EncodingWork`)."""
        if not isinstance(text, str):
            raise LabError(f"Tokenizers read text (a str), not {type(text).__name__}.")
        pieces = []
        for part in self.split_special(text, allow_special):
            if allow_special and part in self.special_tokens:
                data = part.encode("utf-8")
                token = TokenView(self.special_tokens[part], part, data, part, False)
                pieces.append(PreTokenWork(part, data, (part,), (), (token,), is_special=True))
                continue
            for pre_token in pretokenize(part):
                pieces.append(self._show_pre_token(pre_token))
        return EncodingWork(text, tuple(pieces))

    def _show_pre_token(self, pre_token: str) -> PreTokenWork:
        data = pre_token.encode("utf-8")
        start_symbols = list(printable_form(data))
        steps = bpe_merge_steps(start_symbols, self.ranks)
        final = steps[-1].symbols if steps else tuple(start_symbols)
        ends = list(itertools.accumulate(len(symbol) for symbol in final))  # one printable character per byte
        spans = list(zip([0] + ends[:-1], ends))
        tokens = [TokenView(self.vocab[symbol], symbol, data[start:end], label, cut)
                  for symbol, (start, end), (label, cut) in zip(final, spans, describe_spans(data, spans))]
        return PreTokenWork(pre_token, data, tuple(start_symbols), tuple(steps), tuple(tokens))

    def cost(self, text: str) -> TokenCost:
        """Count characters, bytes and tokens: ``gpt2_tokenizer().cost("héllo")`` has 5, 6 and 3."""
        return TokenCost(text, len(text), len(text.encode("utf-8")), len(self.encode(text)))

    # -- decoding ----------------------------------------------------------------------------------

    def token_bytes(self, token_id: int) -> bytes:
        """The bytes one id stands for: ``token_bytes(995) == b" world"`` in GPT-2."""
        if token_id not in self.id_to_token:
            raise LabError(f"Token id {token_id} is not in this vocabulary (ids go from 0 to {len(self) - 1}).")
        token = self.id_to_token[token_id]
        if token in self.special_tokens:
            return token.encode("utf-8")
        return bytes_of_printable(token)

    def decode(self, ids: list[int]) -> str:
        """Ids -> text. Bytes are joined *before* UTF-8 decoding, since one character may span tokens;
        an incomplete character at the end becomes U+FFFD (as in GPT2TokenizerFast)."""
        data = b"".join(self.token_bytes(int(i)) for i in ids)
        return data.decode("utf-8", errors="replace")

    def token_views(self, ids: list[int]) -> list[TokenView]:
        """Readable views of arbitrary ids (for example, generated ones); cut characters are marked."""
        pieces = [self.token_bytes(int(i)) for i in ids]
        ends = list(itertools.accumulate(len(piece) for piece in pieces))
        spans = list(zip([0] + ends[:-1], ends))
        return [TokenView(int(token_id), self.id_to_token[int(token_id)], piece, label, cut)
                for token_id, piece, (label, cut) in zip(ids, pieces, describe_spans(b"".join(pieces), spans))]


def read_merges(merges_txt: str) -> list[tuple[str, str]]:
    """Parse ``merges.txt``: an optional ``#version`` line, then one ``"left right"`` pair per line.

    >>> read_merges("#version: 0.2\\nĠ t\\nh e\\n")
    [('Ġ', 't'), ('h', 'e')]
    """
    lines = merges_txt.split("\n")
    if lines and lines[0].startswith("#version"):
        lines = lines[1:]  # only the first line: "# #" is a real merge later in GPT-2's file
    return [tuple(line.split(" ")) for line in lines if line.strip()]


def gpt2_tokenizer() -> BPETokenizer:
    """GPT-2's real tokenizer (50,257 tokens), read from the copy shipped with gpt2lab: no network."""
    folder = resources.files("gpt2lab") / "assets" / "gpt2_tokenizer"
    with resources.as_file(folder) as path:
        return BPETokenizer.from_folder(path)
