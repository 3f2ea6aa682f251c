"""A CPU-only CI that fails when a notebook cell would mix CPU and GPU tensors.

The problem: on a GPU, a lab's traces live in GPU memory and a tensor a learner makes with
``torch.tensor(...)`` lives on the CPU; ``F.cross_entropy(trace.logits, targets)`` then raises "Expected
all tensors to be on the same device". On a CPU-only machine both are CPU tensors and the same cell
passes, so notebook 09 shipped such a cell and only a GPU found it.

The choice: strict device mode (:mod:`gpt2lab.strict_device`), switched on by ``GPT2LAB_STRICT_DEVICE=1``
in the kernel's environment, which every notebook run of the test suite on a CPU sets (the root conftest.py
for nbmake, tests/standin.py's ``strict_device_env`` for the stand-in runs). Under it the lab's device is
``cpu:0``, a stand-in the CPU computes on at full speed, and a ``torch.overrides.TorchFunctionMode``
remembers which memory is the lab's and raises CUDA's own error at every op that mixes it with a learner's
CPU tensor, under CUDA's rules (a one-number CPU tensor may join, a CPU index may pick from a GPU tensor,
``.to``/``.cpu()`` copy, no NumPy without ``.cpu()``). We chose it over the alternatives because:

- the "meta" device carries no numbers, so the notebooks could not run on it;
- a real second device (PyTorch's PrivateUse1 backend) needs compiled kernels;
- tagging tensors in a mode costs only Python bookkeeping per op, so every notebook runs under it in the
  suite with no extra run: the embedded model's whole course took 311 s strict against 283 s plain (+10 %,
  each notebook run both ways in turn on the shared 2-core machine), where a separate strict pass would
  double the notebook time.

What it does not model is listed in the module's docstring (random generators, ``device="cpu"`` written
by hand). The tests below prove it catches the old notebook-09 cell, and that the fixed one passes.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import gpt2lab
from gpt2lab import strict_device
from gpt2lab.errors import LabError
from gpt2lab.lab import Lab
from gpt2lab.strict_device import STAND_IN, DeviceMixError, on_stand_in

TEXT = "It is a truth universally acknowledged, that a single man in possession of a good fortune"

# notebook 09's cross-entropy cells as they were before this fix (they failed on every CUDA run)
OLD_NB09_CELLS = [
    "import torch\nimport torch.nn.functional as F\nimport gpt2lab\ntorch.set_grad_enabled(False)\n"
    "lab = gpt2lab.load('tiny')",
    f"text = {TEXT!r}\n"
    "ids = torch.tensor(lab.encode(text))  # (T + 1,)\n"
    "inputs, targets = ids[:-1], ids[1:]",
    "trace = lab.trace(inputs)\n"
    "log_probs = torch.log_softmax(trace.logits, dim=-1)\n"
    "by_hand = -log_probs[torch.arange(len(targets)), targets]\n"
    "print('F.cross_entropy:', F.cross_entropy(trace.logits, targets).item())",
]


@pytest.fixture
def strict_lab(monkeypatch):
    """The embedded model loaded as a notebook kernel would load it with GPT2LAB_STRICT_DEVICE=1, with the
    mode on for this test only."""
    monkeypatch.setenv(strict_device.STRICT_ENV, "1")
    monkeypatch.delenv("GPT2LAB_DEVICE", raising=False)
    with strict_device.strict():
        yield gpt2lab.load("tiny")
    assert not strict_device.active()  # nothing leaks into the next test


def test_the_lab_lives_on_the_stand_in_and_a_learners_tensor_on_the_cpu(strict_lab):
    lab = strict_lab
    assert lab.device == STAND_IN and str(lab.device) == "cpu:0"
    trace = lab.trace("The cat sat")
    assert trace.logits.device == STAND_IN and trace["blocks.0.attn.pattern"].device == STAND_IN
    assert all(on_stand_in(p) and p.device == STAND_IN for p in lab.hf_model.parameters())
    mine = torch.ones(3)
    assert mine.device == torch.device("cpu") and not on_stand_in(mine)
    assert torch.zeros(2, device=lab.device).device == STAND_IN


def test_the_old_notebook_09_cell_fails_under_strict_mode(strict_lab):
    lab = strict_lab
    ids = torch.tensor(lab.encode(TEXT))  # the old cell: a CPU tensor
    inputs, targets = ids[:-1], ids[1:]
    trace = lab.trace(inputs)
    with pytest.raises(DeviceMixError, match="Expected all tensors to be on the same device"):
        F.cross_entropy(trace.logits, targets)


def test_the_fixed_cell_passes_and_gives_the_same_loss(strict_lab):
    lab = strict_lab
    ids = lab.ids(TEXT)  # the fixed cell
    inputs, targets = ids[:-1], ids[1:]
    trace = lab.trace(inputs)
    log_probs = torch.log_softmax(trace.logits, dim=-1)
    by_hand = -log_probs[lab.arange(len(targets)), targets]
    loss = F.cross_entropy(trace.logits, targets)
    hf_loss = lab.hf_model(ids[None], labels=ids[None]).loss
    assert loss.device == STAND_IN
    plain = gpt2lab.load("tiny", device="cpu")  # an explicit "cpu" is the real CPU, even in strict mode
    assert plain.device == torch.device("cpu")
    plain_ids = plain.ids(TEXT)
    expected = F.cross_entropy(plain.trace(plain_ids[:-1]).logits, plain_ids[1:])
    assert loss.item() == pytest.approx(expected.item(), abs=1e-6)
    assert by_hand.mean().item() == pytest.approx(expected.item(), abs=1e-5)
    assert hf_loss.item() == pytest.approx(expected.item(), abs=1e-4)


def test_cuda_rules_are_followed(strict_lab):
    lab = strict_lab
    logits = lab.trace("The cat sat on the mat").logits  # (6, vocab) on the stand-in
    cpu_index = torch.tensor([0, 2])
    assert logits[cpu_index].device == STAND_IN  # a CPU index may pick from a GPU tensor
    assert (logits * torch.tensor(2.0)).device == STAND_IN  # a one-number CPU tensor joins any op
    with pytest.raises(DeviceMixError, match="indices should be either on cpu"):
        torch.ones(6)[lab.arange(2)]  # a GPU index may not pick from a CPU tensor
    with pytest.raises(DeviceMixError):
        logits[:, :3] + torch.ones(3)
    with pytest.raises(TypeError, match="Use Tensor.cpu"):
        np.asarray(logits)
    back = logits.cpu()
    assert back.device == torch.device("cpu") and not on_stand_in(back)
    back[0, 0] = 123.0  # a copy, as a GPU-to-CPU move would be
    assert logits[0, 0].item() != 123.0
    moved = cpu_index.to(lab.device)
    assert moved.device == STAND_IN and not on_stand_in(cpu_index)  # the learner's tensor stays on the CPU
    assert logits[0, :2].tolist() == [logits[0, 0].item(), back[0, 1].item()]  # .tolist() and .item() are allowed
    assert np.asarray(back).shape == tuple(logits.shape)
    assert isinstance(logits.shape, torch.Size) and logits.shape.numel() == logits.numel()  # metadata as it was
    values, indices = logits.topk(2)
    assert values.device == indices.device == STAND_IN and logits.unbind(0)[0].device == STAND_IN


def test_a_model_built_on_the_cpu_is_refused_by_a_lab_on_the_stand_in(strict_lab):
    """What benchmarks/run.py did: build on the CPU, then ask the Lab for the GPU. Strict mode refuses it
    as CUDA does, and the fixed benchmark (which builds the model on the device asked for) passes."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import run as benchmarks

    from transformers import GPT2Config, GPT2LMHeadModel

    shape = dict(n_layer=1, n_head=2, n_embd=16, n_positions=32)
    model = GPT2LMHeadModel(GPT2Config(attn_implementation="eager", **shape)).eval()
    with pytest.raises(LabError, match="weights are on cpu, not cpu:0"):
        Lab(model, strict_lab.tokenizer, name="built on the CPU", device=STAND_IN)
    lab = benchmarks.small_sized_lab(STAND_IN, **shape)
    assert lab.device == STAND_IN and all(on_stand_in(p) for p in lab.hf_model.parameters())
    assert lab.trace("Hello").logits.shape == (1, 50257)


def test_training_under_strict_mode_keeps_everything_on_the_stand_in(strict_lab):
    from gpt2lab.training.finetune import FineTuneConfig, finetune_lm, shipped_text

    result = finetune_lm(strict_lab, shipped_text("kittiwake_log")[:3000], FineTuneConfig(block_size=16, batch_size=2, max_steps=2),
                         progress=False)
    assert result.lab.device == STAND_IN and all(on_stand_in(p) for p in result.lab.hf_model.parameters())
    assert np.isfinite(result.val_loss)


def test_without_the_switch_nothing_changes(monkeypatch):
    monkeypatch.delenv(strict_device.STRICT_ENV, raising=False)
    monkeypatch.delenv("GPT2LAB_DEVICE", raising=False)
    lab = gpt2lab.load("tiny")
    assert lab.device == torch.device("cpu") and not strict_device.active()
    ids = torch.tensor(lab.encode(TEXT))
    F.cross_entropy(lab.trace(ids[:-1]).logits, ids[1:])  # passes on a plain CPU: why the mode is needed


def test_lab_helpers_make_tensors_on_the_labs_device(tiny):
    assert tiny.ids("Hello world").tolist() == tiny.encode("Hello world")
    assert tiny.ids([1, 2, 3]).dtype == torch.long and tiny.ids([1, 2, 3]).device == tiny.device
    assert tiny.arange(4).tolist() == [0, 1, 2, 3]
    assert tiny.tensor([2.0, 1.0]).tolist() == [2.0, 1.0]
    source = torch.tensor([1, 2])
    made = tiny.tensor(source, dtype=torch.float32)
    made[0] = 5
    assert source.tolist() == [1, 2] and made.dtype == torch.float32  # a copy, never the learner's own tensor
    for bad, match in [(lambda: tiny.ids(""), "empty"), (lambda: tiny.ids([10**9]), "outside"),
                       (lambda: tiny.arange(-1), "n"), (lambda: tiny.tensor("abc"), "lab.tensor takes")]:
        with pytest.raises(LabError, match=match):
            bad()


@pytest.fixture
def tiny():
    return gpt2lab.load("tiny", device="cpu")


@pytest.mark.slow
def test_a_kernel_with_the_switch_fails_the_old_cell_and_without_it_passes(tmp_path):
    """End to end, as the suite runs notebooks: the old cells in a fresh kernel, with and without the switch."""
    import nbformat
    from nbclient.exceptions import CellExecutionError

    from standin import execute_notebook

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in OLD_NB09_CELLS])
    path = tmp_path / "old_09.ipynb"
    nbformat.write(nb, path)
    execute_notebook(path, GPT2LAB_STRICT_DEVICE="0")  # a plain CPU kernel cannot see the mix
    with pytest.raises(CellExecutionError, match="Expected all tensors to be on the same device"):
        execute_notebook(path, GPT2LAB_STRICT_DEVICE="1")
