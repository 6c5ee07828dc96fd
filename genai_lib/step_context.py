"""What a step function gets besides its batch: `ctx.autocast()`, `ctx.backward_step(loss)` and `ctx.step`.

`backward_step` is the body of every plain PyTorch loop (`zero_grad`, `backward`, `step`) with what
mixed precision, gradient clipping and several processes add in between.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from genai_lib import device as _device
from genai_lib import distributed as _dist
from genai_lib.batch_source import Batch

StepFn = Callable[[Batch, "StepContext"], Mapping[str, Any]]


class StepContext:
    """What a step function gets besides its batch: autocast, `backward_step(loss, optimizer)` and the step number."""

    def __init__(
        self,
        *,
        optimizers: dict[str, torch.optim.Optimizer],
        scaler: torch.amp.GradScaler,
        device: torch.device,
        precision: _device.Precision,
        grad_clip: float | None,
    ) -> None:
        self.optimizers = optimizers
        self.scaler = scaler
        self.device = device
        self.precision = precision
        self.grad_clip = grad_clip
        self.step = 0
        self.stepped: set[str] = set()  # optimizers stepped since the scaler's last update

    def autocast(self):
        """Run the forward pass inside this: bf16/fp16 on GPUs that support it, nothing on CPU."""
        return _device.autocast(self.device, self.precision)

    def backward_step(self, loss: torch.Tensor, optimizer: str | None = None) -> torch.Tensor | None:
        """zero_grad, backward (scaled), average over ranks, unscale, clip, step one optimizer; returns the grad norm.

        The norm is the one before clipping (None when `grad_clip` is off). Name the optimizer when
        `fit` was given several (`ctx.backward_step(d_loss, "D")`).
        """
        name = self._name(optimizer)
        if name in self.stepped and self.scaler.is_enabled():
            # A second update of one optimizer within a step (several critic updates, say): the fp16 scaler
            # must close the first before it can unscale this one.
            self.scaler.update()
            self.stepped.clear()
        self.stepped.add(name)
        opt = self.optimizers[name]
        opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        params = [p for group in opt.param_groups for p in group["params"]]
        _dist.average_gradients(params)  # under torchrun: every rank now holds the global batch's gradient
        norm = None
        if self.grad_clip is not None:
            self.scaler.unscale_(opt)  # clip the true gradients, not the scaled ones
            norm = nn.utils.clip_grad_norm_(params, self.grad_clip)
        self.scaler.step(opt)
        return norm

    def update(self, loss: torch.Tensor, optimizer: str | None = None) -> torch.Tensor | None:
        """Deprecated: the old name of `backward_step`, kept for one release."""
        warnings.warn(
            "ctx.update(loss, ...) is now called ctx.backward_step(loss, ...); the old name will be "
            "removed in the next release.",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.backward_step(loss, optimizer)

    def finish_step(self) -> None:
        """`fit` calls this after each step function: the fp16 loss scaler adjusts its scale once per step."""
        if self.stepped:
            self.scaler.update()
            self.stepped.clear()

    def _name(self, optimizer: str | None) -> str:
        if optimizer is None:
            if len(self.optimizers) != 1:
                raise ValueError(
                    f"Several optimizers ({sorted(self.optimizers)}): name one in ctx.backward_step(loss, name)."
                )
            return next(iter(self.optimizers))
        if optimizer not in self.optimizers:
            raise KeyError(f"No optimizer named {optimizer!r}; fit was given {sorted(self.optimizers)}.")
        return optimizer
