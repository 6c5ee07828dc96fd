"""Checks for the exercises of chapter 11 (Denoising diffusion)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from genai_checks.answers import stored
from genai_checks.core import CheckError, expect, expect_answer, expect_close, passed

__all__ = ["check_add_noise", "check_add_noise_training_batch", "check_ddim_step"]


def _close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-4, atol: float = 1e-6) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=rtol, atol=atol))


# ----- Exercise 11.2: the closed form q(x_t | x_0) ----------------------------------------------------------


def add_noise_case() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Five 3x3 images, their noise, one step each and a 20-step schedule: (x_0, eps, t, betas)."""
    g = torch.Generator().manual_seed(0)
    betas = torch.linspace(0.01, 0.2, 20, dtype=torch.float64)  # large βs, so every slip changes the answer a lot
    x_0 = torch.rand(5, 1, 3, 3, generator=g, dtype=torch.float64) * 2 - 1
    eps = torch.randn(5, 1, 3, 3, generator=g, dtype=torch.float64)
    t = torch.tensor([0, 3, 7, 12, 19])
    return x_0, eps, t, betas


_ADD_NOISE_MISTAKES = [  # (stored answer of a wrong closed form, what it means)
    (
        "variances",
        "You used ᾱ_t and 1 - ᾱ_t as the coefficients; they are the *variances* of the two "
        "parts. Take square roots: sqrt(ᾱ_t) x_0 + sqrt(1 - ᾱ_t) ε.",
    ),
    (
        "alpha_not_alpha_bar",
        "You used α_t = 1 - β_t, one step's factor, where the closed form needs ᾱ_t = α_0 α_1 ... "
        "α_t, the product over all steps up to t (torch.cumprod(1 - betas, 0)).",
    ),
    (
        "alpha_bar_shifted",
        "Your ᾱ is off by one step: with 0-based t, ᾱ_t = prod of (1 - β_s) for s = 0..t "
        "inclusive, i.e. torch.cumprod(1 - betas, 0)[t].",
    ),
    ("swapped", "You swapped x_0 and ε: the signal x_0 is scaled by sqrt(ᾱ_t), the noise ε by sqrt(1 - ᾱ_t)."),
    ("cumprod_of_beta", "You took the cumulative product of β; ᾱ_t is the cumulative product of α = 1 - β."),
    (
        "noise_without_sqrt",
        "The noise coefficient is missing its square root: the noise has variance 1 - ᾱ_t, so "
        "multiply ε by sqrt(1 - ᾱ_t).",
    ),
]


def check_add_noise(add_noise: Callable[..., torch.Tensor]) -> None:
    """Exercise 11.2: x_t = sqrt(ᾱ_t) x_0 + sqrt(1 - ᾱ_t) ε with ᾱ_t = prod_{s<=t} (1 - β_s), 0-based t."""
    x_0, eps, t, betas = add_noise_case()
    try:
        got = add_noise(x_0.clone(), eps.clone(), t.clone(), betas.clone())
    except (TypeError, ValueError, RuntimeError, IndexError) as err:
        raise CheckError(
            f"add_noise raised {type(err).__name__}: {err}. x_0 and eps have shape (B, C, H, W) = "
            f"{tuple(x_0.shape)} and t has shape (B,): reshape ᾱ_t to (B, 1, 1, 1) so that it "
            "broadcasts over each image."
        ) from err
    expect_answer(got, "add_noise", "x_t")
    expect(isinstance(got, torch.Tensor), f"add_noise should return a tensor, got {type(got).__name__}.")
    got = got.double()
    expect(
        got.shape == x_0.shape,
        f"add_noise returned shape {tuple(got.shape)}, expected {tuple(x_0.shape)} (the "
        "shape of x_0): ᾱ_t must be (B, 1, 1, 1), one value per image, not (B,) "
        "broadcast against the last axis.",
    )
    expected = stored("ch11", "add_noise")
    if _close(got, expected):
        passed("add_noise draws x_t = sqrt(ᾱ_t) x_0 + sqrt(1 - ᾱ_t) ε with ᾱ_t the cumulative product of 1 - β.")
        return
    for key, message in _ADD_NOISE_MISTAKES:
        if _close(got, stored("ch11", f"add_noise/mistake/{key}")):
            raise CheckError(message)
    expect_close(
        got,
        expected,
        what="add_noise(x_0, eps, t, betas)",
        rtol=1e-4,
        atol=1e-6,
        hint="x_t = sqrt(ᾱ_t) x_0 + sqrt(1 - ᾱ_t) ε, ᾱ = torch.cumprod(1 - betas, 0), indexed at each example's own t.",
    )


def add_noise_batch_case() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """A training batch in float32: three RGB 4x4 images, two of them at the same t, DDPM's 1000-step linear schedule.

    As in a training step, (x_0, eps, t, betas); eps is needed again after the call, as the target of the loss.
    """
    g = torch.Generator().manual_seed(11)
    betas = torch.linspace(1e-4, 0.02, 1000)  # Ho et al. (2020)
    x_0 = torch.rand(3, 3, 4, 4, generator=g) * 2 - 1
    eps = torch.randn(3, 3, 4, 4, generator=g)
    t = torch.tensor([999, 250, 999])
    return x_0, eps, t, betas


def check_add_noise_training_batch(add_noise: Callable[..., torch.Tensor]) -> None:
    """Exercise 11.2, hidden: a float32 batch of RGB images as in a training step; x_0 and eps must stay unchanged."""
    x_0, eps, t, betas = add_noise_batch_case()
    args = {"x_0": x_0.clone(), "eps": eps.clone(), "t": t.clone(), "betas": betas.clone()}
    what = "add_noise on a float32 batch of three RGB 4x4 images (t = 999, 250, 999; T = 1000)"
    try:
        got = add_noise(*args.values())
    except (TypeError, ValueError, RuntimeError, IndexError) as err:
        raise CheckError(
            f"{what} raised {type(err).__name__}: {err}. Nothing may assume one channel or a given image size: "
            "reshape ᾱ_t to (B, 1, 1, 1) so that it broadcasts over (C, H, W)."
        ) from err
    expect_answer(got, "add_noise", "x_t")
    expect(isinstance(got, torch.Tensor), f"add_noise should return a tensor, got {type(got).__name__}.")
    expect(
        got.shape == x_0.shape,
        f"{what} returned shape {tuple(got.shape)}, expected {tuple(x_0.shape)}: reshape ᾱ_t to (B, 1, 1, 1).",
    )
    expect_close(
        got.double(),
        stored("ch11", "add_noise/hidden/training_batch"),
        what=what,
        rtol=1e-4,
        atol=1e-6,
        hint="x_t = sqrt(ᾱ_t) x_0 + sqrt(1 - ᾱ_t) ε, ᾱ = torch.cumprod(1 - betas, 0)[t], whatever C, H and W.",
    )
    for name, original in (("eps", eps), ("x_0", x_0), ("t", t), ("betas", betas)):
        expect(
            torch.equal(args[name], original),
            f"add_noise changed its argument {name} in place (*=, +=, .mul_() or .add_() on it). The caller still "
            "needs it: in a training step eps is the target of the loss |eps - eps_theta(x_t, t)|^2, which would "
            "silently become sqrt(1 - ᾱ_t) eps. Build x_t as a new tensor: "
            "ab.sqrt() * x_0 + (1 - ab).sqrt() * eps.",
        )
    passed("add_noise works on any (B, C, H, W) batch and leaves x_0 and eps as it found them.")


# ----- Exercise 11.3: one DDIM step with η = 0 -------------------------------------------------------------

DDIM_LEVELS = ((0.3, 0.6), (0.05, 0.5), (0.9, 0.99))  # (ᾱ_t, ᾱ_prev): mid, very noisy, nearly clean
LIBRARY_STEPS = (50, 30, 20)  # the library's schedule has 50 steps; the step goes from t = 30 to t_prev = 20


def ddim_case() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """x_t and ε̂ for DDIM_LEVELS (float64, 4 x 2), then x_t and ε̂ for the library's schedule (float32, 3 x 2)."""
    g = torch.Generator().manual_seed(1)
    x_t = torch.randn(4, 2, generator=g, dtype=torch.float64)
    eps = torch.randn(4, 2, generator=g, dtype=torch.float64)
    x = torch.randn(3, 2, generator=g)
    e = torch.randn(3, 2, generator=g)
    return x_t, eps, x, e


_DDIM_MISTAKES = [  # (stored answer of a wrong step, what it means), after "x_t unchanged"
    (
        "x0_hat",
        "You returned x̂_0, the predicted clean point. The DDIM step goes only to t_prev: "
        "sqrt(ᾱ_prev) x̂_0 + sqrt(1 - ᾱ_prev) ε̂.",
    ),
    ("no_sqrt", "The coefficients are missing square roots: sqrt(ᾱ_prev) x̂_0 + sqrt(1 - ᾱ_prev) ε̂."),
    (
        "renoised_x_t",
        "You scaled x_t where x̂_0 belongs: first predict x̂_0 = (x_t - sqrt(1 - ᾱ_t) ε̂) / sqrt(ᾱ_t), then re-noise it.",
    ),
    ("x0_hat_no_sqrt", "x̂_0 is missing square roots: x̂_0 = (x_t - sqrt(1 - ᾱ_t) ε̂) / sqrt(ᾱ_t)."),
    (
        "levels_swapped",
        "You swapped ᾱ_t and ᾱ_prev: x̂_0 uses the current level ᾱ_t, the re-noising the earlier (larger) ᾱ_prev.",
    ),
]


def check_ddim_step(ddim_step: Callable[..., torch.Tensor]) -> None:
    """Exercise 11.3: x_prev = sqrt(ᾱ_prev) x̂_0 + sqrt(1 - ᾱ_prev) ε̂ with x̂_0 = (x_t - sqrt(1 - ᾱ_t) ε̂) / sqrt(ᾱ_t)."""
    x_t, eps, x, e = ddim_case()
    for case, (ab, ab_prev) in enumerate(DDIM_LEVELS):
        try:
            got = ddim_step(x_t.clone(), eps.clone(), ab, ab_prev)
        except (TypeError, ValueError, RuntimeError) as err:
            raise CheckError(
                f"ddim_step raised {type(err).__name__}: {err}. alpha_bar_t and alpha_bar_prev are "
                "Python floats: use math.sqrt (or ** 0.5), not torch.sqrt."
            ) from err
        expect_answer(got, "ddim_step", "x_prev")
        expect(
            isinstance(got, torch.Tensor) and got.shape == x_t.shape,
            f"ddim_step should return a tensor shaped like x_t {tuple(x_t.shape)}.",
        )
        got = got.double()
        expected = stored("ch11", "ddim_step")[case]
        if _close(got, expected):
            continue
        if _close(got, x_t) or _close(got, stored("ch11", "ddim_step/mistake/same_level")[case]):
            raise CheckError(
                "Your step returns x_t unchanged: you used ᾱ_t where ᾱ_prev belongs in the second "
                "half. Re-noise x̂_0 to the *earlier* level: sqrt(ᾱ_prev) x̂_0 + sqrt(1 - ᾱ_prev) ε̂."
            )
        for key, message in _DDIM_MISTAKES:
            if _close(got, stored("ch11", f"ddim_step/mistake/{key}")[case]):
                raise CheckError(message)
        expect_close(
            got,
            expected,
            what=f"ddim_step with ᾱ_t = {ab}, ᾱ_prev = {ab_prev}",
            rtol=1e-4,
            atol=1e-6,
            hint="x_prev = sqrt(ᾱ_prev) x̂_0 + sqrt(1 - ᾱ_prev) ε̂.",
        )
    # The same step as the library's sampler (stored from NoiseSchedule.step(..., sampler="ddim", eta=0)).
    from genai_lib.diffusion import NoiseSchedule

    T, t, t_prev = LIBRARY_STEPS
    alpha_bar = NoiseSchedule(T).alpha_bar
    got = ddim_step(x.clone().double(), e.clone().double(), float(alpha_bar[t]), float(alpha_bar[t_prev]))
    expect_close(
        torch.as_tensor(got).float(),
        stored("ch11", "ddim_step/library"),
        what="ddim_step against NoiseSchedule.step(..., sampler='ddim')",
        rtol=1e-3,
        atol=1e-4,
    )
    passed("ddim_step predicts x̂_0 and re-noises it deterministically to ᾱ_prev, as NoiseSchedule.step does.")
