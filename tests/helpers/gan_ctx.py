"""A StepContext stand-in for GAN step functions: records which player received gradients in each update."""

from __future__ import annotations

import contextlib


class RecordingCtx:
    """ctx for a step function called by hand: `log` gets (optimizer name, G has grads, D has grads) per update."""

    def __init__(self, G, D, opts, step: int = 0):
        self.G, self.D, self.opts, self.step, self.log = G, D, opts, step, []

    def autocast(self):
        return contextlib.nullcontext()

    def backward_step(self, loss, name):
        for m in (self.G, self.D):
            m.zero_grad(set_to_none=True)
        loss.backward()
        grads = lambda m: any(p.grad is not None for p in m.parameters())  # noqa: E731
        self.log.append((name, grads(self.G), grads(self.D)))
        self.opts[name].step()
