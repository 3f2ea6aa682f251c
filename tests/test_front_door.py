"""The Lab is a door: no import circle in the package, generation's entry points honest, labels built only when read."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
import torch
from helpers import random_lab

import gpt2lab
from gpt2lab import LabError, SamplingSettings

PACKAGE = Path(gpt2lab.__file__).parent


def import_graph() -> dict[str, set[str]]:
    """module -> the gpt2lab modules it imports, anywhere in the file (inside functions too)."""
    modules = {".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): p
               for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gpt2lab"):
                targets.add(node.module)
            elif isinstance(node, ast.Import):
                targets.update(a.name for a in node.names if a.name.startswith("gpt2lab"))
        graph[name] = {t for t in targets if t in modules and t != name and t != "gpt2lab"}
    return graph


def test_no_import_circle_anywhere_in_the_package():
    graph = import_graph()
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                raise AssertionError("import circle: " + " -> ".join(path[path.index(nxt):] + [nxt]) if nxt in path
                                     else f"import circle through {nxt}")
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for module in graph:
        if module not in state:
            visit(module, [module])
    assert "gpt2lab.lab" not in graph["gpt2lab.inputs"] and "gpt2lab.lab" not in graph["gpt2lab.generation.loop"]


@pytest.fixture(scope="module")
def lab():
    return random_lab((2, 4, 32, 64, 512), seed=1)


def test_generate_takes_at_most_eight_parameters():
    assert len(inspect.signature(gpt2lab.generate).parameters) <= 8


def test_beam_search_never_ignores_a_setting_silently(lab):
    for option in ({"temperature": 0.7}, {"top_k": 5}, {"top_p": 0.9}, {"min_p": 0.1}, {"seed": 3}):
        with pytest.raises(LabError, match="Beam search does not sample"):
            lab.generate("The cat", 5, num_beams=3, **option)
        with pytest.raises(LabError, match="Beam search does not sample"):
            gpt2lab.generate(lab, "The cat", 5, num_beams=3, **option)
    with pytest.raises(LabError, match="Beam search does not sample"):
        gpt2lab.generate(lab, "The cat", settings=SamplingSettings(temperature=0.5, max_new_tokens=5), num_beams=2)
    beams = lab.generate("The cat", 5, num_beams=3, repetition_penalty=1.2)  # settings it honours are fine
    assert beams.num_beams == 3 and beams.new_ids == gpt2lab.beam_search(lab, "The cat", 3, 5, repetition_penalty=1.2).new_ids


def test_settings_are_given_once(lab):
    with pytest.raises(LabError, match="once"):
        gpt2lab.generate(lab, "The cat", settings=SamplingSettings(), temperature=0)
    with pytest.raises(LabError, match="give it once"):
        gpt2lab.generate(lab, "The cat", 7, settings=SamplingSettings(max_new_tokens=5))


def test_a_trace_whose_labels_are_never_read_never_builds_them(lab, monkeypatch):
    calls = []
    real = lab.labels_checked
    monkeypatch.setattr(lab, "labels_checked", lambda ids: calls.append(len(ids)) or real(ids))
    trace = lab.trace("The cat sat on the mat", keep=["logits"])
    assert trace.logits.shape[0] == len(trace.ids) and calls == []  # traced, its tensors read: no label built
    assert trace.tokens == real(trace.ids.tolist()) and len(calls) == 1  # built when read, once
    assert trace.context_tokens and len(calls) == 1


def test_generation_checks_the_prompt_ids_once(lab, monkeypatch):
    import gpt2lab.inputs as inputs
    import gpt2lab.lab as lab_module

    counted = []
    real = inputs.token_ids

    def counting(*args, **kwargs):
        counted.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(lab_module, "token_ids", counting)
    gpt2lab.generate(lab, "The cat", 3, temperature=0)
    assert len(counted) == 1
