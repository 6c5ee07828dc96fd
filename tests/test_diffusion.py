"""The diffusion process: schedules, q(x_t | x_0), the posterior, DDPM/DDIM steps, guidance, the step factory,
a 2-D training run."""

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

import genai_lib as gl
from genai_lib.diffusion import NoiseSchedule, diffusion_step, ema_decay, sample_diffusion
from genai_lib.ema import EMA
from genai_lib.nn import timestep_embedding

# ----- toy networks ---------------------------------------------------------------------------------------


class Toy(nn.Module):
    """A fixed random ε-predictor for points (B, 2), conditioned on labels 0..2 (3 is the null class)."""

    def __init__(self, n_classes: int = 3) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.W = nn.Parameter(torch.randn(2, 2, generator=g) * 0.5)
        self.emb = nn.Parameter(torch.randn(n_classes + 1, 2, generator=g))
        self.seen = []

    def forward(self, x_t, t, cond=None):
        self.seen.append(None if cond is None else cond.clone())
        out = torch.tanh(x_t @ self.W) * (1 + t[:, None].float() / 100)
        return out if cond is None else out + self.emb[cond]


class Denoiser(nn.Module):
    """A small MLP ε_θ(x_t, t) for 2-D points: the network diffusion.py never contains."""

    def __init__(self, width: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(2 + 16, width), nn.SiLU(), nn.Linear(width, width), nn.SiLU(), nn.Linear(width, 2)
        )

    def forward(self, x_t, t):
        return self.net(torch.cat([x_t, timestep_embedding(t, 16)], dim=1))  # (B, 2 + 16) -> (B, 2)


# ----- schedules ------------------------------------------------------------------------------------------


def test_linear_schedule_is_ho_et_al_with_golden_values():
    s = NoiseSchedule(num_timesteps=1000, kind="linear")
    assert s.betas.dtype == s.alpha_bar.dtype == torch.float32 and s.betas.shape == (1000,)
    assert s.betas[0].item() == pytest.approx(1e-4) and s.betas[-1].item() == pytest.approx(0.02)
    assert (s.alpha_bar.diff() < 0).all()
    assert s.alpha_bar[-1].item() == pytest.approx(4.0358e-5, rel=1e-3)  # ᾱ_T of Ho et al.'s schedule
    assert torch.allclose(s.alphas, 1 - s.betas)
    short = NoiseSchedule(num_timesteps=100)  # β scaled by 1000/T, so ᾱ_T is near 0 for short chains too
    assert short.betas[-1].item() == pytest.approx(0.2) and short.alpha_bar[-1] < 1e-2


def test_cosine_schedule_follows_its_closed_form_and_ends_near_zero():
    T, s = 1000, 0.008
    sched = NoiseSchedule(num_timesteps=T, kind="cosine")
    f = lambda u: math.cos((u + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
    for t in (0, 10, 500, 900, 990):  # before the β clip acts, ᾱ is exactly f(t/T) / f(0)
        assert sched.alpha_bar[t].item() == pytest.approx(f((t + 1) / T) / f(0), rel=1e-4)
    assert (sched.alpha_bar.diff() < 0).all() and sched.alpha_bar[-1] < 1e-2
    assert sched.betas.max().item() == pytest.approx(0.999)  # the clip
    assert (sched.betas.diff() >= 0).all()


def test_closed_form_q_equals_iterating_the_one_step_process():
    s = NoiseSchedule(num_timesteps=50)
    beta = np.linspace(1e-4, 0.02, 50) * 1000 / 50  # Ho et al.'s schedule rescaled to T = 50, in float64
    # Exact moments of x_t = sqrt(1 - β_t) x_{t-1} + sqrt(β_t) ε, iterated from x_0 (mean x_0, variance 0).
    x0, m, v = 1.7, 1.7, 0.0
    for t in range(50):
        m, v = math.sqrt(1 - beta[t]) * m, (1 - beta[t]) * v + beta[t]
        ab = s.alpha_bar[t].item()  # float32
        assert m == pytest.approx(math.sqrt(ab) * x0, abs=1e-6) and v == pytest.approx(1 - ab, abs=1e-6)
    # The same by sampling: the chain's endpoint vs add_noise at t, same first two moments.
    g = torch.Generator().manual_seed(0)
    N, t = 20000, 29
    x = torch.full((N, 1), x0)
    for k in range(t + 1):
        x = (1 - s.betas[k]).sqrt() * x + s.betas[k].sqrt() * torch.randn(N, 1, generator=g)
    direct = s.add_noise(torch.full((N, 1), x0), torch.randn(N, 1, generator=g), torch.full((N,), t))
    ab = s.alpha_bar[t].item()
    for sample in (x, direct):
        assert sample.mean().item() == pytest.approx(math.sqrt(ab) * x0, abs=4 / math.sqrt(N))
        assert sample.var().item() == pytest.approx(1 - ab, rel=0.04)


def test_posterior_equals_gaussian_conditioning():
    s = NoiseSchedule(num_timesteps=200, kind="cosine")
    ab = np.concatenate([[1.0], s._alpha_bar64.numpy()])  # ab[t + 1] = ᾱ_t; ab[0] = 1 for t = -1
    x0, xt = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    for t, t_prev in [(1, 0), (57, 56), (199, 198), (0, -1), (150, 100), (60, -1)]:
        # Joint Gaussian given x_0: x_prev ~ N(√ᾱ_p x_0, 1 - ᾱ_p), x_t = √(ᾱ_t/ᾱ_p) x_prev + noise
        # of variance 1 - ᾱ_t/ᾱ_p; condition x_prev on x_t.
        a, a_p = ab[t + 1], ab[t_prev + 1]
        cov, var_t = math.sqrt(a / a_p) * (1 - a_p), 1 - a
        mean = math.sqrt(a_p) * x0 + cov / var_t * (xt - math.sqrt(a) * x0)
        var = (1 - a_p) - cov**2 / var_t
        got_mean, got_var = s.posterior(x0.float(), xt.float(), t, t_prev)
        assert torch.allclose(got_mean.double(), mean, atol=1e-4, rtol=1e-4), (t, t_prev)
        assert got_var == pytest.approx(var, rel=1e-9, abs=1e-15)
        if t_prev == t - 1:
            assert got_var == pytest.approx(s.posterior_variance[t].item(), rel=1e-6, abs=1e-12)


def test_timesteps_are_descending_evenly_spaced_subsequences():
    s = NoiseSchedule(num_timesteps=1000)
    assert s.timesteps().tolist() == list(range(999, -1, -1))
    ts = s.timesteps(10)
    assert ts[0] == 999 and ts[-1] == 0 and len(ts) == 10 and (ts.diff() < 0).all()
    assert s.timesteps(1).tolist() == [999]
    for n in (2, 3, 7, 333, 999):
        ts = s.timesteps(n)
        assert len(ts.unique()) == n and ts[0] == 999 and ts[-1] == 0


def test_clear_errors():
    s = NoiseSchedule(num_timesteps=10, kind="cosine")
    x = torch.zeros(3, 2)
    with pytest.raises(ValueError, match=r"out of range.*\[0, 10\)"):
        s.add_noise(x, x, torch.tensor([0, 5, 10]))
    with pytest.raises(ValueError, match="out of range"):
        s.add_noise(x, x, -1)
    with pytest.raises(ValueError, match="integers"):
        s.add_noise(x, x, torch.tensor([0.5, 1.0, 2.0]))
    with pytest.raises(ValueError, match="shape of x_0"):
        s.add_noise(x, torch.zeros(3, 3), 1)
    with pytest.raises(ValueError, match="Unknown schedule kind 'quadratic'"):
        NoiseSchedule(kind="quadratic")
    with pytest.raises(ValueError, match="outside \\(0, 1\\)"):
        NoiseSchedule(num_timesteps=10, kind="linear")  # 0.02 · 1000/10 = 2 is no probability
    with pytest.raises(ValueError, match="Unknown sampler 'euler'"):
        sample_diffusion(Toy(), s, (3, 2), sampler="euler")
    with pytest.raises(ValueError, match="num_inference_steps must be an integer in \\[1, T=10\\]"):
        sample_diffusion(Toy(), s, (3, 2), num_inference_steps=11)
    with pytest.raises(ValueError, match="eta belongs to DDIM"):
        sample_diffusion(Toy(), s, (3, 2), eta=0.5)
    with pytest.raises(ValueError, match="x_T must have shape \\(3, 2\\)"):
        sample_diffusion(Toy(), s, (3, 2), x_T=torch.zeros(2, 2))
    with pytest.raises(ValueError, match="null_cond"):
        sample_diffusion(Toy(), s, (3, 2), cond=torch.zeros(3, dtype=torch.long), guidance_scale=3.0)
    with pytest.raises(ValueError, match="batch size 3"):
        s.loss(Toy(), x, cond=torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="p_uncond > 0 needs the null condition"):
        s.loss(Toy(), x, cond=torch.zeros(3, dtype=torch.long), p_uncond=0.1)
    with pytest.raises(ValueError, match="predict ε with the shape of x_t"):
        s.loss(lambda x_t, t: x_t[:, :1], x)
    with pytest.raises(ValueError, match="t_prev must be smaller than t"):
        s.step(x, 3, x, t_prev=3)


# ----- loss -----------------------------------------------------------------------------------------------


def test_loss_is_the_mse_to_the_drawn_noise_and_label_dropout_uses_the_null_class():
    s, model = NoiseSchedule(num_timesteps=100, kind="cosine"), Toy()
    x0, labels = torch.randn(64, 2), torch.randint(0, 3, (64,))
    loss = s.loss(model, x0, cond=labels, generator=torch.Generator().manual_seed(5))
    g = torch.Generator().manual_seed(5)  # the same draws in the same order: t, then ε
    t = torch.randint(0, 100, (64,), generator=g)
    eps = torch.randn(64, 2, generator=g)
    expected = ((model(s.add_noise(x0, eps, t), t, labels) - eps) ** 2).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)

    model.seen.clear()
    s.loss(model, x0, cond=labels, p_uncond=1.0, null_cond=3)
    assert (model.seen[-1] == 3).all()
    s.loss(model, torch.randn(4000, 2), cond=torch.zeros(4000, dtype=torch.long), p_uncond=0.25, null_cond=3)
    assert (model.seen[-1] == 3).float().mean().item() == pytest.approx(0.25, abs=0.03)
    assert set(model.seen[-1].tolist()) == {0, 3}


def test_context_dropout_replaces_whole_sequences_and_their_masks():
    s = NoiseSchedule(num_timesteps=20, kind="cosine")
    seen = {}

    def model(x_t, t, cond):
        seen["context"], seen["mask"] = cond
        return torch.zeros_like(x_t)

    ctx, mask = torch.ones(500, 4, 6), torch.zeros(500, 4, dtype=torch.bool)
    null = (torch.zeros(4, 6), torch.tensor([False, True, True, True]))
    s.loss(model, torch.randn(500, 2), cond=(ctx, mask), p_uncond=0.5, null_cond=null)
    dropped = seen["context"].sum(dim=(1, 2)) == 0
    assert 0.35 < dropped.float().mean() < 0.65
    assert (seen["context"][~dropped] == 1).all()
    assert seen["mask"][dropped, 1:].all() and not seen["mask"][~dropped].any()


# ----- samplers -------------------------------------------------------------------------------------------


def test_ddim_with_eta_zero_is_deterministic_given_x_T():
    s, model = NoiseSchedule(num_timesteps=100), Toy()
    x_T = torch.randn(8, 2)
    a = sample_diffusion(
        model, s, (8, 2), sampler="ddim", num_inference_steps=20, x_T=x_T, generator=torch.Generator().manual_seed(1)
    )
    b = sample_diffusion(
        model, s, (8, 2), sampler="ddim", num_inference_steps=20, x_T=x_T, generator=torch.Generator().manual_seed(2)
    )
    assert torch.equal(a, b)
    c = sample_diffusion(
        model,
        s,
        (8, 2),
        sampler="ddim",
        eta=1.0,
        num_inference_steps=20,
        x_T=x_T,
        generator=torch.Generator().manual_seed(2),
    )
    assert not torch.allclose(a, c)  # η > 0 draws noise


def test_ddim_with_eta_one_on_every_step_is_ddpm():
    s, model = NoiseSchedule(num_timesteps=50, kind="cosine"), Toy()
    x_T = torch.randn(16, 2)
    ddpm = sample_diffusion(model, s, (16, 2), x_T=x_T, generator=torch.Generator().manual_seed(3))
    ddim = sample_diffusion(
        model, s, (16, 2), sampler="ddim", eta=1.0, x_T=x_T, generator=torch.Generator().manual_seed(3)
    )
    assert torch.allclose(ddpm, ddim, atol=1e-4)


def test_ddpm_step_mean_is_the_epsilon_form_of_ho_et_al():
    s = NoiseSchedule(num_timesteps=100)
    x_t, eps, t = torch.randn(5, 2), torch.randn(5, 2), 40
    mean, _ = s.posterior(s.pred_x0(x_t, eps, t), x_t, t)
    a, b, ab = s.alphas[t], s.betas[t], s.alpha_bar[t]
    assert torch.allclose(mean, (x_t - b / (1 - ab).sqrt() * eps) / a.sqrt(), atol=1e-5)  # eq. 11


def test_guidance_scale_zero_is_unconditional_and_one_is_conditional():
    s, model = NoiseSchedule(num_timesteps=30), Toy()
    labels, null = torch.tensor([0, 1, 2, 0]), torch.full((4,), 3)

    def run(**kw):
        return sample_diffusion(model, s, (4, 2), generator=torch.Generator().manual_seed(7), **kw)

    assert torch.equal(run(cond=labels, guidance_scale=0.0, null_cond=3), run(cond=null))
    assert torch.equal(run(cond=labels, guidance_scale=1.0, null_cond=3), run(cond=labels))
    assert not torch.allclose(run(cond=labels), run(cond=null))
    # w = 3 batches both passes; the same by hand, one step at a time.
    model.seen.clear()
    guided = run(cond=labels, guidance_scale=3.0, null_cond=3)
    assert torch.equal(model.seen[0], torch.cat([labels, null]))  # one batch of 2B
    g = torch.Generator().manual_seed(7)
    x = torch.randn(4, 2, generator=g)
    for t in range(29, -1, -1):
        tb = torch.full((4,), t)
        e_c, e_u = model(x, tb, labels), model(x, tb, null)
        x = s.step(e_u + 3.0 * (e_c - e_u), t, x, generator=g)
    assert torch.allclose(guided, x, atol=1e-5)


def test_sample_restores_the_mode_and_tracks_no_gradients():
    s, model = NoiseSchedule(num_timesteps=5, kind="cosine"), Toy()
    seen_modes = []
    model.register_forward_pre_hook(lambda m, args: seen_modes.append(m.training))
    out, traj = sample_diffusion(model.train(), s, (3, 2), return_trajectory=True)
    assert model.training and not any(seen_modes) and not out.requires_grad
    assert len(traj) == 6 and torch.equal(traj[-1], out)
    sample_diffusion(model.eval(), s, (3, 2))
    assert not model.training


def test_clip_sample_bounds_the_final_sample():
    s = NoiseSchedule(num_timesteps=20, kind="cosine")
    out = sample_diffusion(
        lambda x_t, t: -5 * torch.ones_like(x_t), s, (6, 2), clip_sample=1.0, sampler="ddim", num_inference_steps=5
    )
    assert out.abs().max() <= 1.0 + 1e-6


def test_the_old_sample_method_warns_and_draws_the_same_numbers():
    s, model = NoiseSchedule(num_timesteps=10, kind="cosine"), Toy()
    kw = dict(cond=torch.tensor([0, 1, 2]), guidance_scale=2.0, null_cond=3, sampler="ddim", eta=0.5)
    with pytest.warns(DeprecationWarning, match="sample_diffusion"):
        old = s.sample(model, (3, 2), generator=torch.Generator().manual_seed(0), **kw)
    new = sample_diffusion(model, s, (3, 2), generator=torch.Generator().manual_seed(0), **kw)
    assert torch.equal(old, new)


# ----- the training step ------------------------------------------------------------------------------------


def test_diffusion_step_is_the_loss_its_gradient_and_one_ema_update():
    s, model = NoiseSchedule(num_timesteps=20, kind="cosine"), Toy()
    twin, ema = copy.deepcopy(model), EMA(model, decay=0.9)
    x0, y = torch.randn(16, 2), torch.randint(0, 3, (16,))
    with torch.random.fork_rng():
        torch.manual_seed(1)
        history = gl.fit(
            diffusion_step(model, s, p_uncond=0.5, null_cond=3, ema=ema),
            models={"model": model, "ema": ema},
            optimizers=torch.optim.SGD(model.parameters(), lr=0.1),
            data=lambda: (x0, y),
            config=gl.TrainConfig(steps=1, grad_clip=None, device="cpu", progress=False),
        )
    with torch.random.fork_rng():
        torch.manual_seed(1)  # the same draws of t, ε and the dropped labels
        loss = s.loss(twin, x0, cond=y, p_uncond=0.5, null_cond=3)
    loss.backward()
    assert history["loss"] == [loss.item()]
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        assert torch.equal(p.grad, q.grad)
    assert int(ema.num_updates) == 1
    assert (model.seen[-1] == 3).any() and not (model.seen[-1] == 3).all()  # some labels, not all, dropped


def test_diffusion_step_takes_bare_images_and_finds_the_null_class_on_the_model():
    s, model = NoiseSchedule(num_timesteps=20, kind="cosine"), Toy()
    model.null_cond = 3
    sgd = torch.optim.SGD(model.parameters(), lr=0.1)
    gl.fit(
        diffusion_step(model, s),
        models=model,
        optimizers=sgd,
        data=lambda: torch.randn(8, 2),
        config=gl.TrainConfig(steps=1, device="cpu", progress=False),
    )
    assert model.seen[-1] is None  # no labels in the batch: the unconditional call model(x_t, t)
    gl.fit(
        diffusion_step(model, s, p_uncond=1.0),
        models=model,
        optimizers=sgd,
        data=lambda: (torch.randn(8, 2), torch.zeros(8, dtype=torch.long)),
        config=gl.TrainConfig(steps=1, device="cpu", progress=False),
    )
    assert (model.seen[-1] == 3).all()
    with pytest.raises(ValueError, match="p_uncond > 0 needs the null condition"):
        diffusion_step(Toy(), s, p_uncond=0.1)


def test_ema_decay_is_one_rule_for_short_and_long_runs():
    assert ema_decay(20) == ema_decay(4_999) == 0.995
    assert ema_decay(5_000) == ema_decay(30_000) == 0.999


# ----- a tiny training run through gl.fit ------------------------------------------------------------------


def test_training_on_two_blobs_lowers_the_loss_and_ddim_samples_land_on_them():
    torch.manual_seed(0)
    centres = torch.tensor([[-2.0, 0.0], [2.0, 0.0]])
    # Linear: the cosine schedule's last ᾱ (2e-7 at T = 100, from the β clip) makes deterministic DDIM's first
    # x̂_0 = (x_T - sqrt(1 - ᾱ) ε̂) / sqrt(ᾱ) blow up any error in ε̂ unless x̂_0 is clipped (images).
    s, model = NoiseSchedule(num_timesteps=100, kind="linear"), Denoiser()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)

    def data():
        return centres[torch.randint(0, 2, (256,))] + 0.2 * torch.randn(256, 2)

    history = gl.fit(
        diffusion_step(model, s),
        models=model,
        optimizers=opt,
        data=data,
        config=gl.TrainConfig(steps=600, log_every=100, device="cpu", progress=False),
    )
    assert history["loss"][-1] < 0.7 * history["loss"][0]
    x = sample_diffusion(
        model, s, (500, 2), sampler="ddim", num_inference_steps=25, generator=torch.Generator().manual_seed(0)
    )
    dist = torch.cdist(x, centres)  # (500, 2)
    near = dist.min(dim=1).values < 0.75
    assert near.float().mean() > 0.8, near.float().mean()  # 0.88-0.91 over seeds 0-3
    left = (dist.argmin(dim=1) == 0).float().mean()
    assert 0.2 < left < 0.8  # both blobs, not one
