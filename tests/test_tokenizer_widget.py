"""The tokenizer explorer's callbacks, called the way ipywidgets calls them: by setting values."""

import ipywidgets as widgets
import pytest
from transformers import GPT2TokenizerFast

from gpt2lab.tokenizer.bpe_training import train_bpe
from gpt2lab.errors import LabError
from gpt2lab.tokenizer.bpe import BPETokenizer, gpt2_tokenizer
from gpt2lab.widgets.tokenizer_widget import BPETrainingExplorer, TokenizerExplorer, as_bpe_tokenizer, word_label


@pytest.fixture(scope="module")
def gpt2():
    return gpt2_tokenizer()


@pytest.fixture
def explorer(gpt2):
    return TokenizerExplorer(gpt2, text="Hello world")


def test_starts_with_chips_and_the_busiest_word(explorer):
    assert "2 tokens" in explorer.summary.value
    assert explorer.chips.value.count('title="id ') == 2
    assert [label for label, _ in explorer.word.options] == ["0: Hello", "1: ·world"]
    assert explorer.message.value == ""
    piece = explorer.selected_piece()
    assert len(piece.merges) == max(len(p.merges) for p in explorer.work.pieces)
    assert explorer.step.max == len(piece.merges) and explorer.step.value == 0


def test_typing_updates_chips_and_words(explorer, gpt2):
    explorer.text.value = "naïve 😀"
    assert explorer.work.ids == gpt2.encode("naïve 😀")
    assert explorer.chips.value.count('title="id ') == len(gpt2.encode("naïve 😀"))
    assert "dashed" in explorer.chips.value  # the emoji is split into byte pieces
    assert len(explorer.word.options) == len(explorer.work.pieces)


def test_stepping_through_merges(explorer):
    explorer.word.value = 1  # " world"
    piece = explorer.selected_piece()
    assert piece.text == " world" and explorer.step.max == len(piece.merges) > 0
    assert explorer.merges.value.count("<tr>") == 2  # header and start row
    explorer.step.value = 1
    assert explorer.merges.value.count("<tr>") == 3
    assert f"rank {piece.merges[0].rank}" in explorer.merges.value
    explorer.step.value = explorer.step.max
    assert "no neighbouring pair left" in explorer.merges.value


def test_show_toggle_changes_the_chip_faces(explorer):
    explorer.show.value = "printable"
    assert "Ġworld" in explorer.chips.value
    explorer.show.value = "bytes"
    assert "20 77 6F 72 6C 64" in explorer.chips.value
    explorer.show.value = "text"
    assert "</span>world</span>" in explorer.chips.value  # a grey · for the space, then the word


def test_too_long_text_shows_one_sentence_and_stays_usable(explorer):
    before = explorer.chips.value
    explorer.text.value = "x" * (explorer.max_chars + 1)
    assert "please shorten it" in explorer.message.value and 'role="alert"' in explorer.message.value
    assert explorer.chips.value == "" != before  # the sentence replaces the view
    explorer.text.value = "ok again"
    assert explorer.message.value == "" and "2 tokens" in explorer.summary.value


def test_empty_text_and_single_token_words(explorer):
    explorer.text.value = ""
    assert "0 tokens" in explorer.summary.value and "no tokens" in explorer.chips.value
    assert explorer.word.options == () and explorer.merges.value == ""
    explorer.text.value = "a"
    assert explorer.step.max == 0 and explorer.step.disabled


def test_special_token_in_text(explorer):
    explorer.text.value = "end<|endoftext|>start"
    assert 50256 in explorer.work.ids
    assert "#333333" in explorer.chips.value  # the special token's dark chip


def test_accepts_a_hugging_face_tokenizer(gpt2):
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent / "gpt2lab" / "assets" / "gpt2_tokenizer"
    hf = GPT2TokenizerFast.from_pretrained(folder)
    assert as_bpe_tokenizer(hf).vocab == gpt2.vocab
    assert isinstance(as_bpe_tokenizer(gpt2), BPETokenizer)
    with pytest.raises(LabError):
        as_bpe_tokenizer("gpt2")


def test_uses_only_core_keyboard_reachable_widgets(explorer):
    core = (widgets.Textarea, widgets.ToggleButtons, widgets.HTML, widgets.Dropdown, widgets.IntSlider,
            widgets.VBox, widgets.HBox)

    def walk(widget):
        yield widget
        for child in getattr(widget, "children", ()):
            yield from walk(child)

    assert all(isinstance(w, core) for w in walk(explorer.view))
    assert "application/vnd.jupyter.widget-view+json" in explorer._repr_mimebundle_()
    assert word_label(3, " a\n") == "3: ·a↵"


PARAGRAPH = ("It is a truth universally acknowledged, that a single man in possession of a good fortune, "
             "must be in want of a wife.")


def test_training_explorer_adds_merges_one_by_one():
    trainer = BPETrainingExplorer(PARAGRAPH, num_merges=12)
    n_bytes = len(PARAGRAPH.encode())
    assert trainer.step.max == len(trainer.run.merges) == 12 and trainer.step.value == 0
    assert f"{n_bytes} tokens" in trainer.summary.value  # no merges yet: one token per byte
    counts = []
    for k in range(trainer.step.max + 1):
        trainer.step.value = k
        counts.append(len(trainer.run.tokenizer_after(k).encode(PARAGRAPH)))
        assert f"{counts[-1]} tokens" in trainer.summary.value
        assert trainer.table.value.count("<tr>") == k + 1  # header + k merges
    assert counts == sorted(counts, reverse=True) and counts[-1] < n_bytes


def test_training_explorer_errors_keep_the_last_run():
    trainer = BPETrainingExplorer(PARAGRAPH, num_merges=5)
    trainer.step.value = 3
    trainer.text.value = ""
    assert "Type some text" in trainer.message.value and trainer.run.text == PARAGRAPH
    trainer.text.value = "x" * (trainer.max_chars + 1)
    assert "please shorten it" in trainer.message.value
    trainer.text.value = "the cat and the hat and the bat"
    assert trainer.message.value == "" and trainer.step.value == 0 and trainer.step.max > 0


def test_tokenizer_after_checks_its_range():
    run = train_bpe(PARAGRAPH, 5)
    assert len(run.tokenizer_after(0)) == 257 and len(run.tokenizer_after(5)) == len(run.tokenizer)
    with pytest.raises(LabError):
        run.tokenizer_after(6)
