"""Device choice and mixed-precision policy: bf16 on Ampere+, fp16 with loss scaling before, fp32 on CPU."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

PRECISIONS = ("fp32", "bf16", "fp16")


@dataclass(frozen=True)
class Precision:
    """What autocast runs in, and whether the loss needs scaling to keep fp16 gradients alive."""

    name: str
    dtype: torch.dtype
    use_scaler: bool

    @property
    def enabled(self) -> bool:
        return self.dtype != torch.float32


_BY_NAME = {
    "fp32": Precision("fp32", torch.float32, False),
    "bf16": Precision("bf16", torch.bfloat16, False),
    "fp16": Precision("fp16", torch.float16, True),
}


def pick_device(prefer: str | None = None) -> torch.device:
    """The device to train on: `prefer`, else $GENAI_DEVICE, else CUDA, Apple's MPS, then CPU."""
    name = prefer or os.environ.get("GENAI_DEVICE")
    if name == "pseudo":
        from genai_lib import pseudo_device  # a CPU stand-in for a GPU that checks device placement

        return pseudo_device.enable()
    if name:
        device = torch.device(name)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(
                f"Device {name!r} was asked for, but PyTorch sees no CUDA GPU. "
                "Unset GENAI_DEVICE (or pass prefer=None) to fall back to the CPU, or install a CUDA build of torch."
            )
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def precision_for(device: torch.device | str, prefer: str = "auto") -> Precision:
    """The precision policy for `device`; `prefer` in {'auto', 'fp32', 'bf16', 'fp16'} overrides it.

    With prefer='auto', $GENAI_PRECISION decides when set: GENAI_PRECISION=fp16 on an A100 or H100 runs
    the fp16 + loss-scaling path a Colab T4 takes.
    """
    device = torch.device(device)
    source = "precision"
    if prefer == "auto" and os.environ.get("GENAI_PRECISION", "").strip():
        prefer, source = os.environ["GENAI_PRECISION"].strip(), "GENAI_PRECISION"
    if prefer != "auto":
        if prefer not in _BY_NAME:
            raise ValueError(f"Unknown {source} {prefer!r}; choose one of 'auto', {', '.join(map(repr, PRECISIONS))}.")
        if prefer == "fp16" and device.type != "cuda":
            raise ValueError("fp16 with loss scaling is only supported on CUDA GPUs; use 'bf16' or 'fp32' here.")
        return _BY_NAME[prefer]
    if device.type != "cuda":
        return _BY_NAME["fp32"]
    # A T4 (compute capability 7.5) reports bf16 as "supported" but emulates it slowly.
    major, _ = torch.cuda.get_device_capability(device)
    return _BY_NAME["bf16"] if major >= 8 else _BY_NAME["fp16"]


def autocast(device: torch.device | str, precision: Precision) -> contextlib.AbstractContextManager:
    """An autocast context for `precision`; a no-op in fp32."""
    device = torch.device(device)
    if not precision.enabled:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=precision.dtype)


def grad_scaler(device: torch.device | str, precision: Precision) -> torch.amp.GradScaler:
    """A GradScaler that is active only for fp16 (bf16 has fp32's exponent range and needs none)."""
    device = torch.device(device)
    return torch.amp.GradScaler("cuda" if device.type == "cuda" else "cpu", enabled=precision.use_scaler)


def maybe_compile(model: nn.Module, enabled: bool) -> nn.Module:
    """`torch.compile(model)` when enabled; keep `unwrap(model)` for saving weights."""
    return cast(nn.Module, torch.compile(model)) if enabled else model


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module under torch.compile and DistributedDataParallel wrappers."""
    while True:
        if hasattr(model, "_orig_mod"):  # torch.compile
            model = cast(nn.Module, model._orig_mod)
        elif isinstance(model, nn.parallel.DistributedDataParallel):
            model = model.module
        else:
            return model


def synchronize(device: torch.device) -> None:
    """Wait until the device has finished the work queued on it, so that a clock read after it is honest."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def describe(device: torch.device) -> str:
    """A short human name for a device, e.g. 'cuda (NVIDIA H100 80GB HBM3)'."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        threads = torch.get_num_threads()
        return f"cpu ({threads} thread{'s' * (threads != 1)})"
    return device.type
