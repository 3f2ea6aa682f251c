"""A stand-in for real GPT-2 small: its exact shapes, random weights, GPT-2's real tokenizer, on disk.

No machine here can download GPT-2, but every shape-dependent thing the course does (12 blocks of 12
heads, 768 wide, 1,024 positions, 50,257 tokens) can be proven on a model of those shapes. The folder is
what ``save_pretrained`` writes (config.json, model.safetensors) plus GPT-2's vocab.json and merges.txt
from the kit's assets, so ``gpt2lab.load(folder)`` and ``GPT2LAB_MODEL=folder`` load it like any checkpoint.

    python tests/standin.py /tmp/gpt2-standin       # build it once, then:
    GPT2LAB_MODEL=/tmp/gpt2-standin python -m pytest notebooks

The other sizes of the family build the same way (``python tests/standin.py /tmp/xl gpt2-xl``): gpt2-medium
(24 x 16 x 1,024, 355M parameters, 1.4 GB), gpt2-large (36 x 20 x 1,280, 774M, 3.1 GB) and gpt2-xl
(48 x 25 x 1,600, 1.56B, 6.2 GB on disk and in memory).
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

# GPT-2 small, as OpenAI released it (openai-community/gpt2's config.json)
GPT2_SMALL = dict(n_layer=12, n_head=12, n_embd=768, n_positions=1024, vocab_size=50257)
# every size of the family: GPT-2 small's config with the published layers, heads and width
SIZES = {
    "gpt2": GPT2_SMALL,
    "gpt2-medium": dict(GPT2_SMALL, n_layer=24, n_head=16, n_embd=1024),
    "gpt2-large": dict(GPT2_SMALL, n_layer=36, n_head=20, n_embd=1280),
    "gpt2-xl": dict(GPT2_SMALL, n_layer=48, n_head=25, n_embd=1600),
}
GPT2_TOKENIZER = Path(__file__).resolve().parents[1] / "gpt2lab" / "assets" / "gpt2_tokenizer"


def strict_device_env() -> dict[str, str]:
    """The environment that runs a notebook in strict device mode (gpt2lab.strict_device), on a CPU-only
    machine; empty where a CUDA GPU is present, since the notebooks then run on the real thing."""
    from gpt2lab.strict_device import kernel_environment

    return kernel_environment()


def build_standin(folder: str | Path, seed: int = 0, **shape) -> Path:
    """Write a random-weight GPT-2 (GPT-2 small's shapes unless ``shape`` overrides some) to ``folder``."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    folder = Path(folder)
    if (folder / "model.safetensors").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    config = GPT2Config(**{**GPT2_SMALL, **shape})  # bos/eos stay GPT-2's 50256
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(config)  # GPT-2's own initialisation: normal(0, 0.02), as an untrained GPT-2
    model.save_pretrained(folder)  # safetensors
    for name in ("vocab.json", "merges.txt"):
        shutil.copy(GPT2_TOKENIZER / name, folder / name)
    return folder


def build_standin_apart(folder: str | Path, size: str = "gpt2") -> Path:
    """:func:`build_standin` of a family size in a child process, so the building process's memory (6 GB for
    gpt2-xl) is given back to the machine as soon as the folder is written."""
    import subprocess

    folder = Path(folder)
    if not (folder / "model.safetensors").exists():
        subprocess.run([sys.executable, __file__, str(folder), size], check=True, stdout=subprocess.DEVNULL)
    return folder


if __name__ == "__main__":
    size = sys.argv[2] if len(sys.argv) > 2 else "gpt2"
    print(build_standin(sys.argv[1] if len(sys.argv) > 1 else "gpt2-standin", **SIZES[size]))


def execute_notebook(path: str | Path, timeout: int = 900, **env: str) -> float:
    """Run a notebook top to bottom in a fresh kernel whose environment adds ``env``; return its seconds.

    Raises nbclient's CellExecutionError (with the failing cell and its traceback) if a cell fails.
    """
    return run_notebook(path, timeout, **env).seconds


PEAK_MEMORY_CELL = ("print('VmHWM', next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM')))"
                    " if __import__('os').path.exists('/proc/self/status') else print('VmHWM 0')")


@dataclass
class NotebookRun:
    """What one run of a notebook took, and what it printed."""

    seconds: float  # wall-clock time, top to bottom
    peak_bytes: int  # the kernel's peak resident memory (Linux's VmHWM; 0 where there is none)
    printed: str  # every stream output of every cell, joined


def run_notebook(path: str | Path, timeout: int = 900, **env: str) -> NotebookRun:
    """:func:`execute_notebook`, and the kernel's peak memory (read from Linux's /proc/self/status by one extra
    cell at the end) and what the cells printed."""
    import os
    import time
    from unittest import mock

    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PEAK_MEMORY_CELL))
    with mock.patch.dict(os.environ, env):  # the kernel is a child process: it starts with this environment
        start = time.perf_counter()
        NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
        seconds = time.perf_counter() - start
    last = "".join(output.get("text", "") for output in nb.cells[-1].outputs)
    printed = "".join(output.get("text", "") for cell in nb.cells[:-1] if cell.cell_type == "code" for output in cell.outputs)
    return NotebookRun(seconds, 1024 * int(last.split()[1]) if last.startswith("VmHWM") else 0, printed)
