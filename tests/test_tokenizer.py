"""gpt2lab's own byte-level BPE gives the same ids as GPT2TokenizerFast and tiktoken, and round-trips."""

import doctest
import json
from pathlib import Path

import pytest
from data.tokenizer_corpus import CORPUS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transformers import GPT2TokenizerFast

import gpt2lab.tokenizer.bpe_training
import gpt2lab.exercises.tokenization
import gpt2lab.tokenizer.bpe
import gpt2lab.viz.token_chips
from gpt2lab.tokenizer.bpe_training import count_pairs, train_bpe
from gpt2lab.errors import LabError
from gpt2lab.tokenizer.bpe import (
    END_OF_TEXT,
    BPETokenizer,
    bytes_of_printable,
    bytes_to_unicode,
    describe_bytes,
    gpt2_tokenizer,
    pretokenize,
    printable_form,
    read_merges,
)
from gpt2lab.viz import token_chips

ROOT = Path(__file__).resolve().parent.parent
GPT2_FOLDER = ROOT / "gpt2lab" / "assets" / "gpt2_tokenizer"
TINY_FOLDER = ROOT / "gpt2lab" / "assets" / "tiny"
TIKTOKEN_FILE = ROOT / "tests" / "data" / "gpt2.tiktoken"

# cases the shared corpus has few of: odd whitespace, long words, code, scripts, emoji sequences
EXTRA = [
    "x" * 3000,
    "supercalifragilisticexpialidocious" * 20,
    "Pneumonoultramicroscopicsilicovolcanoconiosis",
    "a" * 257 + " " + "ab" * 300,
    " " * 100 + "word" + "\n" * 50,
    "\t\t\t\n\n\t  \t\n",
    "\r\n\r\n\r",
    "nbsp\u00a0here and\u00a0\u00a0there",
    "em\u2003space, ideographic\u3000space, thin\u2009space, nnbsp\u202f",
    "vertical\x0btab and form\x0cfeed, file\x1cseparator, next\x85line",
    "line\u2028separator\u2029paragraph",
    "zero\u200bwidth, joiner\u200d, bom\ufeffhere, mongolian\u180evs",
    "nul\x00byte and bell\x07 and escape\x1b[0m",
    "e\u0301 combining acute, n\u0303, a\u0308\u0304",
    "ﬁ ﬂ ligatures, ǅ titlecase, ʰ modifier, ª ordinal",
    "👨\u200d👩\u200d👧\u200d👦 family, 🇫🇷🇯🇵 flags, 👍🏽 skin tone, ❤️ heart",
    "Ⅻ roman, ² superscript, ½ fraction, ① circled, ١٢٣ arabic digits, ५ devanagari",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟘𝟙𝟚 math letters",
    "I’m curly, you’re curly, it‘s odd",
    "I'M LOUD, YOU'RE LOUD, IT'S, WE'VE, THEY'LL, HE'D",
    "don't won't can't shan't y'all 'tis o'clock",
    "'s's's're're 've've",
    "x's y'd z'll",
    "def add(a, b):\n    return a + b\n\nprint(add(1, 2))  # 3\n",
    "for (int i = 0; i < n; ++i) { sum += a[i]; }",
    "if x != None and y >= 10 or z <= -3: pass",
    "<div class=\"chip\">&lt;token&gt;</div>",
    "{\"ids\": [15496, 995], \"ok\": true, \"pi\": 3.14}",
    "SELECT * FROM tokens WHERE id = 50256;",
    "https://example.com/path?q=byte+pair&lang=en#merges",
    "user.name+tag@example.co.uk",
    "$ pip install gpt2lab && pytest -q",
    "3.14159265358979323846264338327950288419716939937510",
    "1,234,567.89 -42 +7 1e-10 0x1F 0b1010 007",
    "12:30pm 2026/11/23 v1.2.3 #1 No.5",
    "Ελληνικά, Русский, עברית, العربية, हिन्दी, বাংলা, தமிழ், ქართული, Հայերեն",
    "日本語とEnglishの混在テキスト123",
    "中文，标点。“引号”！",
    "한국어와 English 섞기",
    "Tiếng Việt có dấu: người, được, những",
    "Straße ß ẞ İstanbul ı",
    "<|endoftext|>",
    "Hello<|endoftext|>world",
    "a <|endoftext|> b <|endoftext|>",
    "<|endoftext|><|endoftext|><|endoftext|>",
    "<|endoftext|> <|endoftext|>\n<|endoftext|>",
    "<<|endoftext|>>",
    "<|endoftext|<|endoftext|>|>",
    "    leading four",
    "trailing four    ",
    " ",
    "",
]
ALL_TEXTS = CORPUS + EXTRA

GPT2_PATTERN_TIKTOKEN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

# hypothesis: any Unicode text except lone surrogates (which are not valid UTF-8 text) ...
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
# ... and text built from the pieces where tokenizers tend to go wrong
FRAGMENTS = ["'s", "'re", "'ve", "'m", "'ll", "'d", "'t", "'", " ", "  ", "\n", "\t", "\r\n", "\u00a0", "a", "the",
             " the", "Hello", "é", "日本", "😀", "👍🏽", "12", "3.5", "!", "?!", "<|endoftext|>", "<|", "|>", "def", "(x)"]
fragment_text = st.lists(st.sampled_from(FRAGMENTS), max_size=25).map("".join)
HYPOTHESIS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------------------------------------------
# fixtures: a small tokenizer trained here, GPT-2's real one, and the embedded model's


@pytest.fixture(scope="module")
def small_folder(tmp_path_factory):
    """A 1,000-token byte-level BPE trained with Hugging Face `tokenizers`, saved in GPT-2's format."""
    from tokenizers import ByteLevelBPETokenizer

    trainer = ByteLevelBPETokenizer()
    trainer.train_from_iterator(ALL_TEXTS * 3, vocab_size=1000, min_frequency=2,
                                special_tokens=[END_OF_TEXT], show_progress=False)
    folder = tmp_path_factory.mktemp("small_bpe")
    trainer.save_model(str(folder))
    return folder


@pytest.fixture(scope="module")
def small_pair(small_folder):
    hf = GPT2TokenizerFast.from_pretrained(small_folder)
    assert len(hf) > 300  # transformers 5 builds an empty tokenizer silently when misused
    return BPETokenizer.from_folder(small_folder), hf


@pytest.fixture(scope="module")
def gpt2():
    return gpt2_tokenizer()


@pytest.fixture(scope="module")
def gpt2_hf():
    hf = GPT2TokenizerFast.from_pretrained(GPT2_FOLDER)
    assert len(hf) == 50257
    return hf


@pytest.fixture(scope="module")
def tiktoken_gpt2():
    tiktoken = pytest.importorskip("tiktoken")
    from tiktoken.load import load_tiktoken_bpe

    ranks = load_tiktoken_bpe(str(TIKTOKEN_FILE))
    return tiktoken.Encoding("gpt2-offline", pat_str=GPT2_PATTERN_TIKTOKEN, mergeable_ranks=ranks,
                             special_tokens={END_OF_TEXT: 50256})


# ---------------------------------------------------------------------------------------------------
# the pieces


@pytest.mark.parametrize("module", [gpt2lab.tokenizer.bpe, gpt2lab.tokenizer.bpe_training, gpt2lab.viz.token_chips,
                                    gpt2lab.exercises.tokenization])
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.failed == 0


def test_byte_table_is_printable_and_reversible():
    table = bytes_to_unicode()
    assert len(table) == 256 and len(set(table.values())) == 256
    assert all(char.isprintable() and not char.isspace() for char in table.values())
    assert (table[32], table[10], table[9]) == ("Ġ", "Ċ", "ĉ")
    data = bytes(range(256))
    assert bytes_of_printable(printable_form(data)) == data


def test_pretokenize_keeps_the_space_in_front():
    assert pretokenize("Hello world") == ["Hello", " world"]
    assert pretokenize("a   b") == ["a", "  ", " b"]
    assert pretokenize("they're here's") == ["they", "'re", " here", "'s"]
    assert pretokenize("x = 12345") == ["x", " =", " 12345"]
    assert pretokenize("end  ") == ["end", "  "]
    assert "".join(pretokenize("any\n\ttext, at all 😀")) == "any\n\ttext, at all 😀"


def test_read_merges_keeps_hash_merges():
    assert read_merges("#version: 0.2\n# #\nĠ #\n") == [("#", "#"), ("Ġ", "#")]


def test_known_gpt2_ids(gpt2):
    assert len(gpt2) == 50257 and len(gpt2.merges) == 50000
    assert gpt2.encode("Hello world") == [15496, 995]
    assert gpt2.encode(END_OF_TEXT) == [50256]
    assert gpt2.decode([15496, 995, 50256]) == "Hello world<|endoftext|>"


# ---------------------------------------------------------------------------------------------------
# parity: same ids as Hugging Face and tiktoken, on the corpus and on generated text


def test_corpus_is_big_and_varied():
    assert len(ALL_TEXTS) >= 200
    joined = "".join(ALL_TEXTS)
    for needle in ("é", "😀", "日本", "  ", "\n\n", "\t", "'s", "'re", "'ve", "def ", "123", END_OF_TEXT):
        assert needle in joined


def test_small_tokenizer_matches_hf_on_corpus(small_pair):
    ours, hf = small_pair
    mismatches = [t for t in ALL_TEXTS if ours.encode(t) != hf(t)["input_ids"]]
    assert mismatches == []


def test_gpt2_matches_hf_on_corpus(gpt2, gpt2_hf):
    mismatches = [t for t in ALL_TEXTS if gpt2.encode(t) != gpt2_hf(t)["input_ids"]]
    assert mismatches == []


def test_gpt2_matches_tiktoken_on_corpus(gpt2, tiktoken_gpt2):
    mismatches = [t for t in ALL_TEXTS if gpt2.encode(t) != tiktoken_gpt2.encode(t, allowed_special="all")]
    assert mismatches == []
    ordinary = [t for t in ALL_TEXTS if gpt2.encode(t, allow_special=False) != tiktoken_gpt2.encode_ordinary(t)]
    assert ordinary == []


def test_round_trip_on_corpus(gpt2, small_pair):
    for tok in (gpt2, small_pair[0]):
        assert [t for t in ALL_TEXTS if tok.decode(tok.encode(t)) != t] == []
        assert [t for t in ALL_TEXTS if tok.decode(tok.encode(t, allow_special=False)) != t] == []


def _assert_parity(gpt2, gpt2_hf, tiktoken_gpt2, small_pair, text):
    ids = gpt2.encode(text)
    assert ids == gpt2_hf(text)["input_ids"]
    assert ids == tiktoken_gpt2.encode(text, allowed_special="all")
    assert gpt2.decode(ids) == text
    ours, hf = small_pair
    small_ids = ours.encode(text)
    assert small_ids == hf(text)["input_ids"]
    assert ours.decode(small_ids) == text


@HYPOTHESIS
@given(text=any_text)
def test_any_unicode_text_matches_hf_and_tiktoken(gpt2, gpt2_hf, tiktoken_gpt2, small_pair, text):
    _assert_parity(gpt2, gpt2_hf, tiktoken_gpt2, small_pair, text)


@HYPOTHESIS
@given(text=st.one_of(any_text, fragment_text))
def test_generated_text_matches_hf_on_the_embedded_model(tiny_pair, text):
    ours, hf = tiny_pair
    ids = ours.encode(text)
    assert ids == hf(text)["input_ids"]
    assert ours.decode(ids) == text


@HYPOTHESIS
@given(text=fragment_text)
def test_tricky_fragments_match_hf_and_tiktoken(gpt2, gpt2_hf, tiktoken_gpt2, small_pair, text):
    _assert_parity(gpt2, gpt2_hf, tiktoken_gpt2, small_pair, text)


@pytest.fixture(scope="module")
def truncated_pair(gpt2, tmp_path_factory):
    """Like the embedded model's tokenizer: GPT-2's first 8,000 merges, <|endoftext|> as the last id."""
    merges = gpt2.merges[:8000]
    vocab = {char: i for i, char in enumerate(bytes_to_unicode().values())}
    for a, b in merges:
        vocab[a + b] = len(vocab)
    vocab[END_OF_TEXT] = len(vocab)
    folder = tmp_path_factory.mktemp("gpt2_first_8k")
    BPETokenizer(vocab, merges).save(folder)
    hf = GPT2TokenizerFast.from_pretrained(folder)
    assert len(hf) == 256 + 8000 + 1
    return BPETokenizer.from_folder(folder), hf


@HYPOTHESIS
@given(text=st.one_of(any_text, fragment_text))
def test_truncated_gpt2_matches_hf(truncated_pair, text):
    ours, hf = truncated_pair
    ids = ours.encode(text)
    assert ids == hf(text)["input_ids"]
    assert ours.decode(ids) == text


def test_truncated_gpt2_matches_hf_on_corpus(truncated_pair):
    ours, hf = truncated_pair
    assert ours.encode(END_OF_TEXT) == [len(ours) - 1]
    assert [t for t in ALL_TEXTS if ours.encode(t) != hf(t)["input_ids"]] == []


@pytest.fixture(scope="module")
def tiny_pair():
    if not (TINY_FOLDER / "vocab.json").exists() and not (TINY_FOLDER / "tokenizer.json").exists():
        pytest.skip("the embedded model's tokenizer is not in gpt2lab/assets/tiny yet")
    hf = GPT2TokenizerFast.from_pretrained(TINY_FOLDER)
    assert len(hf) > 1
    return BPETokenizer.from_folder(TINY_FOLDER), hf


def test_embedded_model_tokenizer_matches_hf(tiny_pair, gpt2):
    ours, hf = tiny_pair
    assert ours.encode(END_OF_TEXT) == [hf.convert_tokens_to_ids(END_OF_TEXT)] == [len(ours) - 1]
    assert ours.merges == gpt2.merges[: len(ours.merges)]  # GPT-2's first merges, in GPT-2's order
    assert BPETokenizer.from_hf(hf).merges == ours.merges
    assert [t for t in ALL_TEXTS if ours.encode(t) != hf(t)["input_ids"]] == []
    assert [t for t in ALL_TEXTS if ours.decode(ours.encode(t)) != t] == []


# ---------------------------------------------------------------------------------------------------
# building from a loaded Hugging Face tokenizer, and saving


def test_from_hf_equals_from_folder(gpt2, gpt2_hf, small_pair):
    from_hf = BPETokenizer.from_hf(gpt2_hf)
    assert from_hf.vocab == gpt2.vocab and from_hf.merges == gpt2.merges
    assert from_hf.special_tokens == {END_OF_TEXT: 50256}
    ours, hf = small_pair
    small_from_hf = BPETokenizer.from_hf(hf)
    assert small_from_hf.vocab == ours.vocab and small_from_hf.merges == ours.merges


def test_from_folder_reads_save_pretrained_output(small_pair, tmp_path):
    # transformers 5's save_pretrained writes tokenizer.json, not vocab.json/merges.txt
    ours, hf = small_pair
    hf.save_pretrained(tmp_path)
    reloaded = BPETokenizer.from_folder(tmp_path)
    assert reloaded.vocab == ours.vocab and reloaded.merges == ours.merges


def test_save_writes_what_gpt2_tokenizer_fast_reads(small_pair, tmp_path):
    ours, _ = small_pair
    ours.save(tmp_path)
    hf = GPT2TokenizerFast.from_pretrained(tmp_path)
    assert len(hf) == len(ours)
    assert [t for t in ALL_TEXTS[:80] if ours.encode(t) != hf(t)["input_ids"]] == []


def test_learner_errors_are_lab_errors(gpt2, tmp_path):
    with pytest.raises(LabError, match="str"):
        gpt2.encode(b"bytes")
    with pytest.raises(LabError, match="not in this vocabulary"):
        gpt2.decode([50257])
    with pytest.raises(LabError, match="vocab.json"):
        BPETokenizer.from_folder(tmp_path)


# ---------------------------------------------------------------------------------------------------
# show your work


def test_show_work_agrees_with_encode(gpt2):
    for text in ALL_TEXTS:
        work = gpt2.encode_and_show_work(text)
        assert work.ids == gpt2.encode(text)
        assert b"".join(t.bytes for t in work.tokens) == text.encode("utf-8")
        for piece in work.pieces:
            if piece.is_special:
                continue
            assert "".join(piece.start_symbols) == printable_form(piece.bytes)
            assert [s.rank for s in piece.merges] == sorted(s.rank for s in piece.merges)  # learned order
            final = piece.merges[-1].symbols if piece.merges else piece.start_symbols
            assert tuple(t.printable for t in piece.tokens) == final


def test_show_work_of_one_word(gpt2):
    (piece,) = gpt2.encode_and_show_work(" Hello").pieces
    assert piece.start_symbols == ("Ġ", "H", "e", "l", "l", "o")
    assert [(m.pair, m.result) for m in piece.merges][:2] == [(("l", "l"), "ll"), (("Ġ", "H"), "ĠH")]
    assert piece.merges[-1].symbols == ("ĠHello",)
    assert [(t.id, t.label, t.is_partial) for t in piece.tokens] == [(18435, " Hello", False)]


def test_pieces_of_characters_are_marked_not_garbled(gpt2):
    work = gpt2.encode_and_show_work("a😀 日本")
    labels = [t.label for t in work.tokens]
    assert labels[:3] == ["a", "[😀 1-3/4]", "[😀 4/4]"]
    assert all("\ufffd" not in t.label for t in work.tokens)
    assert [t.is_partial for t in work.tokens] == [False, True, True] + [True] * (len(labels) - 3)
    # tokens alone (for example, generated ones) are marked too
    views = gpt2.token_views(gpt2.encode("😀"))
    assert [v.is_partial for v in views] == [True, True] and views[0].label == "[😀 1-3/4]"
    lone = gpt2.token_views(gpt2.encode("😀")[:1])
    assert lone[0].is_partial and "\\xf0" in lone[0].label
    # decoding a cut character gives U+FFFD, as Hugging Face does
    assert gpt2.decode(gpt2.encode("😀")[:1]) == "\ufffd"


def test_describe_bytes_spans():
    data = "€a".encode()  # E2 82 AC 61
    assert describe_bytes(data, 0, 4) == ("€a", False)
    assert describe_bytes(data, 1, 4) == ("[€ 2-3/3]a", True)


def test_special_token_is_one_piece(gpt2):
    work = gpt2.encode_and_show_work(" a<|endoftext|>b")
    assert [p.text for p in work.pieces] == [" a", END_OF_TEXT, "b"]
    assert work.pieces[1].is_special and work.pieces[1].ids == [50256]
    ordinary = gpt2.encode_and_show_work(" a<|endoftext|>b", allow_special=False)
    assert not any(p.is_special for p in ordinary.pieces) and 50256 not in ordinary.ids


def test_cost_counts_characters_bytes_tokens(gpt2):
    cost = gpt2.cost("héllo 😀")
    assert (cost.characters, cost.bytes, cost.tokens) == (7, 11, len(gpt2.encode("héllo 😀")))
    assert gpt2.cost("").characters_per_token == 0.0


# ---------------------------------------------------------------------------------------------------
# the trainer


def test_trainer_learns_the_most_frequent_pair_first():
    run = train_bpe("low lower lowest", num_merges=10)
    assert [m.result for m in run.merges[:3]] == ["lo", "low", "Ġlow"]
    assert run.merges[0].examples == ("low", " lower", " lowest")
    counts = [m.count for m in run.merges]
    assert counts == sorted(counts, reverse=True)
    assert count_pairs({("a", "a", "a"): 1}) == {("a", "a"): 2}


def test_trained_tokenizer_is_real_gpt2_format(gpt2, tmp_path):
    text = " ".join(CORPUS[:60])
    run = train_bpe(text, num_merges=80)
    tok = run.tokenizer
    assert len(run.merges) == 80 and len(tok) == 256 + 80 + 1
    assert all(tok.vocab[c] == gpt2.vocab[c] for c in bytes_to_unicode().values())  # same first 256 ids
    assert tok.encode(END_OF_TEXT) == [len(tok) - 1]
    assert len(tok.encode(text)) < len(text.encode("utf-8"))  # merges compress the text they came from
    tok.save(tmp_path)
    hf = GPT2TokenizerFast.from_pretrained(tmp_path)
    assert [t for t in ALL_TEXTS if tok.encode(t) != hf(t)["input_ids"]] == []
    assert json.loads((tmp_path / "vocab.json").read_text(encoding="utf-8")) == tok.vocab


def test_trainer_errors():
    with pytest.raises(LabError):
        train_bpe("", 5)
    with pytest.raises(LabError):
        train_bpe("text", -1)
    assert train_bpe("ab", 10).merges == ()  # no pair occurs twice: nothing worth learning


# ---------------------------------------------------------------------------------------------------
# the HTML views


def _assert_self_contained(html: str):
    lowered = html.lower()
    for forbidden in ("<script", "http://", "https://", "<link", "@import", "javascript:"):
        assert forbidden not in lowered


def test_chips_are_self_contained_and_escaped(gpt2):
    work = gpt2.encode_and_show_work("<b>bold</b> 😀 <|endoftext|>\n\tend")
    html = token_chips.token_chips_html(work).data
    _assert_self_contained(html)
    assert "<b>" not in html and "</b>" not in html  # the text's tags are shown, not obeyed
    assert "&lt;/" in html and "&lt;|endoftext|&gt;" in html
    assert html.count('title="id ') == len(work.ids)
    assert html.count("dashed") == sum(t.is_partial for t in work.tokens)
    assert "↵" in html and "⇥" in html and "·" in html
    # the space inside "[😀 1-3/4]" is part of the notation, not a space token: not drawn as ·
    assert "&nbsp;1-3/4</span>]" in html and "·</span>1-3/4" not in html
    for show in ("printable", "bytes"):
        _assert_self_contained(token_chips.token_chips_html(work.tokens, show=show).data)
    assert "no tokens" in token_chips.token_chips_html([]).data


def test_other_views_are_self_contained(gpt2):
    work = gpt2.encode_and_show_work("Hello, wörld 😀!")
    run = train_bpe(" ".join(CORPUS[:20]), 15)
    views = [
        token_chips.show_work_html(work),
        token_chips.merge_steps_html(work.pieces[0]),
        token_chips.merge_steps_html(work.pieces[0], upto=1),
        token_chips.byte_table_html(),
        token_chips.learned_merges_html(run),
        token_chips.learned_merges_html(run, upto=3),
        token_chips.token_cost_html([gpt2.cost(t) for t in CORPUS[:10]]),
    ]
    for view in views:
        _assert_self_contained(view.data)
    full, first = views[1].data, views[2].data
    assert full.count("<tr>") == len(work.pieces[0].merges) + 3  # header, start, steps, ids
    assert first.count("<tr>") == 3  # header, start, one step


# ---------------------------------------------------------------------------------------------------
# exercise checkers


def test_exercise_checkers(gpt2):
    ex = gpt2lab.exercises.tokenization
    assert not ex.check_space_inside_token(None).answered
    assert ex.check_space_inside_token("elephant", gpt2)
    assert not ex.check_space_inside_token("hello", gpt2)
    assert not ex.check_space_inside_token("two words", gpt2)
    assert ex.check_first_merge(("e", "r"), tokenizer=gpt2)
    assert not ex.check_first_merge(("Ġ", "s"), tokenizer=gpt2)
    assert "Ġ" in ex.check_first_merge((" ", "s"), tokenizer=gpt2).message
    assert ex.check_expensive_text("🫠🫠🫠🫠", gpt2)
    assert not ex.check_expensive_text("hello", gpt2)
    assert not ex.check_expensive_text("🫠" * 11, gpt2)
    assert not ex.check_expensive_text(42, gpt2).passed
    assert "Not answered" in ex.check_expensive_text(None)._repr_html_()


def test_the_byte_table_cannot_be_changed_by_a_caller():
    """A learner's ``table[32] = "_"`` must not silently change every later encoding in the kernel."""
    from gpt2lab.tokenizer.bpe import bytes_to_unicode, unicode_to_bytes

    for table, key, value in ((bytes_to_unicode(), 32, "_"), (unicode_to_bytes(), "Ġ", 95)):
        with pytest.raises(TypeError):
            table[key] = value
    assert gpt2_tokenizer().encode(" a") == [257]


@pytest.mark.parametrize("model", ["tiny", "random"])
def test_lab_encode_and_decode_are_the_kits_own_bpe_and_equal_hugging_faces(model):
    from helpers import RANDOM_SHAPES, random_lab

    lab = gpt2lab.load("tiny") if model == "tiny" else random_lab(RANDOM_SHAPES[3])
    assert type(lab.bpe).__name__ == "BPETokenizer"
    for text in CORPUS[:120] + ["a<|endoftext|>b", "  two  spaces\n\n", "😀 emoji and 日本語"]:
        ids = lab.encode(text)
        assert ids == lab.tokenizer.encode(text), text
        assert lab.decode(ids) == lab.tokenizer.decode(ids), text
