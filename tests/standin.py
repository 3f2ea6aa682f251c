"""A stand-in for real GPT-2 small: its exact shapes, random weights, GPT-2's real tokenizer, on disk.

No machine here can download GPT-2, but every shape-dependent thing the course does (12 blocks of 12
heads, 768 wide, 1,024 positions, 50,257 tokens) can be proven on a model of those shapes. The folder is
what ``save_pretrained`` writes (config.json, model.safetensors) plus GPT-2's vocab.json and merges.txt
from the kit's assets, so ``gpt2lab.load(folder)`` and ``GPT2LAB_MODEL=folder`` load it like any checkpoint.

    python tests/standin.py /tmp/gpt2-standin       # build it once, then:
    GPT2LAB_MODEL=/tmp/gpt2-standin python -m pytest notebooks
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

# GPT-2 small, as OpenAI released it (openai-community/gpt2's config.json)
GPT2_SMALL = dict(n_layer=12, n_head=12, n_embd=768, n_positions=1024, vocab_size=50257)
GPT2_TOKENIZER = Path(__file__).resolve().parents[1] / "gpt2lab" / "assets" / "gpt2_tokenizer"


def strict_device_env() -> dict[str, str]:
    """The environment that runs a notebook in strict device mode (gpt2lab.strict_device), on a CPU-only
    machine; empty where a CUDA GPU is present, since the notebooks then run on the real thing."""
    import torch

    return {} if torch.cuda.is_available() else {"GPT2LAB_STRICT_DEVICE": "1"}


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


if __name__ == "__main__":
    print(build_standin(sys.argv[1] if len(sys.argv) > 1 else "gpt2-standin"))


def execute_notebook(path: str | Path, timeout: int = 900, **env: str) -> float:
    """Run a notebook top to bottom in a fresh kernel whose environment adds ``env``; return its seconds.

    Raises nbclient's CellExecutionError (with the failing cell and its traceback) if a cell fails.
    """
    import os
    import time

    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)  # the kernel is a child process: it starts with this environment
    try:
        start = time.perf_counter()
        NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
        return time.perf_counter() - start
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
