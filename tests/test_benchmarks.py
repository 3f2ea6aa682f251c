"""benchmarks/run.py's device plumbing, checked on the CPU.

``--device cuda`` once crashed at once: the model was built on the CPU and the Lab was then asked for the
GPU. The model is now built on the device asked for; tests/test_strict_device.py proves it with strict
device mode's stand-in for a GPU (a model built on the CPU is refused there, as CUDA refuses it). Here the
same code path runs with ``--device cpu`` named explicitly, end to end.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import run as benchmarks  # noqa: E402


def test_the_model_is_built_on_the_device_asked_for():
    lab = benchmarks.small_sized_lab("cpu", n_layer=1, n_head=2, n_embd=16, n_positions=32)
    assert lab.device == torch.device("cpu") and {p.device for p in lab.hf_model.parameters()} == {torch.device("cpu")}
    assert not lab.hf_model.training  # eval mode: no dropout in a timed forward
    assert (lab.config.n_layer, lab.config.vocab_size) == (1, 50257)


def test_notebooks_run_where_the_benchmark_runs():
    assert benchmarks.notebook_env(2, "tiny", "cuda") == {"OMP_NUM_THREADS": "2", "GPT2LAB_MODEL": "tiny", "GPT2LAB_DEVICE": "cuda"}
    assert "GPT2LAB_DEVICE" not in benchmarks.notebook_env(2, "tiny", "cpu")


@pytest.mark.slow
def test_device_cpu_named_explicitly_runs_end_to_end(tmp_path):
    out = tmp_path / "bench.json"
    threads = torch.get_num_threads()
    try:
        benchmarks.main(["--device", "cpu", "--forward-only", "--quick", "--lengths", "8", "--runs", "1", "--threads", "1",
                         "--json", str(out)])
    finally:
        torch.set_num_threads(threads)  # the script sets torch's threads for its timings
    result = json.loads(out.read_text())
    assert result["info"]["device"] == "cpu"
    cases = [row["case"] for row in result["rows"]]
    assert "8 tokens of English text: lab.trace, every stage kept" in cases
    assert all(row["ours"]["median"] > 0 for row in result["rows"] if row["section"] == "1 forward")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without a GPU")
def test_a_device_this_machine_lacks_is_one_line(capsys):
    with pytest.raises(SystemExit) as stop:
        benchmarks.main(["--quick", "--device", "cuda"])
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(
        ": error: No CUDA GPU is available here; use device='cpu' (or leave device unset).")  # after the program's name
