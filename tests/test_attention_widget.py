"""The attention explorer, driven the way ipywidgets drives it: by setting control values."""

from __future__ import annotations

import numpy as np
import pytest

from gpt2lab.widgets.attention_explorer import VIEWS, AttentionExplorer

from helpers import random_lab


@pytest.fixture(scope="module")
def lab():
    return random_lab((2, 4, 32, 64, 512), seed=4)


@pytest.fixture
def explorer(lab):
    return AttentionExplorer(lab, "The cat sat on the mat.")


def shown(explorer, axis=0):
    return np.asarray(explorer.figure.axes[axis].images[0].get_array())


def test_starts_on_layer_0_head_0_with_the_last_token_as_query(explorer, lab):
    trace = lab.trace("The cat sat on the mat.")
    assert explorer.trace.tokens == trace.tokens
    assert explorer.query.value == len(trace.tokens) - 1
    assert [label for label, _ in explorer.query.options][1] == "1: ·cat"
    np.testing.assert_array_equal(shown(explorer), trace["blocks.0.attn.pattern"][0].numpy())
    assert explorer.picture.value.startswith('<div role="img" aria-label="Attention pattern of layer 0, head 0')
    assert explorer.picture.value.count("<td") == len(trace.tokens) ** 2  # the view: one cell per weight
    assert explorer.message.value == "" and "gpt2lab" in explorer.view._dom_classes


def test_moving_the_layer_and_head_redraws(explorer):
    before = explorer.picture.value
    explorer.layer.value = 1
    np.testing.assert_array_equal(shown(explorer), explorer.trace["blocks.1.attn.pattern"][0].numpy())
    assert explorer.picture.value != before
    explorer.head.value = 3
    np.testing.assert_array_equal(shown(explorer), explorer.trace["blocks.1.attn.pattern"][3].numpy())
    assert "layer 1, head 3" in explorer.picture.value


def test_every_view_and_the_query_token(explorer):
    pictures = set()
    for _, kind in VIEWS:
        explorer.show.value = kind
        pictures.add(explorer.picture.value)
        assert explorer.message.value == ""
    assert len(pictures) == len(VIEWS)  # each view draws something different
    explorer.show.value = "row"
    explorer.query.value = 2
    bars = [b.get_height() for b in explorer.figure.axes[0].patches]
    np.testing.assert_array_equal(bars, explorer.trace["blocks.0.attn.pattern"][0, 2].numpy())
    assert not explorer.query.disabled and not explorer.head.disabled
    explorer.show.value = "qkv"
    np.testing.assert_array_equal(shown(explorer)[0], explorer.trace["blocks.0.attn.q"][0, 2].numpy())
    explorer.show.value = "grid"
    assert explorer.head.disabled and explorer.query.disabled  # the grid shows every head, whatever the query
    assert len([ax for ax in explorer.figure.axes if ax.images]) == 4


def test_typing_a_new_text_retraces(explorer, lab):
    explorer.query.value = 1
    explorer.text.value = "A dog"
    assert explorer.trace.tokens == lab.trace("A dog").tokens
    assert len(explorer.query.options) == len(explorer.trace.tokens)
    assert explorer.query.value == len(explorer.trace.tokens) - 1
    np.testing.assert_array_equal(shown(explorer), lab.trace("A dog")["blocks.0.attn.pattern"][0].numpy())


def test_learner_errors_show_one_sentence_and_keep_the_last_view(explorer):
    good_picture, good_tokens = explorer.picture.value, explorer.trace.tokens
    explorer.text.value = ""
    assert 'role="alert"' in explorer.message.value and "empty" in explorer.message.value
    assert explorer.picture.value == "" != good_picture and explorer.trace.tokens == good_tokens  # replaced
    explorer.text.value = "the cat " * 40
    assert "at most 48" in explorer.message.value
    explorer.text.value = "The cat"  # and it recovers
    assert explorer.message.value == "" and len(explorer.trace.tokens) == 2
    explorer.layer.value = 1  # still responsive
    np.testing.assert_array_equal(shown(explorer), explorer.trace["blocks.1.attn.pattern"][0].numpy())
