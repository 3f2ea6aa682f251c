"""Loading: local folders, the embedded model, and a default that never waits long for a network."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading

import pytest
import torch

import gpt2lab
from gpt2lab import LabError
from gpt2lab.loading import EMBEDDED_PATH, GPT2_TOKENIZER_PATH, load_folder, load_tokenizer

from helpers import RANDOM_SHAPES, assert_stage_close, random_lab



def test_local_folder_round_trip(tmp_path):
    lab = random_lab(RANDOM_SHAPES[1], seed=11)
    lab.hf_model.save_pretrained(tmp_path)
    lab.tokenizer.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists() and not list(tmp_path.glob("*.bin"))
    again = gpt2lab.load(str(tmp_path))
    assert again.name == str(tmp_path) and again.config == lab.config
    assert again.hf_model.config._attn_implementation == "eager"
    assert not again.hf_model.training
    assert again.encode("The cat sat") == lab.encode("The cat sat")
    ids = torch.arange(12)
    assert torch.equal(again.trace(ids).logits, lab.trace(ids).logits)


def test_folder_without_tokenizer_uses_gpt2s_own_when_the_vocabulary_is_gpt2s(tmp_path):
    from helpers import random_hf_model

    random_hf_model(1, 2, 16, 32, 50257).save_pretrained(tmp_path)
    lab = gpt2lab.load(tmp_path)
    assert len(lab.tokenizer) == 50257
    assert lab.encode("Hello world") == [15496, 995]  # GPT-2's ids
    other = tmp_path / "small"
    random_hf_model(1, 2, 16, 32, 300).save_pretrained(other)
    with pytest.raises(LabError, match="no tokenizer files"):
        gpt2lab.load(other)


def test_a_folder_without_a_config_is_explained(tmp_path):
    with pytest.raises(LabError, match="no config.json"):
        load_folder(tmp_path)


def test_the_shipped_gpt2_tokenizer_is_complete():
    tok = load_tokenizer(GPT2_TOKENIZER_PATH, 50257)
    assert len(tok) == 50257
    assert tok.encode(" the<|endoftext|>") == [262, 50256]


def test_hub_names_fail_clearly_offline():
    with pytest.raises(LabError, match="gpt2-medium is not in the local Hugging Face cache.*load\\('tiny'\\)"):
        gpt2lab.load("gpt2-medium")


def test_tiny_is_the_embedded_model_in_fp32_on_gpt2s_token_ids():
    lab = gpt2lab.load("tiny")
    assert lab.name == "tiny" and "embedded" in lab.source
    assert lab.weights.token_embedding.dtype == torch.float32
    # The embedded vocabulary is a prefix of GPT-2's: shared tokens have GPT-2's ids.
    gpt2_tok = load_tokenizer(GPT2_TOKENIZER_PATH, 50257)
    text = "It is a truth universally acknowledged, that a single man"
    ids = lab.encode(text)
    assert lab.decode(ids) == text
    assert all(i < lab.config.vocab_size for i in ids)
    assert set(ids) <= set(gpt2_tok.encode(text)) | set(range(lab.config.vocab_size))


AUTO_SCRIPT = """
import json, io, contextlib
import gpt2lab
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    lab = gpt2lab.load()
print(json.dumps({"name": lab.name, "said": buf.getvalue(), "choice": lab.choice}))
"""


@pytest.mark.parametrize("offline_flag", [True, False], ids=["HF_HUB_OFFLINE=1", "no-flag"])
def test_auto_falls_back_to_the_embedded_model(offline_flag, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_") and k != "GPT2LAB_MODEL"}
    env["HF_HOME"] = str(tmp_path / "hf")  # an empty cache: real GPT-2 is not there
    if offline_flag:
        env["HF_HUB_OFFLINE"] = "1"
    else:  # an address nothing listens on stands in for "no network" on any machine
        env["HF_ENDPOINT"] = "https://127.0.0.1:9"
    out = subprocess.run([sys.executable, "-c", AUTO_SCRIPT], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["name"] == "tiny"
    assert result["said"] == ""  # library code never prints: the notebook prints lab.choice
    choice = result["choice"]
    assert choice.count("\n") == 0 and "using 'tiny'" in choice and "did not answer" in choice


def test_auto_gives_up_on_a_hub_that_never_answers(monkeypatch):
    """The hub probe answers "not reachable" when its timeout ends, while the connection is still hanging."""
    from gpt2lab import loading

    entered, release = threading.Event(), threading.Event()

    def hanging_connection(*args, **kwargs):  # a connection attempt that never completes until the test ends
        entered.set()
        release.wait(60)
        return contextlib.nullcontext()

    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # the tests run offline; this one must reach the probe
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(loading.socket, "create_connection", hanging_connection)
    try:
        assert loading.hub_reachable(timeout=0.2) is False  # the connection has not completed: it cannot be True
        assert entered.wait(30)  # the probe did try to connect (the answer was not the offline shortcut)
    finally:
        release.set()


def test_trace_tokens_read_as_text_and_mark_pieces_of_characters():
    from helpers import random_hf_model

    lab = gpt2lab.Lab(random_hf_model(1, 2, 16, 64, 50257), load_tokenizer(GPT2_TOKENIZER_PATH, 50257), name="g")
    trace = lab.trace("I love 😀 ok")
    assert trace.tokens == ["I", " love", " [😀 1-3/4]", "[😀 4/4]", " ok"]
    assert lab.token_strings([995, 50256]) == [" world", "<|endoftext|>"]
