"""Reference solutions for chapter 11's checks (the closed form q(x_t | x_0), one DDIM step), with the common
mistakes."""

import math

import torch

from genai_checks.ch11 import DDIM_LEVELS, LIBRARY_STEPS, add_noise_batch_case, add_noise_case, ddim_case
from genai_lib.diffusion import NoiseSchedule


def add_noise_answers() -> dict[str, torch.Tensor]:
    """x_t = sqrt(ᾱ_t) x_0 + sqrt(1 - ᾱ_t) ε (Ho et al. 2020, eq. 4), and what the wrong versions give."""
    x_0, eps, t, betas = add_noise_case()
    view = (-1, 1, 1, 1)

    def form(coef: torch.Tensor, sqrt: bool = True) -> torch.Tensor:
        c = coef[t].reshape(view)
        return (c.sqrt() * x_0 + (1 - c).sqrt() * eps) if sqrt else (c * x_0 + (1 - c) * eps)

    ab = torch.cumprod(1 - betas, 0)
    ab_t = ab[t].reshape(view)
    cumprod_beta = torch.cumprod(betas, 0)[t].reshape(view)
    return {
        "add_noise": form(ab),
        "add_noise/mistake/variances": form(ab, sqrt=False),
        "add_noise/mistake/alpha_not_alpha_bar": form(1 - betas),
        "add_noise/mistake/alpha_bar_shifted": form(torch.cat([torch.ones(1, dtype=torch.float64), ab[:-1]])),
        "add_noise/mistake/swapped": ab_t.sqrt() * eps + (1 - ab_t).sqrt() * x_0,
        "add_noise/mistake/cumprod_of_beta": cumprod_beta.sqrt() * x_0 + (1 - cumprod_beta).sqrt() * eps,
        "add_noise/mistake/noise_without_sqrt": ab_t.sqrt() * x_0 + (1 - ab_t) * eps,
    }


def ddim(x_t, eps, ab, ab_prev):
    """One DDIM step with η = 0 (Song et al. 2021, eq. 12): predict x̂_0, re-noise it to ᾱ_prev."""
    x0 = (x_t - math.sqrt(1 - ab) * eps) / math.sqrt(ab)
    return math.sqrt(ab_prev) * x0 + math.sqrt(1 - ab_prev) * eps


def ddim_answers() -> dict[str, object]:
    x_t, eps, x, e = ddim_case()
    out: dict[str, list] = {
        key: [] for key in ("", "same_level", "x0_hat", "no_sqrt", "renoised_x_t", "x0_hat_no_sqrt", "levels_swapped")
    }
    for ab, ab_prev in DDIM_LEVELS:
        x0 = (x_t - math.sqrt(1 - ab) * eps) / math.sqrt(ab)
        wrong_x0 = (x_t - (1 - ab) * eps) / ab
        out[""].append(ddim(x_t, eps, ab, ab_prev))
        out["same_level"].append(ddim(x_t, eps, ab, ab))
        out["x0_hat"].append(x0)
        out["no_sqrt"].append(ab_prev * x0 + (1 - ab_prev) * eps)
        out["renoised_x_t"].append(math.sqrt(ab_prev) * x_t + math.sqrt(1 - ab_prev) * eps)
        out["x0_hat_no_sqrt"].append(math.sqrt(ab_prev) * wrong_x0 + math.sqrt(1 - ab_prev) * eps)
        out["levels_swapped"].append(ddim(x_t, eps, ab_prev, ab))
    T, t, t_prev = LIBRARY_STEPS
    library = NoiseSchedule(T).step(e, t, x, t_prev=t_prev, sampler="ddim", eta=0.0)
    return {"ddim_step" + (f"/mistake/{key}" if key else ""): value for key, value in out.items()} | {
        "ddim_step/library": library
    }


def add_noise_hidden_answers() -> dict[str, torch.Tensor]:
    """x_t on the hidden check's float32 training batch, computed in float64 from the same numbers."""
    x_0, eps, t, betas = (a.double() if a.is_floating_point() else a for a in add_noise_batch_case())
    ab = torch.cumprod(1 - betas, 0)[t].reshape(-1, 1, 1, 1)
    return {"add_noise/hidden/training_batch": ab.sqrt() * x_0 + (1 - ab).sqrt() * eps}


def answers() -> dict[str, object]:
    return {**add_noise_answers(), **add_noise_hidden_answers(), **ddim_answers()}
