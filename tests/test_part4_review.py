"""Part IV review (chapters 11-12): the library's sampler is exactly the equations the chapters write down.

A reference sampler written straight from the prose (chapter 11's DDPM update in its ε-form, the posterior
eq. (eq-posterior) when x̂_0 is clipped, DDIM's eq. (eq-ddim) with its σ², chapter 12's guided ε̃ of eq. (eq-cfg))
in float64, with paper indices 1..T, is compared with `sample_diffusion` on small cases that share the noise.
"""

import math

import pytest
import torch

from genai_lib.diffusion import NoiseSchedule, sample_diffusion

NULL = 10  # the null class of the toy denoiser below


def toy_denoiser(schedule: NoiseSchedule, seed: int):
    """ε_θ(x_t, t, y): the optimal guess for N(0, 1/4) data, a small nonlinear term and a per-class shift."""
    g = torch.Generator().manual_seed(seed)
    W, E = 0.3 * torch.randn(3, 3, generator=g), 0.5 * torch.randn(NULL + 1, 3, generator=g)

    def model(x_t, t, cond=None):
        ab = schedule.alpha_bar.to(x_t.dtype)[t].unsqueeze(1)  # (B, 1)
        eps = (1 - ab).sqrt() * x_t / (0.25 * ab + 1 - ab) + 0.1 * torch.tanh(x_t @ W.T.to(x_t.dtype))
        return eps if cond is None else eps + E[cond].to(x_t.dtype)

    return model


def reference_sampler(model, schedule, x_T, *, sampler, steps, eta, clip, cond, w, generator):
    """The chapters' equations, one by one, in float64 with paper indices (ᾱ_0 = 1)."""
    betas = schedule._betas64
    T = len(betas)
    alpha_bar = torch.cat([torch.ones(1, dtype=torch.float64), torch.cumprod(1 - betas, 0)])  # ᾱ_0..ᾱ_T
    if steps is None:
        levels = list(range(T, 0, -1))
    elif steps == 1:
        levels = [T]
    else:  # evenly spaced from T down to 1, rounding halves up
        levels = [math.floor(i * (T - 1) / (steps - 1) + 0.5) + 1 for i in range(steps)][::-1]
    x = x_T.double()
    for i, t in enumerate(levels):
        s = levels[i + 1] if i + 1 < len(levels) else 0
        tb = torch.full((len(x),), t - 1, dtype=torch.long)  # the code's 0-based index
        if cond is None:
            eps = model(x, tb)
        else:  # eq. (eq-cfg): ε(∅) + w (ε(y) - ε(∅))
            eps_u = model(x, tb, torch.full_like(cond, NULL))
            eps = eps_u + w * (model(x, tb, cond) - eps_u)
        ab_t, ab_s = alpha_bar[t].item(), alpha_bar[s].item()
        if sampler == "ddpm":
            # a stride t -> s uses β = 1 - ᾱ_t / ᾱ_s in the same formulas (respacing, Nichol & Dhariwal)
            beta = betas[t - 1].item() if s == t - 1 else 1 - ab_t / ab_s
            var = (1 - ab_s) / (1 - ab_t) * beta  # β̃_t
            if clip is None:  # x_{t-1} = (x_t - β_t / sqrt(1 - ᾱ_t) ε) / sqrt(α_t) + σ_t z
                mean = (x - beta / math.sqrt(1 - ab_t) * eps) / math.sqrt(1 - beta)
            else:  # μ̃_t(x̂_0, x_t) of eq. (eq-posterior), with x̂_0 clipped
                x0 = ((x - math.sqrt(1 - ab_t) * eps) / math.sqrt(ab_t)).clamp(-clip, clip)
                mean = (math.sqrt(ab_s) * beta * x0 + math.sqrt(1 - beta) * (1 - ab_s) * x) / (1 - ab_t)
        else:  # eq. (eq-ddim)
            x0 = (x - math.sqrt(1 - ab_t) * eps) / math.sqrt(ab_t)
            if clip is not None:  # the ε that agrees with the clipped x̂_0
                x0 = x0.clamp(-clip, clip)
                eps = (x - math.sqrt(ab_t) * x0) / math.sqrt(1 - ab_t)
            var = eta**2 * (1 - ab_s) / (1 - ab_t) * (1 - ab_t / ab_s)
            mean = math.sqrt(ab_s) * x0 + math.sqrt(1 - ab_s - var) * eps
        no_noise = s == 0 or var == 0
        x = mean if no_noise else mean + math.sqrt(var) * torch.randn(x.shape, generator=generator).double()
    return x


CASES = [  # sampler, num_inference_steps, eta, clip_sample, conditional, guidance scale
    ("ddpm", None, 0.0, None, False, 1.0),
    ("ddpm", None, 0.0, 1.0, False, 1.0),
    ("ddpm", None, 0.0, None, True, 0.0),
    ("ddpm", 7, 0.0, None, False, 1.0),
    ("ddpm", 7, 0.0, 1.0, True, 2.0),
    ("ddim", None, 0.0, None, False, 1.0),
    ("ddim", 5, 0.0, None, False, 1.0),
    ("ddim", 5, 0.5, None, False, 1.0),
    ("ddim", 6, 1.0, None, False, 1.0),
    ("ddim", 5, 0.0, 1.0, False, 1.0),
    ("ddim", 5, 0.0, None, True, 3.0),
    ("ddim", 4, 0.3, 1.5, True, 2.0),
    ("ddim", 1, 0.0, None, False, 1.0),
]


@pytest.mark.parametrize("kind, T", [("linear", 50), ("cosine", 40), ("linear", 25)])
@pytest.mark.parametrize("sampler, steps, eta, clip, conditional, w", CASES)
def test_sample_diffusion_is_the_equations_of_chapters_11_and_12(kind, T, sampler, steps, eta, clip, conditional, w):
    schedule = NoiseSchedule(T, kind=kind)
    model = toy_denoiser(schedule, seed=T)
    x_T = torch.randn(6, 3, generator=torch.Generator().manual_seed(1))
    cond = torch.arange(6) % NULL if conditional else None
    lib = sample_diffusion(model, schedule, (6, 3), x_T=x_T, sampler=sampler, num_inference_steps=steps, eta=eta,
                           clip_sample=clip, cond=cond, guidance_scale=w, null_cond=NULL,
                           generator=torch.Generator().manual_seed(5))  # fmt: skip
    ref = reference_sampler(model, schedule, x_T, sampler=sampler, steps=steps, eta=eta, clip=clip, cond=cond, w=w,
                            generator=torch.Generator().manual_seed(5))  # fmt: skip
    assert torch.allclose(lib.double(), ref, rtol=1e-4, atol=1e-4), (lib.double() - ref).abs().max()


def test_ddim_with_eta_one_over_a_stride_is_the_posterior_of_that_stride():
    """Chapter 11: with η = 1, DDIM's σ² is β̃ for the step t -> s and its mean is μ̃ with β = 1 - ᾱ_t / ᾱ_s."""
    schedule = NoiseSchedule(100, kind="cosine")
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(5, 2, generator=g, dtype=torch.float64), torch.randn(5, 2, generator=g, dtype=torch.float64)
    for t, s in ((99, 30), (60, 59), (40, 0)):
        ab_t, ab_s = float(schedule._alpha_bar64[t]), float(schedule._alpha_bar64[s])
        x_t = math.sqrt(ab_t) * x0 + math.sqrt(1 - ab_t) * eps
        sigma2 = (1 - ab_s) / (1 - ab_t) * (1 - ab_t / ab_s)
        ddim_mean = math.sqrt(ab_s) * x0 + math.sqrt(1 - ab_s - sigma2) * eps
        mean, var = schedule.posterior(x0, x_t, t, s)
        assert torch.allclose(ddim_mean, mean, atol=1e-10) and math.isclose(var, sigma2, rel_tol=1e-10)
        assert sigma2 <= 1 - ab_s  # η ≤ 1 keeps the square root of eq. (eq-ddim) real


def test_the_elbo_weight_with_beta_tilde_simplifies_as_chapter_11_says():
    """β_t² / (2 β̃_t α_t (1 - ᾱ_t)) = β_t / (2 α_t (1 - ᾱ_{t-1})) for t >= 2."""
    for kind in ("linear", "cosine"):
        s = NoiseSchedule(1000, kind=kind)
        b, ab = s._betas64, s._alpha_bar64
        ab_prev = torch.cat([torch.ones(1, dtype=torch.float64), ab[:-1]])
        beta_tilde = (1 - ab_prev) / (1 - ab) * b
        w1 = (b**2 / (2 * beta_tilde * (1 - b) * (1 - ab)))[1:]
        w2 = (b / (2 * (1 - b) * (1 - ab_prev)))[1:]
        assert torch.allclose(w1, w2, rtol=1e-12)


def test_the_two_guidance_conventions_are_the_same_with_w_paper_equal_to_w_minus_one():
    """Chapter 12: ε(∅) + w (ε(y) - ε(∅)) = (1 + w') ε(y) - w' ε(∅) with w' = w - 1 (Ho & Salimans' eq. 6)."""
    g = torch.Generator().manual_seed(0)
    eps_c, eps_u = (
        torch.randn(4, 3, generator=g, dtype=torch.float64),
        torch.randn(4, 3, generator=g, dtype=torch.float64),
    )
    for w in (0.0, 1.0, 2.5, 7.5):
        book = eps_u + w * (eps_c - eps_u)
        paper = (1 + (w - 1)) * eps_c - (w - 1) * eps_u
        assert torch.allclose(book, paper, atol=1e-12)


def test_pred_x0_inverts_add_noise_and_tweedie_gives_the_posterior_mean():
    """x̂_0 = (x_t - sqrt(1 - ᾱ_t) ε) / sqrt(ᾱ_t) undoes add_noise; for Gaussian data, Tweedie's
    E[x_0 | x_t] = (x_t + (1 - ᾱ_t) ∇log p_t(x_t)) / sqrt(ᾱ_t) is the conditional mean, and the optimal
    ε* = -sqrt(1 - ᾱ_t) ∇log p_t gives the same x̂_0 through pred_x0 (chapter 12, eq. (eq-eps-score))."""
    s = NoiseSchedule(100, kind="cosine")
    g = torch.Generator().manual_seed(0)
    x_0, eps = torch.randn(8, 2, generator=g), torch.randn(8, 2, generator=g)
    t = torch.arange(0, 96, 12)  # (8,): one level per example
    assert torch.allclose(s.pred_x0(s.add_noise(x_0, eps, t), eps, t), x_0, atol=1e-4)
    v = 0.3  # data x_0 ~ N(0, v I)
    for k in (5, 50, 90):
        ab = float(s._alpha_bar64[k])
        x_t = torch.linspace(-3, 3, 13, dtype=torch.float64).requires_grad_(True)
        log_p = torch.distributions.Normal(0.0, math.sqrt(ab * v + 1 - ab)).log_prob(x_t).sum()
        (score,) = torch.autograd.grad(log_p, x_t)
        tweedie = (x_t + (1 - ab) * score) / math.sqrt(ab)
        posterior_mean = math.sqrt(ab) * v / (ab * v + 1 - ab) * x_t  # Cov(x_0, x_t) / Var(x_t) · x_t
        assert torch.allclose(tweedie, posterior_mean, atol=1e-10)
        eps_star = -math.sqrt(1 - ab) * score
        via_eps = s.pred_x0(x_t.detach().unsqueeze(1), eps_star.unsqueeze(1), k).squeeze(1)
        assert torch.allclose(via_eps, posterior_mean.detach(), atol=1e-5)
