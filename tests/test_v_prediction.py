"""v-prediction (Salimans & Ho, 2022): the same reverse steps as ε-prediction, and a well-conditioned x̂_0."""

import math

import pytest
import torch

from genai_lib.diffusion import NoiseSchedule


def _true_outputs(schedule: NoiseSchedule, t: int):
    g = torch.Generator().manual_seed(t)
    x_0 = torch.rand(3, 1, 6, 6, generator=g) * 2 - 1
    eps = torch.randn(x_0.shape, generator=g)
    ab = float(schedule._alpha_bar64[t])
    return x_0, eps, schedule.add_noise(x_0, eps, t), math.sqrt(ab) * eps - math.sqrt(1 - ab) * x_0


@pytest.mark.parametrize("kind", ["linear", "cosine"])
@pytest.mark.parametrize("sampler, eta", [("ddpm", 0.0), ("ddim", 0.0), ("ddim", 0.5)])
def test_the_true_v_takes_the_step_the_true_eps_takes(kind, sampler, eta):
    s_eps, s_v = NoiseSchedule(50, kind), NoiseSchedule(50, kind, prediction="v")
    for t in (0, 20, 49):
        _, eps, x_t, v = _true_outputs(s_eps, t)
        a = s_eps.step(eps, t, x_t, sampler=sampler, eta=eta, generator=torch.Generator().manual_seed(1))
        b = s_v.step(v, t, x_t, sampler=sampler, eta=eta, generator=torch.Generator().manual_seed(1))
        assert torch.allclose(a, b, atol=1e-4), (t, (a - b).abs().max())


def test_pred_x0_reads_the_output_the_schedule_predicts():
    """pred_x0 of the true v (on a v-schedule) and of the true ε (on an ε-schedule) both give x_0, one t per example."""
    s_eps, s_v = NoiseSchedule(50, "cosine"), NoiseSchedule(50, "cosine", prediction="v")
    g = torch.Generator().manual_seed(0)
    x_0 = torch.rand(4, 1, 5, 5, generator=g) * 2 - 1
    eps = torch.randn(x_0.shape, generator=g)
    t = torch.tensor([0, 10, 30, 49])
    ab = s_v.alpha_bar[t].reshape(-1, 1, 1, 1)
    x_t, v = s_v.add_noise(x_0, eps, t), ab.sqrt() * eps - (1 - ab).sqrt() * x_0
    assert torch.allclose(s_v.pred_x0(x_t, v, t), x_0, atol=1e-5)
    # ε̂ is divided by sqrt(ᾱ_t), tiny at t = 49, so float32 rounding alone rules that step out for ε here
    assert torch.allclose(s_eps.pred_x0(x_t[:3], eps[:3], t[:3]), x_0[:3], atol=1e-4)
    assert not torch.allclose(s_eps.pred_x0(x_t, v, t), x_0, atol=1e-2)  # reading v̂ as ε̂ is wrong


def test_the_v_loss_is_zero_for_the_network_that_knows_x_0():
    schedule = NoiseSchedule(50, "cosine", prediction="v")
    x_0 = torch.rand(8, 1, 4, 4) * 2 - 1
    ab = schedule.alpha_bar

    def oracle(x_t, t):  # v = (sqrt(ᾱ) x_t - x_0) / sqrt(1 - ᾱ), from x_t = sqrt(ᾱ) x_0 + sqrt(1 - ᾱ) ε
        a = ab[t].reshape(-1, 1, 1, 1)
        return (a.sqrt() * x_t - x_0) / (1 - a).sqrt()

    assert schedule.loss(oracle, x_0, generator=torch.Generator().manual_seed(0)).item() < 1e-8
    assert NoiseSchedule(50, "cosine").loss(oracle, x_0).item() > 0.1  # not the ε target


def test_at_the_last_step_an_error_in_v_stays_small_in_x0_but_an_error_in_eps_explodes():
    T = 200
    s_eps, s_v = NoiseSchedule(T, "cosine"), NoiseSchedule(T, "cosine", prediction="v")
    t = T - 1
    x_0, eps, x_t, v = _true_outputs(s_eps, t)
    delta = 0.01 * torch.randn(x_t.shape, generator=torch.Generator().manual_seed(3))
    gain_eps = (s_eps._x0_of(eps + delta, x_t, s_eps._ab64(t)) - x_0).norm() / delta.norm()
    gain_v = (s_v._x0_of(v + delta, x_t, s_v._ab64(t)) - x_0).norm() / delta.norm()
    assert gain_eps > 1000  # 1 / sqrt(ᾱ_{T-1}): ᾱ is about 6e-8
    assert gain_v <= 1.0 + 1e-4  # sqrt(1 - ᾱ)


def test_an_unknown_prediction_says_which_exist():
    with pytest.raises(ValueError, match="Unknown prediction 'x0'; choose one of \\('epsilon', 'v'\\)"):
        NoiseSchedule(50, prediction="x0")
