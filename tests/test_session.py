"""Stepper sessions: saved, loaded and stepped again give the same tokens and the same tree; the handout page is offline."""

from __future__ import annotations

import json
import re

import pytest
from helpers import random_lab

from gpt2lab import LabError
from gpt2lab.generation.stepper import Stepper
from gpt2lab.generation.sampling import SamplingSettings
from gpt2lab.generation.session import session_html

PROMPT = "The cat sat on the mat."


@pytest.fixture(scope="module")
def lab():
    return random_lab((2, 4, 32, 64, 512), seed=1)


def busy_stepper(lab, seed=4):
    s = Stepper(lab, PROMPT, SamplingSettings(temperature=0.9, top_k=30, repetition_penalty=1.2, seed=seed))
    s.play(4)
    s.branch(s.last.candidates[-1].id)  # a token the sampler did not pick
    s.play(2)
    first = s.branches()[0]
    s.goto(first[:3])
    s.settings = SamplingSettings(temperature=1.3, min_p=0.05, seed=seed)  # what the widget's sliders do
    s.play(3)
    s.back()
    return s


def tree_shape(stepper):
    return [(path, [(st.token_id, st.forced, round(st.prob, 6)) for st in stepper.tree.steps_along(path)])
            for path in stepper.branches()]


@pytest.mark.parametrize("seed", [4, None])
def test_saved_loaded_and_stepped_again_gives_the_same_tokens_and_tree(lab, tmp_path, seed):
    original = busy_stepper(lab, seed)
    path = tmp_path / "lesson.json"
    original.save(path)
    assert path.stat().st_size < 20_000  # small: actions, not tensors
    loaded = Stepper.load(path, lab)
    assert loaded.ids == original.ids and loaded.text == original.text
    assert tree_shape(loaded) == tree_shape(original)
    assert loaded.settings == original.settings
    assert [st.token_id for st in loaded.steps] == [st.token_id for st in original.steps]
    # stepping on draws the same next tokens in both
    assert [st.token_id for st in loaded.play(5)] == [st.token_id for st in original.play(5)]
    assert tree_shape(loaded) == tree_shape(original)
    # and a second save/load round trip of the stepped-on session holds too
    original.save(path)
    again = Stepper.load(path, lab)
    assert again.ids == original.ids and tree_shape(again) == tree_shape(original)


def test_loading_checks_the_model_and_the_file(lab, tmp_path):
    s = busy_stepper(lab)
    path = tmp_path / "s.json"
    s.save(path)
    other = random_lab((2, 4, 32, 64, 512), seed=9)
    other.name = "another model"
    with pytest.raises(LabError, match="made with the model"):
        Stepper.load(path, other)
    data = json.loads(path.read_text())
    data["current"] = data["current"][:-1]
    path.write_text(json.dumps(data))
    with pytest.raises(LabError, match="changed"):
        Stepper.load(path, lab)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(LabError, match="not a saved stepper session"):
        Stepper.load(tmp_path / "bad.json", lab)
    with pytest.raises(LabError, match="no session file"):
        Stepper.load(tmp_path / "missing.json", lab)


def test_the_handout_page_is_self_contained(lab, tmp_path):
    s = busy_stepper(lab)
    page = session_html(s)
    assert not re.search(r"<script|<link|src=|href=|@import|url\(", page, re.I)
    assert page.count("<h3>Step ") == len(s.steps)
    for step in s.steps:
        assert f"p={step.prob:.3f}" in page or step.forced
    assert page.count("<li>") == sum(1 for _ in _nodes(s.tree.root))  # every node of the tree is drawn
    s.save_html(tmp_path / "s.html")
    assert (tmp_path / "s.html").read_text(encoding="utf-8") == page


def _nodes(node):
    for child in node.children.values():
        yield child
        yield from _nodes(child)
