"""Training a diffusion model with `genai_lib.fit`: the step factory and the EMA decay rule."""

from __future__ import annotations

from collections.abc import Callable

import torch

from genai_lib.diffusion.conditions import Cond
from genai_lib.diffusion.schedule import NoiseSchedule
from genai_lib.ema import EMA


def ema_decay(steps: int) -> float:
    """The EMA decay for a diffusion run of `steps` optimiser steps: 0.995 below 5,000 steps, else 0.999."""
    # With EMA's warm-up the average's weights have a mean age of about min(n / 10, 1 / (1 - decay)) updates after
    # n updates: at most 200, then 1,000. Ho et al.'s 0.9999 suits their 800k steps; in a 30k-step run it would
    # lag 3,000 steps (a tenth of the run) behind the model.
    return 0.995 if steps < 5_000 else 0.999


def diffusion_step(
    model: Callable[..., torch.Tensor],
    schedule: NoiseSchedule,
    *,
    p_uncond: float = 0.0,
    null_cond: Cond = None,
    ema: EMA | None = None,
):
    """A step function for `genai_lib.fit`: the simple loss (Ho et al., eq. 14), then the EMA update.

    The batch is x_0 (B, ...), or (x_0, cond) for a conditional model. With p_uncond > 0 each cond is replaced
    by null_cond at that rate (classifier-free guidance); null_cond defaults to the model's `null_cond`.
    """
    if null_cond is None:
        null_cond = getattr(model, "null_cond", None)
    if p_uncond > 0 and null_cond is None:
        raise ValueError(
            "p_uncond > 0 needs the null condition: pass null_cond= (for class labels the extra "
            "index n_classes, for contexts the null context), or give the model a null_cond."
        )

    def step(batch, ctx):
        x_0, cond = (batch[0], batch[1]) if isinstance(batch, (tuple, list)) else (batch, None)
        with ctx.autocast():
            loss = schedule.loss(model, x_0, cond=cond, p_uncond=p_uncond, null_cond=null_cond)
        ctx.backward_step(loss)
        if ema is not None:
            ema.update(model)
        return {"loss": loss}

    return step
