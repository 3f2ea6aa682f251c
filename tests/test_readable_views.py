"""Views that grow with layers x heads pick a readable subset themselves, and say which in one line.

Fast: a narrow random model with gpt2-xl's 48 layers of 25 heads (2 numbers per head) has every shape
these views depend on, and traces in milliseconds; tests/test_course_on_sizes.py runs the same views on
real gpt2-large and gpt2-xl shapes (slow).
"""

from __future__ import annotations

import pytest
import torch

from helpers import random_lab
from gpt2lab.errors import LabError
from gpt2lab.viz import attention_plots as plots
from gpt2lab.viz import bertviz_views as bv
from gpt2lab.viz.readable import MAX_HEADS, first_heads, index_list, shown_line, spread_layers, tick_step

XL_HEADS = (48, 25, 50, 64, 300)  # gpt2-xl's layers and heads, 2 numbers per head
TEXT = "The cat sat on the mat"


@pytest.fixture(scope="module")
def wide():
    lab = random_lab(XL_HEADS)
    return lab, lab.trace(TEXT)


def test_subset_helpers():
    assert spread_layers(12, 40) == list(range(12))
    assert spread_layers(48, 30) == list(range(0, 48, 2)) + [47]
    assert spread_layers(48, 24) == list(range(0, 48, 2))
    assert spread_layers(36, 5) == [0, 8, 16, 24, 32]
    assert first_heads(12) == list(range(12)) and first_heads(25) == list(range(16))
    assert first_heads(25, around=24) == list(range(9, 25)) and first_heads(25, around=3) == list(range(16))
    assert index_list(range(16)) == "0–15" and index_list([0, 2, 4, 6, 7]) == "0, 2, …, 6, 7"
    assert index_list([0, 8, 16, 24, 32]) == "0, 8, …, 32" and index_list([3, 7]) == "3, 7"
    assert shown_line("heads", range(16), 25) == "heads 0–15 of 25" and shown_line("heads", range(12), 12) == "all 12 heads"
    assert (tick_step(24), tick_step(25), tick_step(48)) == (1, 2, 2)


def test_bertviz_picks_the_first_heads_and_every_kth_layer(wide):
    lab, trace = wide
    T = len(trace.tokens)
    chosen = bv.trace_attention(trace)
    assert chosen.heads == list(range(MAX_HEADS))
    assert chosen.layers == spread_layers(48, bv.MAX_WEIGHTS // (MAX_HEADS * T * T))
    assert chosen.layers == list(range(48))  # six tokens: every layer fits
    assert chosen.note.startswith("Showing all 48 layers and heads 0–15 of 25, what a browser draws smoothly")
    few = bv.trace_attention(trace, max_weights=2 * MAX_HEADS * T * T)  # room for two layers
    assert few.layers == [0, 24] and "layers 0, 24 of 48" in few.note
    torch.testing.assert_close(few.attention[1][0], trace["blocks.24.attn.pattern"][:16], atol=1e-4, rtol=0)
    mine = bv.trace_attention(trace, layers=[5], heads=[20, 3])  # a learner's choice is kept, and not noted
    assert (mine.layers, mine.heads, mine.note) == ([5], [3, 20], "")
    with pytest.raises(LabError, match="too many"):
        bv.trace_attention(trace, heads=range(25), layers=range(48), max_weights=10_000)  # chosen: refused, not cut
    small = random_lab((2, 4, 32, 64, 512))
    assert bv.trace_attention(small.trace(TEXT)).note == ""  # a small model is shown whole, as before


def test_head_grid_draws_sixteen_heads_or_the_ones_asked_for(wide):
    lab, trace = wide
    fig = plots.head_grid(trace["blocks.0.attn.pattern"], trace.tokens)
    assert [ax.get_title() for ax in fig.axes if ax.images] == [f"head {h}" for h in range(16)]
    assert fig._suptitle.get_text().endswith("heads 0–15 of 25 (pass heads=[...] to see others)")
    mine = plots.head_grid(trace["blocks.0.attn.pattern"], trace.tokens, heads=[24, 2])
    panels = [ax for ax in mine.axes if ax.images]
    assert [ax.get_title() for ax in panels] == ["head 24", "head 2"]
    assert (panels[0].images[0].get_array() == trace["blocks.0.attn.pattern"][24].numpy()).all()
    with pytest.raises(LabError, match="heads between 0 and 24"):
        plots.head_grid(trace["blocks.0.attn.pattern"], trace.tokens, heads=[25])


def test_layer_by_head_heatmaps_fit_a_screen_and_say_what_is_labelled(wide):
    from gpt2lab.analysis.attribution import direct_logit_attribution
    from gpt2lab.analysis.head_scores import head_scores
    from gpt2lab.viz.attribution_plots import head_attribution_heatmap

    lab, trace = wide
    fig = plots.head_scores_heatmap(head_scores(lab, TEXT, repeat_length=8))
    assert max(fig.get_size_inches()) <= 20
    assert fig._suptitle.get_text() == "all 48 x 25 heads; every 2nd layer labelled; every 2nd head labelled"
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()][:3] == ["0", "2", "4"]
    heat = head_attribution_heatmap(direct_logit_attribution(lab, trace, -1, 7))
    assert heat.axes[0].images[0].get_array().shape == (48, 25) and max(heat.get_size_inches()) <= 20


def test_the_explorers_grid_always_holds_the_chosen_head(wide):
    from gpt2lab.widgets.attention_explorer import AttentionExplorer

    lab, _ = wide
    explorer = AttentionExplorer(lab, TEXT, layer=47, head=24, view="grid")
    titles = [ax.get_title() for ax in explorer.figure.axes if ax.images]
    assert titles == [f"head {h}" for h in range(9, 25)] and explorer.message.value == ""
    assert 'aria-label="Attention patterns of heads 9–24 of layer 47' in explorer.picture.value
    assert "head 9<" in explorer.picture.value and "head 8<" not in explorer.picture.value  # the view on screen too
