"""Numerical checks of Part I identities that the chapters state but do not compute in a cell (review, issue 16).

Each test names the chapter section or exercise whose identity it checks; all run in well under a second.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from scipy import stats

from genai_lib.losses import gan_g_loss


def test_ex2_1c_a_constant_discriminator_is_best_at_one_half_and_gives_the_generator_nothing():
    """Exercise 2.1(c): V(c) = log c + log(1 - c) is largest at c = 1/2, where it is -log 4; dD/dx = 0."""
    c = torch.linspace(1e-3, 1 - 1e-3, 9_999, dtype=torch.float64)
    v = c.log() + (1 - c).log()
    assert abs(c[v.argmax()].item() - 0.5) < 1e-3
    assert abs(v.max().item() + math.log(4)) < 1e-6
    # a generator's sample x feeds a constant logit: the gradient of either loss with respect to x is zero
    x = torch.randn(5, requires_grad=True)
    for saturating in (False, True):
        logit = 0.0 * x + 0.3
        (grad,) = torch.autograd.grad(gan_g_loss(logit, saturating=saturating), x)
        assert torch.equal(grad, torch.zeros_like(x))


def test_ch02_the_optimal_logit_is_the_log_density_ratio_and_maximises_the_pointwise_value():
    """Chapter 2, Section 2: D* = p / (p + q) maximises p log D + q log(1 - D), and logit(D*) = log p - log q."""
    g = torch.Generator().manual_seed(0)
    p, q = torch.rand(2, 50, generator=g, dtype=torch.float64) + 1e-3
    d_star = p / (p + q)
    assert torch.allclose(torch.logit(d_star), p.log() - q.log(), atol=1e-12)
    y = torch.linspace(1e-4, 1 - 1e-4, 20_001, dtype=torch.float64)[:, None]  # (20001, 1) candidate values of D
    best = y[(p * y.log() + q * (1 - y).log()).argmax(0), 0]
    assert torch.allclose(best, d_star, atol=1e-4)


def test_ch02_gradient_ratio_is_d_over_one_minus_d_when_every_fake_is_alike():
    """Chapter 2, Section 5: with one logit l and one dl/dtheta for all fakes, |grad sat| / |grad ns| = D / (1 - D)."""
    theta = torch.tensor([0.7, -1.3], dtype=torch.float64, requires_grad=True)
    for bias in (-8.0, -2.0, 0.0, 3.0):
        logits = (theta.sum() + bias).expand(16)  # 16 identical fakes
        g_sat = torch.autograd.grad(gan_g_loss(logits, saturating=True), theta)[0].norm()
        g_ns = torch.autograd.grad(gan_g_loss(logits), theta)[0].norm()
        d = torch.sigmoid(theta.sum() + bias).item()
        assert abs((g_sat / g_ns).item() - d / (1 - d)) < 1e-12 * max(1.0, d / (1 - d))


def test_ch02_three_sigma_share_of_a_2d_gaussian_is_chi2_with_two_degrees():
    """Chapter 2, Section 5: P(|x - mu| <= 3 sigma) = 1 - exp(-9/2) for a 2-D isotropic Gaussian (chi^2_2 CDF at 9)."""
    assert abs((1 - math.exp(-9 / 2)) - stats.chi2.cdf(9, df=2)) < 1e-12
    z = torch.randn(400_000, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    share = (z.norm(dim=1) <= 3).double().mean().item()
    assert abs(share - (1 - math.exp(-9 / 2))) < 4 * math.sqrt(0.011 * 0.989 / len(z))


def _stamp_counts(k: int, s: int, n: int = 40) -> torch.Tensor:
    """How many kernel stamps each output pixel of a 1-D transposed convolution receives (n inputs, no padding)."""
    out = torch.zeros((n - 1) * s + k)
    for i in range(n):
        out[i * s : i * s + k] += 1
    return out[k:-k]  # away from the borders


def test_ex3_1_an_interior_pixel_gets_floor_or_ceil_of_k_over_s_stamps():
    """Exercise 3.1(a, b): floor(k/s) or ceil(k/s) stamps, both when s does not divide k; 2-D counts multiply."""
    for k in range(1, 9):
        for s in range(1, 5):
            counts = set(_stamp_counts(k, s).int().tolist())
            assert counts == {k // s, -(-k // s)}, (k, s, counts)
    # the 2-D layer of Section 1.3: all-ones weights and inputs count the stamps
    for k, expected in ((3, {1, 2, 4}), (4, {4})):
        layer = torch.nn.ConvTranspose2d(1, 1, k, stride=2, padding=1, bias=False)
        torch.nn.init.ones_(layer.weight)
        with torch.no_grad():
            out = layer(torch.ones(1, 1, 12, 12))[0, 0, 3:-3, 3:-3]
        assert set(out.int().flatten().tolist()) == expected


def test_ch03_slerp_keeps_the_length_by_the_sine_identity():
    """Chapter 3, Section 6: sin^2 a + sin^2 b + 2 sin a sin b cos(a + b) = sin^2(a + b)."""
    a, b = torch.rand(2, 10_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * math.pi
    lhs = a.sin() ** 2 + b.sin() ** 2 + 2 * a.sin() * b.sin() * (a + b).cos()
    assert torch.allclose(lhs, (a + b).sin() ** 2, atol=1e-12)


def test_ex4_3_class_dependent_covariances_need_quadratic_features():
    """Exercise 4.3: log p(x, y) - log q(x, y) = psi(h) + <e_y, h> with h = (x, vec(x x^T), 1), as the solution says."""
    g = torch.Generator().manual_seed(0)
    d, K, N = 3, 4, 500
    mu, nu = torch.randn(2, K, d, generator=g, dtype=torch.float64)
    L = torch.randn(K, d, d, generator=g, dtype=torch.float64)
    S = L @ L.transpose(1, 2) + 0.5 * torch.eye(d, dtype=torch.float64)  # Sigma_y, (K, d, d)
    x = 2 * torch.randn(N, d, generator=g, dtype=torch.float64)
    y = torch.randint(K, (N,), generator=g)
    eye = torch.eye(d, dtype=torch.float64)
    lhs = torch.distributions.MultivariateNormal(mu[y], S[y]).log_prob(x) - torch.distributions.MultivariateNormal(
        nu[y], eye
    ).log_prob(x)
    S_inv = torch.linalg.inv(S)
    h = torch.cat([x, (x[:, :, None] * x[:, None, :]).flatten(1), torch.ones(N, 1, dtype=torch.float64)], 1)
    quad = (mu[:, None, :] @ S_inv @ mu[:, :, None])[:, 0]  # mu_y^T Sigma_y^-1 mu_y, (K, 1)
    const = -0.5 * quad - 0.5 * torch.logdet(S)[:, None] + 0.5 * nu.square().sum(1, keepdim=True)
    e = torch.cat([(S_inv @ mu[:, :, None])[:, :, 0] - nu, -0.5 * S_inv.flatten(1), const], 1)  # (K, d + d^2 + 1)
    psi = 0.5 * x.square().sum(1)
    assert h.shape[1] == d + d * d + 1
    assert torch.allclose(lhs, psi + (e[y] * h).sum(1), atol=1e-10)


def test_ch04_a_convolution_stretches_at_most_ceil_k_over_s_times_its_reshaped_kernel_norm():
    """Chapter 4, Section 2.2: sigma(conv) <= ceil(k/s) sigma(W reshaped to (C_out, C_in k k)), nearly reached."""
    g = torch.Generator().manual_seed(0)
    for c_in, c_out, k, s, n in ((1, 16, 4, 2, 28), (8, 16, 4, 2, 14), (3, 8, 3, 1, 16)):
        W = torch.ones(c_out, c_in, k, k, dtype=torch.float64) + 0.01 * torch.randn(
            c_out, c_in, k, k, generator=g, dtype=torch.float64
        )
        reshaped = torch.linalg.matrix_norm(W.reshape(c_out, -1), ord=2).item()
        x = torch.randn(1, c_in, n, n, generator=g, dtype=torch.float64)
        for _ in range(200):  # power iteration on the convolution as a linear map of the image
            x = F.conv_transpose2d(
                F.conv2d(x, W, stride=s, padding=1), W, stride=s, padding=1, output_padding=(n + 2 - k) % s
            )
            x = x / x.norm()
        operator = F.conv2d(x, W, stride=s, padding=1).norm().item()
        ceil = -(-k // s)
        assert reshaped < operator <= ceil * reshaped * (1 + 1e-9)
        assert operator > 0.6 * ceil * reshaped  # the factor is real, not a loose worst case
