"""Saving figures for slides, the Save control, the pipeline view, the decoding tree and the widgets' new controls."""

from __future__ import annotations

import re

import pytest
import torch
from helpers import random_lab

from gpt2lab import LabError
from gpt2lab.generation.beam import beam_search, sequence_logprob
from gpt2lab.generation.loop import generate
from gpt2lab.generation.sampling import SamplingSettings, filter_distribution
from gpt2lab.viz.decoding_tree import decoding_paths, decoding_tree_chart
from gpt2lab.viz.figures import LabFigure, new_figure, save_figure
from gpt2lab.viz.sampling_plots import pipeline_html
from gpt2lab.widgets.controls import SamplingControls, SaveControl

PROMPT = "The cat sat on the mat."


@pytest.fixture(scope="module")
def lab():
    return random_lab((2, 4, 32, 64, 512), seed=1)


def test_figures_save_as_png_svg_pdf(tmp_path):
    fig, axes = new_figure()
    axes[0, 0].plot([0, 1], [1, 0])
    axes[0, 0].set_title("$$x$$ as typed")
    assert fig.save(tmp_path / "a.png") == str(tmp_path / "a.png")
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    save_figure(fig, tmp_path / "a.svg")
    svg = (tmp_path / "a.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "$$x$$ as typed" in svg  # text stays text
    save_figure(fig, tmp_path / "a.pdf")
    assert (tmp_path / "a.pdf").read_bytes()[:4] == b"%PDF"
    with pytest.raises(LabError, match=".png, .svg or .pdf"):
        fig.save(tmp_path / "a.jpeg")
    with pytest.raises(LabError, match="Could not write"):
        fig.save(tmp_path / "no such folder" / "a.png")


def test_the_save_control_writes_what_it_is_given_and_explains_mistakes(tmp_path):
    fig, _ = new_figure()
    control = SaveControl(lambda: fig, str(tmp_path / "x.svg"))
    assert control.save() == str(tmp_path / "x.svg") and (tmp_path / "x.svg").exists()
    control.filename.value = str(tmp_path / "x.txt")
    assert control.save() is None and "role=\"alert\"" in control.message.value
    empty = SaveControl(lambda: None)
    assert empty.save() is None and "nothing to save" in empty.message.value


def test_pipeline_view_lists_every_stage_with_what_it_cut(lab):
    trace = lab.trace(PROMPT, keep=["logits"])
    settings = SamplingSettings(temperature=0.8, top_k=50, top_p=0.9, min_p=0.1, repetition_penalty=1.3, no_repeat_ngram_size=2)
    dist = filter_distribution(trace.logits[-1], settings, trace.context_ids.tolist())
    page = re.sub(r"<(t[dh]) [^>]*>", r"<\1>", pipeline_html(dist, lab.token_strings).data)  # the cells, unstyled
    for name, cut, changed in dist.stage_changes():
        assert f"<tr><td>{name}</td><td>{cut:,}</td><td>{changed:,}</td>" in page
    cuts = dict((name, cut) for name, cut, _ in dist.stage_changes())
    assert lab.config.vocab_size - cuts["no repeated n-gram"] - cuts["top-k"] == 50  # top-k left exactly 50 (no ties)
    assert sum(cuts.values()) == lab.config.vocab_size - dist.n_kept  # every cut token is cut by exactly one stage


def test_decoding_tree_shows_greedy_beams_and_samples_with_their_scores(lab, tmp_path):
    paths = decoding_paths(lab, PROMPT, max_new_tokens=8, num_beams=3, n_samples=2)
    kinds = [p.kind for p in paths]
    assert kinds.count("greedy") == 1 and kinds.count("beam") == 3 and kinds.count("sample") == 2
    greedy = paths[0]
    assert list(greedy.new_ids) == generate(lab, PROMPT, 8, temperature=0).new_ids
    best = next(p for p in paths if p.label.startswith("beam 1"))
    assert list(best.new_ids) == beam_search(lab, PROMPT, num_beams=3, max_new_tokens=8).new_ids
    for p in paths:
        assert abs(p.logprob - sequence_logprob(lab, lab.encode(PROMPT), list(p.new_ids))) < 1e-6
    assert best.logprob >= greedy.logprob - 1e-5  # beam search kept what greedy threw away
    fig = decoding_tree_chart(paths)
    assert isinstance(fig, LabFigure)
    texts = [t.get_text() for t in fig.axes[0].texts]
    for p in paths:
        assert any(t.startswith(f"{p.label}: log p = {p.logprob:.1f}") for t in texts)
    fig.save(tmp_path / "tree.svg")
    assert (tmp_path / "tree.svg").stat().st_size > 1000


def test_sampling_controls_read_the_new_settings():
    controls = SamplingControls(min_p=0.1, repetition_penalty=1.5, no_repeat_ngram_size=3)
    s = controls.settings()
    assert (s.min_p, s.repetition_penalty, s.no_repeat_ngram_size) == (0.1, 1.5, 3)
    controls.show(SamplingSettings(temperature=0.5, top_k=7, min_p=0.2, seed=4))
    assert controls.settings() == SamplingSettings(temperature=0.5, top_k=7, min_p=0.2, seed=4)


def test_stepper_widget_saves_loads_and_hands_out_a_session(lab, tmp_path):
    from gpt2lab.widgets.stepper_widget import GenerationStepperWidget

    w = GenerationStepperWidget(lab, PROMPT, seed=3)
    w.controls.repetition_penalty.value = 1.4
    for _ in range(3):
        w.guarded(w.do_step)
    w.session_file.value = str(tmp_path / "lesson.json")
    assert w.guarded(w.save_session)
    assert w.guarded(w.save_handout) and (tmp_path / "lesson.html").exists()
    ids, branches = list(w.stepper.ids), w.stepper.branches()
    other = GenerationStepperWidget(lab, "Something else", seed=9)
    other.session_file.value = str(tmp_path / "lesson.json")
    assert other.guarded(other.load_session)
    assert other.stepper.ids == ids and other.stepper.branches() == branches
    assert other.prompt.value == PROMPT and other.controls.repetition_penalty.value == 1.4
    w.save_chart.filename.value = str(tmp_path / "bars.svg")
    assert w.save_chart.save() and (tmp_path / "bars.svg").exists()
    other.session_file.value = str(tmp_path / "missing.json")
    assert not other.guarded(other.load_session) and "no session file" in other.message.value


def test_sampling_lab_shows_the_pipeline_and_saves(lab, tmp_path):
    from gpt2lab.widgets.sampling_lab import SamplingLabWidget

    w = SamplingLabWidget(lab, PROMPT, show_figure=False)
    assert "repetition penalty" in w.pipeline.value and "min-p" in w.pipeline.value
    w.controls.no_repeat_ngram_size.value = 1
    assert "no repeated n-gram" in w.pipeline.value
    w.save.filename.value = str(tmp_path / "lab.png")
    assert w.save.save() and (tmp_path / "lab.png").exists()


def test_attention_explorer_has_a_save_control(lab, tmp_path):
    from gpt2lab.widgets.attention_explorer import AttentionExplorer

    w = AttentionExplorer(lab, PROMPT)
    w.save.filename.value = str(tmp_path / "att.svg")
    assert w.save.save() and (tmp_path / "att.svg").exists()
