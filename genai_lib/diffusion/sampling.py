"""Sampling a diffusion model: the reverse loop from x_T to x_0, with classifier-free guidance.

The schedule (`genai_lib.diffusion.schedule.NoiseSchedule`) knows the mathematics of one reverse `step`; this module
walks its `timesteps`, calls the network once per step (twice, as one batch, when guiding) and hands each
prediction to `step`, the split diffusers makes between a scheduler and a pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext

import torch
from torch import nn

from genai_lib.diffusion.conditions import Cond, cat_cond, check_cond, cond_to, null_like
from genai_lib.diffusion.schedule import SAMPLERS, NoiseSchedule
from genai_lib.nn.modes import evaluating
from genai_lib.rng import randn


def predict_eps(
    model: Callable[..., torch.Tensor],
    x_t: torch.Tensor,
    t: torch.Tensor,
    cond: Cond,
    null: Cond,
    guidance_scale: float,
) -> torch.Tensor:
    """Classifier-free guidance (Ho & Salimans, 2022): ε̃ = ε(x_t, ∅) + w (ε(x_t, cond) - ε(x_t, ∅)).

    w = guidance_scale; w = 0 is the unconditional model and w = 1 the conditional one, each one pass.
    Otherwise both passes run as one batch of 2B. `null` is the null condition broadcast to cond's shape.
    """
    if cond is None:
        return model(x_t, t)
    if guidance_scale == 1.0:
        return model(x_t, t, cond)
    if guidance_scale == 0.0:
        return model(x_t, t, null)
    eps_c, eps_u = model(torch.cat([x_t, x_t]), torch.cat([t, t]), cat_cond(cond, null)).chunk(2)  # 2 x (B, ...)
    return eps_u + guidance_scale * (eps_c - eps_u)


@torch.no_grad()
def sample_diffusion(
    model: Callable[..., torch.Tensor],
    schedule: NoiseSchedule,
    shape: tuple[int, ...],
    *,
    cond: Cond = None,
    guidance_scale: float = 1.0,
    null_cond: Cond = None,
    sampler: str = "ddpm",
    num_inference_steps: int | None = None,
    eta: float = 0.0,
    clip_sample: float | None = None,
    generator: torch.Generator | None = None,
    x_T: torch.Tensor | None = None,
    device: torch.device | str | None = None,
    return_trajectory: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
    """Draw x_0 of `shape` from x_T ~ N(0, I) by the schedule's DDPM or DDIM steps, with guidance (`predict_eps`).

    `num_inference_steps` of the schedule's `timesteps` are visited (all T by default); `eta` and `clip_sample`
    are passed to `schedule.step`. With `return_trajectory`, also returns [x_T, ..., x_0] on the CPU. Caution:
    the clipped cosine schedule ends at ᾱ ≈ 0 (2e-7 for T = 100), so DDIM's first x̂_0 multiplies errors in ε̂
    by 1/sqrt(ᾱ); clip x̂_0 (`clip_sample=1.0` for images in [-1, 1]) or use the linear schedule.
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"Unknown sampler {sampler!r}; choose one of {SAMPLERS}.")
    if sampler == "ddpm" and eta != 0.0:
        raise ValueError("eta belongs to DDIM (eta=1 is DDPM's noise level); use sampler='ddim' to set it.")
    if len(shape) < 2:
        raise ValueError(f"shape must be (B, ...) with a batch dimension, got {tuple(shape)}.")
    ts = schedule.timesteps(num_inference_steps)
    if device is None:
        p = next(iter(model.parameters()), None) if isinstance(model, nn.Module) else None
        device = p.device if p is not None else torch.device("cpu")
    B = shape[0]
    cond, null = _conditions(cond, null_cond, guidance_scale, B, device)
    if x_T is None:
        x = randn(tuple(shape), generator, torch.device(device))
    elif tuple(x_T.shape) != tuple(shape):
        raise ValueError(f"x_T must have shape {tuple(shape)}, got {tuple(x_T.shape)}.")
    else:
        x = x_T.to(device)
    trajectory = [x.cpu()] if return_trajectory else None
    with evaluating(model) if isinstance(model, nn.Module) else nullcontext():  # a plain function has no mode
        for i, t in enumerate(ts.tolist()):
            t_prev = int(ts[i + 1]) if i + 1 < len(ts) else -1
            tb = torch.full((B,), t, device=device, dtype=torch.long)
            eps = predict_eps(model, x, tb, cond, null, guidance_scale)
            x = schedule.step(
                eps, t, x, t_prev=t_prev, sampler=sampler, eta=eta, clip_sample=clip_sample, generator=generator
            )
            if trajectory is not None:
                trajectory.append(x.cpu())
    return (x, trajectory) if trajectory is not None else x


def _conditions(cond: Cond, null_cond: Cond, guidance_scale: float, B: int, device) -> tuple[Cond, Cond]:
    """cond and the null condition broadcast to its shape, on `device`; the null one only when guidance needs it."""
    if cond is None:
        return None, None
    check_cond(cond, B)
    cond = cond_to(cond, device)
    if guidance_scale == 1.0:
        return cond, None
    if null_cond is None:
        raise ValueError(
            f"guidance_scale={guidance_scale} needs the unconditional prediction: pass "
            "null_cond= (the null class index n_classes, or the null context)."
        )
    return cond, cond_to(null_like(null_cond, cond), device)
