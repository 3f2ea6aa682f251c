"""Save and resume the full training state with safetensors + JSON only (nothing is unpickled).

A checkpoint folder holds:

- ``model.safetensors``: the fp32 weights (``save_model`` handles the tied embedding/LM-head weight);
- ``optimizer.safetensors``: AdamW's per-parameter tensors, keyed ``"{param index}.{name}"``
  (``"3.exp_avg"``), plus the data-sampling generator's state as ``"rng.sampler"``;
- ``state.json``: step, tokens seen, training seconds, AdamW's hyper-parameters and the run's settings.

``torch.save``/``torch.load`` would pickle, and unpickling a file can run arbitrary code, so the
course never does it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file, load_model, save_file, save_model


def save_state(folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, sampler: torch.Generator, info: dict) -> None:
    """Write the checkpoint into ``folder`` (via a temporary folder, so a crash never leaves half of one)."""
    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    save_model(model, str(tmp / "model.safetensors"))
    opt = optimizer.state_dict()
    tensors = {"rng.sampler": sampler.get_state()}
    for index, per_param in opt["state"].items():
        for name, value in per_param.items():
            tensors[f"{index}.{name}"] = torch.as_tensor(value).clone()
    save_file(tensors, str(tmp / "optimizer.safetensors"))
    (tmp / "state.json").write_text(json.dumps({**info, "param_groups": opt["param_groups"]}, indent=1))
    if folder.exists():
        old = folder.with_name(folder.name + ".old")
        os.replace(folder, old)
        os.replace(tmp, folder)
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    else:
        os.replace(tmp, folder)


def load_state(folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, sampler: torch.Generator) -> dict:
    """Restore model, optimizer and sampler from ``folder`` in place; return ``state.json``'s dict."""
    folder = Path(folder)
    load_model(model, str(folder / "model.safetensors"))
    info = json.loads((folder / "state.json").read_text())
    tensors = load_file(str(folder / "optimizer.safetensors"))
    sampler.set_state(tensors.pop("rng.sampler"))
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": info.pop("param_groups")})
    return info
