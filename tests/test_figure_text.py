"""Every figure of the kit is legible where it is shown: a notebook at a projector's 1280x800.

For each figure function, drawn in the default, presenter and compact modes:
  * it is no wider than the notebook's output (gpt2lab.viz.presenter.PAGE_WIDTH_PX), so the browser shows
    it at its own size and never shrinks its text;
  * every piece of text is at least the mode's smallest size once drawn: font size in points x dpi / 72
    (12 px; presenter 18 px), at the scale the notebook shows it (1, since it fits);
  * every title, axis label and tick label lies inside the figure (nothing runs off an edge).
"""

from __future__ import annotations

import math

import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

import gpt2lab
from gpt2lab.viz.presenter import MODES, PAGE_WIDTH_PX

NOTEBOOK_OUTPUT_PX = 848  # measured: a JupyterLab output at 1280x800 with the file browser open


@pytest.fixture(scope="module")
def tiny():
    return gpt2lab.load("tiny")


@pytest.fixture(autouse=True)
def back_to_default():
    yield
    gpt2lab.set_display_mode("default")


def figure_makers(lab):
    """(name, a function drawing one figure): every figure function of gpt2lab.viz, on the embedded model."""
    from gpt2lab.analysis.attribution import direct_logit_attribution
    from gpt2lab.analysis.head_scores import head_scores
    from gpt2lab.analysis.logit_lens import logit_lens
    from gpt2lab.analysis.model_sizes import family_sizes
    from gpt2lab.analysis.patching import patch_residual
    from gpt2lab.analysis.residual_stream import residual_contributions, residual_stream
    from gpt2lab.analysis.unmasked_attention import unmasked_pattern
    from gpt2lab.generation.loop import generate
    from gpt2lab.generation.sampling import LAB_SETTINGS, compare_settings, last_position_logits
    from gpt2lab.model.layernorm import layer_norm_steps
    from gpt2lab.training.history import LossHistory
    from gpt2lab.viz import attention_plots as ap
    from gpt2lab.viz import attribution_plots as atp
    from gpt2lab.viz import block_plots as bp
    from gpt2lab.viz import embedding_plots as ep
    from gpt2lab.viz import finetune_plots as fp
    from gpt2lab.viz.decoding_tree import decoding_paths, decoding_tree_chart
    from gpt2lab.viz.lens_views import logit_lens_heatmap
    from gpt2lab.viz.pipeline import pipeline_figure
    from gpt2lab.viz.sampling_plots import comparison_chart, context_attention_chart, distribution_chart
    from gpt2lab.viz.size_plots import parameter_breakdown_plot

    short = lab.trace("The cat sat on the mat.")  # few tokens: every cell carries its number
    long = lab.trace("She looked at her sister, and her sister looked back at her, and then at the door again.")
    clean = "When Mary and John went to the store, John gave a drink to"
    step = generate(lab, "Emma Woodhouse, handsome, clever, and rich,", 3, temperature=0.8, top_k=40).steps[-1]
    history = LossHistory(total_steps=40, steps=list(range(1, 41)), train_losses=[5 - i / 20 for i in range(40)],
                          eval_steps=[0, 20, 40], eval_losses=[5.0, 4.2, 3.9])
    block = lab.weights.blocks[0]
    return [
        ("pipeline", lambda: pipeline_figure("attention", lab)),
        ("pattern (annotated)", lambda: ap.pattern_heatmap(short["attn.pattern", 0][1], short.tokens)),
        ("pattern", lambda: ap.pattern_heatmap(long["attn.pattern", 0][1], long.tokens, title="layer 0, head 1")),
        ("mask steps (annotated)", lambda: ap.mask_steps(short["attn.scores", 0][1], short["attn.pattern", 0][1], short.tokens)),
        ("mask steps", lambda: ap.mask_steps(long["attn.scores", 0][1], long["attn.pattern", 0][1], long.tokens,
                                             title="layer 0, head 1: from scores to pattern")),
        ("head grid", lambda: ap.head_grid(long["attn.pattern", 1], long.tokens)),
        ("query row", lambda: ap.query_row_bars(long["attn.pattern", 0][1], 5, long.tokens)),
        ("q, k, v", lambda: ap.qkv_vectors(long["attn.q", 0][1, 4], long["attn.k", 0][1, 4], long["attn.v", 0][1, 4], long.tokens[4])),
        ("masked vs unmasked", lambda: ap.masked_vs_unmasked(long["attn.pattern", 0][1], unmasked_pattern(long["attn.scores", 0])[1],
                                                             long.tokens, title="layer 0, head 1")),
        ("head scores", lambda: ap.head_scores_heatmap(head_scores(lab, "The cat sat on the mat.", repeat_length=10))),
        ("attribution bars", lambda: atp.attribution_bars(direct_logit_attribution(lab, lab.trace(clean), -1, 5))),
        ("head attribution", lambda: atp.head_attribution_heatmap(direct_logit_attribution(lab, lab.trace(clean), -1, 5))),
        ("patching", lambda: atp.patching_heatmap(patch_residual(lab, clean, clean.replace("John gave", "Mary gave"), " Mary", " John"))),
        ("residual norms", lambda: bp.residual_norm_plot(residual_stream(long).norms(), residual_stream(long).labels, long.tokens)),
        ("residual sum", lambda: bp.residual_sum_plot(residual_contributions(long).vectors[:, -1].norm(dim=-1),
                                                      residual_contributions(long).running_sum()[:, -1].norm(dim=-1),
                                                      residual_contributions(long).labels, long.tokens[-1])),
        ("layer norm", lambda: bp.layer_norm_plot(layer_norm_steps(long["blocks.0.resid_pre"][3], block.ln1_weight, block.ln1_bias,
                                                                   lab.config.layer_norm_eps), title="ln1 of block 0")),
        ("gelu", lambda: bp.gelu_plot(long["blocks.0.mlp.pre"][3], long["blocks.0.mlp.post"][3])),
        ("position embeddings", lambda: ep.position_embedding_heatmap(lab.weights.position_embedding)),
        ("position similarity", lambda: ep.position_similarity_heatmap(lab.weights.position_embedding, n_positions=128)),
        ("embedding sum", lambda: ep.embedding_sum_plot(long["embed"], long["pos_embed"], long.tokens, position=3)),
        ("logit lens", lambda: logit_lens_heatmap(logit_lens(lab, long, position=-1, top_k=5))),
        ("model sizes", lambda: parameter_breakdown_plot(family_sizes(extra={"tiny": lab.config}))),
        ("model sizes (share)", lambda: parameter_breakdown_plot(family_sizes(extra={"tiny": lab.config}), share=True)),
        ("loss curve", lambda: fp.loss_curve_plot(history, title="Fine-tuning on the ship's log")),
        ("confusion", lambda: fp.confusion_matrix_plot(torch.tensor([[5, 1, 0], [2, 6, 1], [0, 1, 7]]), ["sport", "weather", "politics"])),
        ("state change", lambda: fp.state_change_plot(torch.rand(9), lab.token_strings(lab.encode("The match was called off because of the rain")))),
        ("next token", lambda: distribution_chart(step.probs, step.filtered, lab.token_strings, 15, step.token_id,
                                                  title="Step 3: after 'Emma Woodhouse, handsome, clever, and rich,'")),
        ("five settings", lambda: comparison_chart(compare_settings(last_position_logits(long.logits), LAB_SETTINGS), lab.token_strings)),
        ("context attention", lambda: context_attention_chart(step.attention[-1, 0], step.trace.context_tokens,
                                                              title="Last block, head 0")),
        ("decoding tree", lambda: decoding_tree_chart(decoding_paths(lab, "It is a truth", max_new_tokens=12, num_beams=3, n_samples=3))),
    ]


def legibility_problems(fig, mode) -> list[str]:
    """What a class could not read in this figure, drawn as the notebook shows it (empty: all legible)."""
    FigureCanvasAgg(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    width_px, height_px = fig.bbox.width, fig.bbox.height
    scale = min(1.0, NOTEBOOK_OUTPUT_PX / width_px)  # the browser shrinks a wider image to fit
    problems = []
    hidden_ticks = set()  # tick labels matplotlib keeps but does not draw (outside the axis' range)
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            drawn = {id(label) for tick in axis._update_ticks() for label in (tick.label1, tick.label2)}
            hidden_ticks |= {id(label) for tick in axis.get_major_ticks() + axis.get_minor_ticks()
                             for label in (tick.label1, tick.label2) if id(label) not in drawn}
    if width_px > PAGE_WIDTH_PX + 0.5:
        problems.append(f"{width_px:.0f} px wide, wider than the page's {PAGE_WIDTH_PX} px")
    for text in fig.findobj(match=Text):
        if not text.get_visible() or not text.get_text().strip() or id(text) in hidden_ticks:
            continue
        box = text.get_window_extent(renderer)
        if box.width == 0 or box.x1 < 0 or box.y1 < 0 or box.x0 > width_px or box.y0 > height_px:
            continue  # not drawn in the figure (an unused tick, an empty label)
        px = text.get_fontsize() * fig.dpi / 72 * scale
        if px < mode.min_text_px - 0.01:
            problems.append(f"{text.get_text()[:30]!r} drawn at {px:.1f} px")
        if box.x0 < -1 or box.y0 < -1 or box.x1 > width_px + 1 or box.y1 > height_px + 1:
            problems.append(f"{text.get_text()[:30]!r} runs off the figure ({box.x0:.0f}..{box.x1:.0f} of {width_px:.0f} px)")
    return problems


@pytest.mark.parametrize("mode", ["default", "presenter", "compact"])
def test_every_figure_is_legible_at_1280x800(tiny, mode):
    gpt2lab.set_display_mode(mode)
    failures = {}
    for name, make in figure_makers(tiny):
        problems = legibility_problems(make(), MODES[mode])
        if problems:
            failures[name] = problems[:4]
    assert failures == {}


def test_the_smallest_text_is_computed_as_the_notebook_shows_it(tiny):
    """The check itself: a figure with 7 pt text at 100 dpi (9.7 px) fails, and so does one drawn too wide."""
    from matplotlib.figure import Figure

    small = Figure(figsize=(4, 3), dpi=100)
    small.subplots().set_title("tiny title", fontsize=7)
    assert any("9.7 px" in p for p in legibility_problems(small, MODES["default"]))
    wide = Figure(figsize=(16, 3), dpi=100)  # 1600 px: shown at 848 px, its 12 pt text at 8.8 px
    wide.subplots().set_title("a wide figure", fontsize=12)
    problems = legibility_problems(wide, MODES["default"])
    assert any("wider than the page" in p for p in problems) and any(math.isclose(12 * 100 / 72 * 848 / 1600, 8.83, abs_tol=0.01)
                                                                    and "8.8 px" in p for p in problems)
