"""Every GPT-2 size: the whole course at gpt2-medium's shape, the views that grow with size at gpt2-large's
and gpt2-xl's.

A lecturer with a network may pick any size (``GPT2LAB_MODEL=gpt2-xl``). No machine here can download
them, but their shapes are what matters: random-weight stand-ins with GPT-2's real tokenizer are built on
the fly (tests/standin.py's ``SIZES``), one at a time, and freed.

- Every notebook runs top to bottom at gpt2-medium's shape (24 blocks x 16 heads, 1,024 wide, 355M
  parameters), in strict device mode like every CPU run of the suite.
- At gpt2-large's (36 x 20 x 1,280) and gpt2-xl's (48 x 25 x 1,600) shapes, the views that grow with layers
  x heads run on a real trace of the model, in this process: bertviz's head and model views, the head grid,
  the head-score and attribution heatmaps, the patching grid and the attention explorer. Each must pick a
  readable subset itself, say which in one line, and stay a size a screen can show; fine-tuning plans
  for a 15 GiB GPU must train what fits instead of running out of memory. Running whole notebooks at
  these shapes takes many minutes on a 2-core machine (a gpt2-xl forward reads 6 GB of weights), so those
  runs are benchmark rows (benchmarks/run.py --sizes), not tests.
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
import torch

from standin import SIZES, build_standin_apart, execute_notebook, strict_device_env

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
TEXT = "When Mary and John went to the store, John gave a drink to"
MAX_INCHES = 20  # no figure wider or taller than this: a 1280x800 screen shows about 13 x 8 inches at 100 dpi


@pytest.fixture(scope="session")
def medium_folder(tmp_path_factory):
    return build_standin_apart(tmp_path_factory.mktemp("gpt2-medium-standin") / "model", "gpt2-medium")


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_on_gpt2_medium_shapes(path, medium_folder):
    env = {"GPT2LAB_MODEL": str(medium_folder), **strict_device_env()}
    if torch.cuda.is_available():
        env["GPT2LAB_DEVICE"] = "cuda"
    execute_notebook(path, **env)


def size_lab(size: str):
    """A random-weight GPT-2 of a family size, built in memory (eval mode, eager attention), on the CPU."""
    import gpt2lab
    from gpt2lab.loading import GPT2_TOKENIZER_PATH, load_tokenizer
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(attn_implementation="eager", **SIZES[size])).eval()
    return gpt2lab.Lab(model, load_tokenizer(GPT2_TOKENIZER_PATH, 50257), name=f"{size} stand-in")


@pytest.fixture(scope="module", params=["gpt2-large", "gpt2-xl"])
def big(request):
    """(lab, trace) at one large size; the next size is built only after this one is freed."""
    lab = size_lab(request.param)
    c = lab.config
    assert (c.n_layer, c.n_head, c.d_model) == {"gpt2-large": (36, 20, 1280), "gpt2-xl": (48, 25, 1600)}[request.param]
    with torch.no_grad():
        yield lab, lab.trace(TEXT)
    del lab
    gc.collect()


def inches(fig) -> tuple[float, float]:
    width, height = fig.get_size_inches()
    return float(width), float(height)


@pytest.mark.slow
def test_bertviz_views_pick_a_readable_subset_and_say_so(big):
    import re

    from gpt2lab.viz import bertviz_views as bv
    from gpt2lab.viz.readable import MAX_HEADS

    lab, trace = big
    L, H, T = lab.config.n_layer, lab.config.n_head, len(trace.tokens)
    chosen = bv.trace_attention(trace)
    assert chosen.heads == list(range(MAX_HEADS))
    assert len(chosen.layers) * len(chosen.heads) * T * T <= bv.MAX_WEIGHTS
    assert chosen.layers[0] == 0 and chosen.layers == sorted(set(chosen.layers)) and chosen.layers[-1] < L
    assert f"of {L} and heads 0–15 of {H}" in chosen.note and chosen.note.count("\n") == 0
    for view in (bv.head_view, bv.model_view):  # the notebook's own calls, unchanged at every size
        html = view(trace, scripts="cdn").data
        assert f"of {L} and heads 0–15 of {H}" in html
    steps = {b - a for a, b in zip(chosen.layers, chosen.layers[1:-1])}
    assert len(steps) <= 1 and re.search(r"layers 0, \d+, …", chosen.note)  # every k-th layer
    explicit = bv.trace_attention(trace, layers=[0, L - 1], heads=[0, 1])  # notebook 03's model_view call
    assert explicit.layers == [0, L - 1] and explicit.note == ""


@pytest.mark.slow
def test_head_grid_and_explorer_show_at_most_sixteen_heads(big):
    from gpt2lab.viz import attention_plots as plots
    from gpt2lab.widgets.attention_explorer import AttentionExplorer

    lab, trace = big
    H = lab.config.n_head
    fig = plots.head_grid(trace["blocks.0.attn.pattern"], trace.tokens)
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in panels] == [f"head {h}" for h in range(16)]
    assert f"heads 0–15 of {H}" in fig._suptitle.get_text() and max(inches(fig)) <= MAX_INCHES
    explorer = AttentionExplorer(lab, TEXT, layer=lab.config.n_layer - 1, head=H - 1, view="grid")
    L = lab.config.n_layer
    assert explorer.message.value == "" and explorer.picture.value.startswith('<div role="img"')  # an HTML view
    assert f'aria-label="Attention patterns of heads {H - 16}–{H - 1} of layer {L - 1}' in explorer.picture.value
    assert f"head {H - 16}<" in explorer.picture.value and f"head {H - 17}<" not in explorer.picture.value
    titles = [ax.get_title() for ax in explorer.figure.axes if ax.images]  # the figure a Save button writes
    assert len(titles) == 16 and titles[-1] == f"head {H - 1}"  # the chosen head is always among them
    plt_close(fig, explorer.figure)


@pytest.mark.slow
def test_head_scores_and_attribution_heatmaps_show_every_head_in_a_screen(big):
    from gpt2lab.analysis.attribution import direct_logit_attribution
    from gpt2lab.analysis.head_scores import head_scores
    from gpt2lab.analysis.patching import PatchingResult
    from gpt2lab.viz.attention_plots import head_scores_heatmap
    from gpt2lab.viz.attribution_plots import head_attribution_heatmap, patching_heatmap

    lab, trace = big
    L, H = lab.config.n_layer, lab.config.n_head
    scores = head_scores(lab, TEXT, repeat_length=20)
    fig = head_scores_heatmap(scores)
    assert all(ax.images[0].get_array().shape == (L, H) for ax in fig.axes if ax.images)
    assert max(inches(fig)) <= MAX_INCHES and f"all {L} x {H} heads; every 2nd layer labelled" in fig._suptitle.get_text()
    attribution = direct_logit_attribution(lab, trace, -1, int(trace.logits[-1].argmax()))
    heat = head_attribution_heatmap(attribution)
    assert heat.axes[0].images[0].get_array().shape == (L, H) and max(inches(heat)) <= MAX_INCHES
    assert f"all {L} x {H} heads" in heat.axes[0].get_title()
    T = len(trace.tokens)
    grid = PatchingResult(recovered=torch.rand(L + 1, T), rows=[f"row {i}" for i in range(L + 1)],
                          stages=[""] * (L + 1), clean_tokens=trace.tokens, corrupted_tokens=trace.tokens,
                          answer=" Mary", wrong=" John", clean_diff=1.0, corrupted_diff=0.0, patched_diff=torch.zeros(L + 1, T))
    patch = patching_heatmap(grid)
    assert max(inches(patch)) <= MAX_INCHES and f"all {L + 1} rows" in patch.axes[0].get_title()
    plt_close(fig, heat, patch)


@pytest.mark.slow
def test_fine_tuning_plans_for_a_15_gib_gpu_and_reports_memory(big):
    from gpt2lab.analysis.model_sizes import FREE_SHARE, gib
    from gpt2lab.training.finetune import FineTuneConfig, finetune_plan

    lab, trace = big
    weights = 4 * lab.n_params()
    t4 = int(FREE_SHARE["cuda"] * (15 * 2**30 - weights))  # a 15 GiB GPU's share, once the lab's weights are on it
    plan = finetune_plan(lab, FineTuneConfig(), memory_budget=t4)
    if lab.config.n_layer == 48:  # gpt2-xl: ~30 GiB to fine-tune whole; the top blocks fit
        assert 1 <= plan.trained_blocks < 48 and plan.need <= t4 and "training only the top" in plan.note
    report = lab.memory_report(tokens=len(trace.tokens))
    assert report.startswith(f"{lab.name} on cpu: weights {gib(weights)} (loaded); trace of {len(trace.tokens)} tokens")


def plt_close(*figures) -> None:
    import matplotlib.pyplot as plt

    for fig in figures:
        plt.close(fig)
