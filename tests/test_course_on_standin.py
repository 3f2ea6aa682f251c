"""The whole course on a stand-in with GPT-2 small's exact shapes, chosen through GPT2LAB_MODEL.

The README's test command also runs every notebook on the embedded model (nbmake collects notebooks/).
Here each notebook runs again, top to bottom, on a random-weight GPT-2 of 12 blocks x 12 heads, 768 wide,
1,024 positions and GPT-2's real 50,257-token tokenizer, saved as a safetensors folder: every view,
widget, cap and checker must hold at the shape a learner with a network will use. With a CUDA GPU the
same run also puts the lab on it (GPT2LAB_DEVICE=cuda); without one, it runs in strict device mode, where
the CPU stands in for a GPU and a cell that mixes devices fails (tests/test_strict_device.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from standin import build_standin, execute_notebook, strict_device_env

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="session")
def standin_folder(tmp_path_factory):
    return build_standin(tmp_path_factory.mktemp("gpt2-small-standin"))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_on_gpt2_small_shapes(path, standin_folder):
    env = {"GPT2LAB_MODEL": str(standin_folder), **strict_device_env()}
    if torch.cuda.is_available():
        env["GPT2LAB_DEVICE"] = "cuda"
    execute_notebook(path, **env)


def test_the_standin_has_gpt2_smalls_shapes_and_tokenizer(standin_folder, monkeypatch):
    import gpt2lab

    monkeypatch.setenv("GPT2LAB_MODEL", str(standin_folder))
    lab = gpt2lab.load()
    c = lab.config
    assert (c.n_layer, c.n_head, c.d_model, c.n_ctx, c.vocab_size) == (12, 12, 768, 1024, 50257)
    assert lab.n_params() == 124_439_808  # GPT-2 small's corrected count
    assert lab.encode("Hello world") == [15496, 995]  # GPT-2's own ids
    assert lab.tokenizer.eos_token_id == 50256
    assert (standin_folder / "model.safetensors").exists() and not list(standin_folder.glob("*.bin"))
