"""Strict device mode: a CPU-only machine that notices every CPU/GPU mix a GPU would refuse.

A lab on a GPU hands out GPU tensors; a tensor a learner makes in a cell (``torch.tensor(ids)``) is born
on the CPU, and most ops refuse to mix the two ("Expected all tensors to be on the same device"). On a
CPU-only machine both live on the CPU, so such a cell passes there and fails on Colab's GPU. This mode
makes the CPU tell the two apart:

- the lab's device becomes :data:`STAND_IN` (``cpu:0``: a CPU device with an index, which torch computes
  on like the CPU), and every tensor whose memory the lab made or moved there is *on the stand-in*;
  ``tensor.device`` then reads ``cpu:0``, anything else ``cpu``;
- an op that mixes a stand-in tensor with a CPU tensor raises the error CUDA would raise, under the rules
  CUDA follows: a CPU tensor of one number (0-dim) may join any op, a CPU tensor may index a stand-in
  one, ``.to(...)``, ``.cpu()`` and ``copy_`` move data between the two, and a stand-in tensor cannot
  become a NumPy array without ``.cpu()`` first.

It is a test switch, not a teaching device: set ``GPT2LAB_STRICT_DEVICE=1`` before a notebook's kernel
starts (the test suite does, for every notebook it runs on the CPU) and :func:`gpt2lab.lab.pick_device`
gives every lab loaded with the default device the stand-in and switches the mode on for the kernel. A
lab asked for ``device="cpu"`` explicitly stays on the real CPU, as it would on a GPU machine.

How: a :class:`torch.overrides.TorchFunctionMode` sees every torch call made from Python. Which tensors
are on the stand-in is remembered per *storage* (the memory behind a tensor), weakly: views, ``.detach()``
and ``nn.Parameter`` share their storage, so they share its device, exactly as on a GPU. Not modelled:
random generators (a CPU ``torch.Generator`` drawing for a GPU tensor), tensors made inside C++ that no
Python call returns (gradients are read through ``.grad``, which the mode sees), and ``device="cpu"``
written out by hand, which the mode takes for the real CPU.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

import torch
from torch.overrides import TorchFunctionMode
from torch.utils.weak import WeakIdKeyDictionary

STRICT_ENV = "GPT2LAB_STRICT_DEVICE"  # "1": labs on the default device live on the stand-in, and mixes raise
STAND_IN = torch.device("cpu", 0)  # the device that plays the GPU: torch computes on it as on the CPU

_TensorBase = torch._C.TensorBase
_DEVICE, _GRAD = _TensorBase.device, _TensorBase.grad  # the property descriptors the mode answers itself
_MOVES_WITHOUT_CHECK = {_TensorBase.to, _TensorBase.cpu, _TensorBase.copy_, _TensorBase.__setitem__,
                        _TensorBase.index_put_, _TensorBase.index_put}
_TO_NUMPY = {torch.Tensor.__array__, _TensorBase.numpy}
# calls that look at or swap tensors' metadata without computing on them (``param.data = ...`` is ``__set__``)
_METADATA = {"__get__", "__set__", "__delete__", "_has_compatible_shallow_copy_type", "is_same_size", "is_set_to", "set_"}
_on_stand_in: WeakIdKeyDictionary = WeakIdKeyDictionary()  # storage -> True, for storages on the stand-in


def requested() -> bool:
    """True when ``$GPT2LAB_STRICT_DEVICE`` asks for strict device mode (read at each call: at load time)."""
    return os.environ.get(STRICT_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def kernel_environment() -> dict[str, str]:
    """The environment a test run gives a notebook's kernel on this machine: strict mode on a CPU-only
    machine; nothing where a CUDA GPU is present, since the notebooks then run on the real thing."""
    return {} if torch.cuda.is_available() else {STRICT_ENV: "1"}


def is_stand_in(device) -> bool:
    """Is ``device`` the stand-in (``cpu:0``), as opposed to the plain CPU or a real GPU?"""
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        return False
    return device.type == "cpu" and device.index == 0


def on_stand_in(tensor: torch.Tensor) -> bool:
    """Does ``tensor``'s memory live on the stand-in device?"""
    storage = _storage(tensor)
    return storage is not None and storage in _on_stand_in


def place_on_stand_in(*tensors: torch.Tensor) -> None:
    """Count these tensors' memory as the stand-in's (what a lab does with its model's weights)."""
    for tensor in tensors:
        storage = _storage(tensor)
        if storage is not None:
            _on_stand_in[storage] = True


def active() -> bool:
    """Is strict device mode watching torch calls right now?"""
    return any(isinstance(mode, StrictDeviceMode) for mode in torch.overrides._get_current_function_mode_stack())


def switch_on() -> None:
    """Watch every torch call from now on in this process (a notebook kernel): idempotent."""
    if not active():
        StrictDeviceMode().__enter__()  # left on for the kernel's life, as the environment variable asked


@contextmanager
def strict():
    """Strict device mode for one block only (what the tests use in-process)."""
    if active():
        yield
        return
    with StrictDeviceMode():
        yield


class DeviceMixError(RuntimeError):
    """What CUDA raises, raised on the CPU: a cell mixed the lab's device with the CPU."""


class StrictDeviceMode(TorchFunctionMode):
    """Tracks which tensors are on the stand-in and refuses the mixes a GPU refuses (see the module docstring)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        owner = getattr(func, "__self__", None)
        if owner is _DEVICE:  # tensor.device
            device = func(*args)
            return STAND_IN if device.type == "cpu" and on_stand_in(args[0]) else device
        if owner is _GRAD:  # autograd made the gradient in C++: it lives where its tensor lives
            grad = func(*args)
            if grad is not None and on_stand_in(args[0]):
                place_on_stand_in(grad)
            return grad
        tensors = list(_tensors_in(args, kwargs))
        if func in _TO_NUMPY and tensors and on_stand_in(tensors[0]):
            raise TypeError(f"can't convert {STAND_IN} device type tensor to numpy. Use Tensor.cpu() to copy the "
                            "tensor to host memory first. (gpt2lab strict device mode: on a GPU this tensor would "
                            "be GPU memory.)")
        in_place = func in (_TensorBase.copy_, _TensorBase.__setitem__) or _name(func).endswith("_") \
            and not _name(func).startswith("__")
        if func not in _MOVES_WITHOUT_CHECK and _name(func) not in _METADATA:
            self._check_one_device(func, args, tensors)
        result = func(*args, **kwargs)
        if in_place or not tensors and "device" not in kwargs:  # in place: stays where it is; a new CPU tensor
            return result
        wanted = self._wanted_device(func, args, kwargs, tensors)
        if wanted is None:
            return result
        return _placed(result, wanted, {id(s) for s in map(_storage, tensors) if s is not None})

    @staticmethod
    def _check_one_device(func, args, tensors) -> None:
        """Raise as CUDA would when a stand-in tensor meets a CPU tensor of more than one number."""
        if not tensors:
            return
        if func is _TensorBase.__getitem__:
            if on_stand_in(args[0]) or not any(on_stand_in(t) for t in tensors[1:]):
                return  # a CPU index may pick from a GPU tensor; a GPU index may not pick from a CPU tensor
            raise DeviceMixError(f"indices should be either on cpu or on the same device as the indexed tensor "
                                 f"(cpu) (gpt2lab strict device mode: the indices are on the lab's device {STAND_IN}).")
        stand_in = [t for t in tensors if on_stand_in(t)]
        cpu = [t for t in tensors if not on_stand_in(t) and t.dim() > 0 and t.device.type == "cpu"]
        if stand_in and cpu:
            raise DeviceMixError(
                f"Expected all tensors to be on the same device, but found at least two devices, {STAND_IN} and cpu! "
                f"(gpt2lab strict device mode, in {_name(func)}: a tensor of shape {tuple(cpu[0].shape)} is on the CPU "
                f"while the lab's tensors are on its device; make it with lab.ids(...), lab.tensor(...), "
                f"lab.arange(...) or device=lab.device, or move it with .to(lab.device).)")

    @staticmethod
    def _wanted_device(func, args, kwargs, tensors) -> bool | None:
        """True: the result belongs on the stand-in; False: on the CPU; None: leave it as it came."""
        if func is _TensorBase.cpu:
            return False
        target = kwargs.get("device")
        if func is _TensorBase.to:
            for arg in args[1:]:
                if isinstance(arg, torch.Tensor):
                    return on_stand_in(arg)
                if isinstance(arg, (str, torch.device)):
                    target = arg
        if target is not None:
            return is_stand_in(target)
        return any(on_stand_in(t) for t in tensors) or None


def _placed(result, on: bool, input_storages: set[int]):
    """Put a call's tensor results on the stand-in (``on``) or the CPU, copying where memory would move."""
    if isinstance(result, torch.Tensor):
        storage = _storage(result)
        if storage is None or (storage in _on_stand_in) == on:
            return result
        if not on or id(storage) in input_storages:
            # on a GPU this is a copy to the other device, never the same memory: a CPU tensor moved to the
            # stand-in (``ids.to(lab.device)``) or a stand-in tensor brought back (``.cpu()``)
            result = result.clone()
        if on:
            place_on_stand_in(result)
        return result
    if type(result) in (tuple, list) and any(isinstance(r, torch.Tensor) for r in result):  # e.g. split, unbind
        placed = [_placed(r, on, input_storages) for r in result]
        return placed if isinstance(result, list) else tuple(placed)
    if hasattr(result, "n_fields") and on:  # torch.return_types, e.g. topk's (values, indices): new tensors
        place_on_stand_in(*(r for r in result if isinstance(r, torch.Tensor)))
    return result


def _storage(tensor):
    try:
        return tensor.untyped_storage()
    except (RuntimeError, NotImplementedError, TypeError, AttributeError):
        return None  # sparse, nested or other tensors without one plain storage


def _tensors_in(args, kwargs):
    for value in (*args, *kwargs.values()):
        if isinstance(value, torch.Tensor):
            yield value
        elif isinstance(value, (list, tuple)):
            for item in value:
                if isinstance(item, torch.Tensor):
                    yield item


def _name(func) -> str:
    return getattr(func, "__name__", "") or ""
