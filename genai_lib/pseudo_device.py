"""A pseudo accelerator for CPU machines: tensors "on the device" that refuse to mix with CPU tensors as CUDA does.

A chapter that forgets a `.to(device)` works on a laptop's CPU and crashes on a GPU, and CI has no GPU
to notice. With ``GENAI_DEVICE=pseudo`` the library trains on ``pseudo:0``, a device PyTorch treats as
a separate backend (its PrivateUse1 slot). Every tensor on it is a :class:`DeviceTensor`, a wrapper
around an ordinary CPU tensor that does the arithmetic; every operation on it first checks its
arguments the way CUDA's kernels do:

- a CPU tensor with one or more dimensions beside a device tensor is an error;
- a 0-dim CPU tensor is allowed (CUDA accepts CPU scalars in element-wise operations);
- CPU index tensors are allowed in ``x[idx]`` and ``x[idx] = v`` (CUDA moves them itself),
  but not in ``index_select``, ``gather`` or an embedding lookup (CUDA refuses those);
- a CPU ``torch.Generator`` cannot draw device random numbers;
- copies between the devices (``.to``, ``.cpu()``, ``copy_``) are what moves data, so they are allowed,
  and ``.numpy()`` of a device tensor fails, as it does for CUDA tensors;
- float64 on the device is an error, as on Apple's MPS GPUs, which have none: work that needs double
  precision moves to the CPU first.

The wrapper costs Python time on every operation of the device tensors (plain CPU operations run at
full speed), so it is a correctness check for smoke runs, not a way to train.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.library import Library
from torch.utils._pytree import tree_flatten, tree_map

NAME = "pseudo"

_aten = torch.ops.aten
# Operations whose job is to move data between devices.
_COPIES = {_aten._to_copy.default, _aten.copy_.default}
# A torch Library undoes its registrations when it is garbage-collected, so each is kept here.
_REGISTRATIONS: list[Library] = []
# Advanced indexing: CUDA accepts CPU index tensors here and moves them itself.
_CPU_INDICES_OK = {
    _aten.index.Tensor,
    _aten.index_put_.default,
    _aten.index_put.default,
    _aten._index_put_impl_.default,
}


def enable() -> torch.device:
    """Register the pseudo backend with PyTorch (once per process) and return its device, ``pseudo:0``.

    Call it before the process's first backward pass (``gl.setup`` does, through ``pick_device``):
    PyTorch's autograd engine sets up its per-device queues once, at the first backward.
    """
    name = torch._C._get_privateuse1_backend_name()
    if name == NAME:
        return torch.device(NAME, 0)
    if name != "privateuseone":
        raise RuntimeError(
            f"PyTorch's PrivateUse1 backend is already registered as {name!r} in this process, so the "
            f"{NAME!r} device cannot be; run the device check in a fresh Python process."
        )
    torch.utils.backend_registration._setup_privateuseone_for_python_backend(NAME, backend_module=_Backend())
    every_op = Library("_", "IMPL")
    every_op.fallback(_fallback, dispatch_key="PrivateUse1")
    # torch.tensor(data, device=...) copies with Python dispatch switched off, and PyTorch's Python
    # fallback cannot take that call, so copy_ gets its own kernel.
    copy = Library("aten", "IMPL")
    copy.impl("copy_", _copy_kernel, "PrivateUse1")
    _REGISTRATIONS.extend([every_op, copy])
    return torch.device(NAME, 0)


class _Backend:
    """What ``torch.pseudo`` answers, as ``torch.cuda`` does; its random numbers are drawn by the CPU generator."""

    def is_available(self) -> bool:
        return True

    def is_initialized(self) -> bool:
        return True

    def _is_in_bad_fork(self) -> bool:
        return False

    def device_count(self) -> int:
        return 1

    def current_device(self) -> int:
        return 0

    def synchronize(self, device: Any = None) -> None:
        """Nothing to wait for: the CPU kernels behind this device finish before they return."""

    def get_rng_state(self, device: Any = None) -> torch.Tensor:
        return torch.get_rng_state()

    def set_rng_state(self, state: torch.Tensor, device: Any = None) -> None:
        torch.set_rng_state(state)

    def manual_seed(self, seed: int) -> None:
        torch.default_generator.manual_seed(seed)  # the CPU generator draws this device's numbers

    def manual_seed_all(self, seed: int) -> None:
        self.manual_seed(seed)


def is_pseudo(device: Any) -> bool:
    """Whether `device` (a torch.device, a string or None) names the pseudo device."""
    return device is not None and torch.device(device).type == NAME


class DeviceTensor(torch.Tensor):
    """A tensor on ``pseudo:0``: its values live in the CPU tensor `host`; operations check devices first."""

    host: torch.Tensor

    @staticmethod
    def __new__(cls, host: torch.Tensor) -> DeviceTensor:
        wrapper = torch.Tensor._make_wrapper_subclass(
            cls,
            host.size(),
            strides=host.stride(),
            storage_offset=host.storage_offset(),
            dtype=host.dtype,
            device=torch.device(NAME, 0),
            requires_grad=host.requires_grad,
        )
        wrapper.host = host
        return wrapper

    # The flatten/unflatten pair makes this a "traceable wrapper subclass", and Module.to() then swaps
    # each parameter in place (torch.utils.swap_tensors), as it does for CUDA: an optimizer made before
    # the move still holds the parameters the model trains.
    def __tensor_flatten__(self) -> tuple[list[str], None]:
        return ["host"], None

    @staticmethod
    def __tensor_unflatten__(inner_tensors: dict, meta: None, outer_size: Any, outer_stride: Any) -> DeviceTensor:
        return DeviceTensor(inner_tensors["host"])

    def __reduce_ex__(self, protocol: Any) -> Any:
        # Saved as the CPU tensor it wraps: what torch.load(..., map_location="cpu") gives for a CUDA tensor.
        return self.host.detach().__reduce_ex__(protocol)

    def tolist(self) -> Any:
        """The values as (nested lists of) Python numbers, copied back as from a CUDA tensor."""
        return self.host.tolist()

    def __format__(self, spec: str) -> str:
        # f"{loss:.3f}" works for a 0-dim CUDA tensor; torch only does this for plain tensors.
        return self.item().__format__(spec) if self.dim() == 0 else object.__format__(self, spec)

    def __repr__(self, *, tensor_contents: Any = None) -> str:  # type: ignore[override]
        return f"{self.host!r} on {NAME}:0"

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        return _run(func, args, kwargs or {})


def _check(func: Any, args: tuple, kwargs: dict) -> None:
    """Raise CUDA's error if an operation on the device is handed a CPU tensor or a CPU generator."""
    flat, _ = tree_flatten((args, kwargs))
    for a in flat:
        if type(a) is torch.Tensor and a.dim() > 0 and func not in _COPIES:
            if func in _CPU_INDICES_OK and a.dtype in (torch.long, torch.int, torch.bool):
                continue
            raise RuntimeError(
                f"Expected all tensors to be on the same device, but found at least two devices, {NAME}:0 and "
                f"{a.device}! ({func}, a CPU tensor of shape {tuple(a.shape)}). On a GPU this line fails too: "
                "move the tensor to the model's device with .to(device) (device checking by genai_lib.pseudo_device)."
            )
        if isinstance(a, torch.Generator) and a.device.type != NAME:
            raise RuntimeError(
                f"Expected a '{NAME}' device type for generator but found '{a.device.type}' ({func}). On a GPU "
                "this fails too: draw with the CPU generator on the CPU, then move the result to the device."
            )


def _unwrap(a: Any) -> Any:
    if isinstance(a, DeviceTensor):
        return a.host
    if isinstance(a, torch.device) and a.type == NAME:
        return torch.device("cpu")
    return a


def _run(func: Any, args: tuple, kwargs: dict) -> Any:
    """Run `func` on the CPU tensors inside, after CUDA's device checks; results stay on the device."""
    _check(func, args, kwargs)
    out = func(*tree_map(_unwrap, args), **tree_map(_unwrap, kwargs))
    if "device" in kwargs and not is_pseudo(kwargs["device"]):
        return out  # e.g. .cpu(), or zeros_like(x, device="cpu")
    written = _written_argument(func, args, kwargs)
    if written is not None:
        return written  # an in-place or out= operation returns the tensor it changed (maybe a CPU one)
    results = tree_flatten(out)[0]
    if any(isinstance(o, torch.Tensor) and o.dtype == torch.float64 for o in results):
        raise TypeError(
            f"{func} made a float64 tensor on the device; Apple's MPS GPUs have no float64 (and CUDA GPUs run "
            "it slowly). Move the tensor to the CPU before .double() (device checking by genai_lib.pseudo_device)."
        )
    return tree_map(lambda o: DeviceTensor(o) if type(o) is torch.Tensor else o, out)


def _written_argument(func: Any, args: tuple, kwargs: dict) -> Any:
    """The argument a single-result in-place (``add_``) or out= (``arange.out``) operation writes, else None."""
    schema = func._schema
    if len(schema.returns) != 1 or schema.returns[0].alias_info is None or not schema.returns[0].alias_info.is_write:
        return None
    for i, arg in enumerate(schema.arguments):
        if arg.alias_info is not None and arg.alias_info.is_write:
            return args[i] if i < len(args) else kwargs[arg.name]
    return None


def _copy_kernel(self: torch.Tensor, src: torch.Tensor, non_blocking: bool = False) -> torch.Tensor:
    return _run(_aten.copy_.default, (self, src, non_blocking), {})


def _fallback(func: Any, *args: Any, **kwargs: Any) -> Any:
    """Every operation that reaches the PrivateUse1 backend: factories such as ``torch.randn(..., device=dev)``."""
    return _run(func, args, kwargs)
