"""One model switch for the whole course, and one device for everything a learner touches.

``gpt2lab.load()`` with no argument honours ``GPT2LAB_MODEL``; ``lab.choice`` says in one line which model
was loaded and why. Whatever device the lab is on, the weights, traces, caches and readings it hands out
live on that one device, so no notebook cell can mix CPU and CUDA tensors; the default is the CPU, where
a learner's own ``torch.ones(...)`` is born.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

import gpt2lab
from gpt2lab.errors import LabError
from gpt2lab.loading import EMBEDDED_PATH, MODEL_ENV


def test_load_without_a_name_honours_gpt2lab_model(monkeypatch, tmp_path):
    monkeypatch.setenv(MODEL_ENV, "tiny")
    lab = gpt2lab.load()
    assert lab.name == "tiny"
    assert lab.choice.count("\n") == 0 and "GPT2LAB_MODEL is set to 'tiny'" in lab.choice
    monkeypatch.setenv(MODEL_ENV, str(EMBEDDED_PATH))  # a folder works the same way
    lab = gpt2lab.load()
    assert lab.name == str(EMBEDDED_PATH) and lab.config.n_layer == 4
    assert "GPT2LAB_MODEL" in repr(lab)


def test_a_name_given_in_the_notebook_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv(MODEL_ENV, "no-such-model")
    lab = gpt2lab.load("tiny")
    assert lab.name == "tiny" and "asked for" in lab.choice


def test_a_bad_gpt2lab_model_is_one_clear_sentence(monkeypatch):
    monkeypatch.setenv(MODEL_ENV, "gpt5")
    with pytest.raises(LabError, match="There is no model called 'gpt5'"):
        gpt2lab.load()


def test_gpt2lab_model_auto_is_the_automatic_choice(monkeypatch):
    monkeypatch.setenv(MODEL_ENV, "auto")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    lab = gpt2lab.load()
    assert lab.name == "tiny"
    assert "GPT2LAB_MODEL is set to 'auto'" in lab.choice and "did not answer" in lab.choice


def test_the_default_device_is_the_cpu_even_beside_a_gpu(monkeypatch):
    monkeypatch.delenv("GPT2LAB_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # as on a Colab GPU runtime
    assert gpt2lab.pick_device(None) == torch.device("cpu")
    monkeypatch.setenv("GPT2LAB_DEVICE", "cpu")
    assert gpt2lab.pick_device(None) == torch.device("cpu")


def test_gpt2lab_device_is_honoured_and_checked(monkeypatch):
    monkeypatch.setenv("GPT2LAB_DEVICE", "cuda")
    if not torch.cuda.is_available():
        with pytest.raises(LabError, match="No CUDA GPU"):
            gpt2lab.pick_device(None)
    monkeypatch.setenv("GPT2LAB_DEVICE", "quantum")
    with pytest.raises(LabError, match="not a device"):
        gpt2lab.pick_device(None)


def tensors_a_learner_is_handed(lab):
    """Every tensor the course hands a learner from one lab: weights, a trace, a cached step, readings."""
    from gpt2lab.analysis.head_scores import head_scores

    trace = lab.trace("It is a truth universally acknowledged")
    cache = lab.new_cache()
    lab.trace("It is a truth", cache=cache)
    step = lab.trace(" universally", cache=cache)
    lens = gpt2lab.logit_lens(lab, trace, position=-1)
    scores = head_scores(lab, "She looked at her sister, and her sister looked back at her.")
    found = {}
    for name, value in vars(lab.weights).items():
        if isinstance(value, torch.Tensor):
            found[f"weights.{name}"] = value
    for i, block in enumerate(lab.weights.blocks):
        for field in dataclasses.fields(block):
            found[f"weights.blocks[{i}].{field.name}"] = getattr(block, field.name)
    for t, label in ((trace, "trace"), (step, "cached step")):
        found[f"{label}.ids"], found[f"{label}.context_ids"] = t.ids, t.context_ids
        found.update({f"{label}[{n}]": t[n] for n in t.names})
    found.update({f"cache.keys[{i}]": k for i, k in enumerate(cache.keys)})
    found.update({f"lens.{f.name}": getattr(lens, f.name) for f in dataclasses.fields(lens)
                  if isinstance(getattr(lens, f.name), torch.Tensor)})
    found.update({f"head_scores.{k}": scores.of(k) for k in ("previous_token", "first_token", "induction")})
    return found


def test_everything_a_learner_is_handed_lives_on_the_labs_device():
    lab = gpt2lab.load("tiny")
    handed = tensors_a_learner_is_handed(lab)
    assert len(handed) > 100
    off = {name: t.device for name, t in handed.items() if t.device != lab.device}
    assert not off, off
    # and so a learner's own cell can mix them with tensors it makes, e.g. nb02's row lookup
    trace = lab.trace("It is a truth")
    assert torch.equal(lab.weights.token_embedding[trace.ids], trace["embed"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_on_a_gpu_everything_a_learner_is_handed_lives_on_the_gpu():
    lab = gpt2lab.load("tiny", device="cuda")
    handed = tensors_a_learner_is_handed(lab)
    off = {name: t.device for name, t in handed.items() if t.device.type != "cuda"}
    assert not off, off


def test_a_lab_leaves_the_callers_model_as_it_was():
    from helpers import byte_level_tokenizer, random_hf_model

    model = random_hf_model(2, 2, 16, 32, 300).train()  # a learner's model, in training mode
    model.config._attn_implementation = "sdpa"
    lab = gpt2lab.Lab(model, byte_level_tokenizer(300), name="mine")
    lab.trace(torch.arange(5))
    assert model.training and model.config._attn_implementation == "sdpa" and lab.hf_model is model
    assert lab.device == torch.device("cpu")
    with pytest.raises(LabError, match="move it first with model.to"):
        gpt2lab.Lab(model, lab.tokenizer, name="mine", device="meta")
