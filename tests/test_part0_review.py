"""Part 0's identities that the chapters state but do not check in a cell, checked numerically here.

Chapter 00: the softmax is shift-invariant (Exercise 0.3) and the log-sum-exp value quoted for large logits.
Chapter 01: the expected quadratic form behind eq. (eq-kl-gauss), the closed form itself against PyTorch, the
1-D specialisation (Exercise 1.3) against quadrature, the matrix derivatives of Section 3.1, the Gaussian MLE
(eq-gauss-mle) as a maximum, moment matching as the forward-KL minimiser (Exercise 1.1), the mixture moments
of Section 4, and the 99%-junk bound (eq-junk) with its bits per dimension in 784 dimensions.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

D = torch.distributions
f64 = torch.float64


def spd(d: int, generator: torch.Generator) -> torch.Tensor:
    """A random symmetric positive-definite d x d matrix."""
    A = torch.randn(d, d, generator=generator, dtype=f64)
    return A @ A.T + 0.5 * torch.eye(d, dtype=f64)


def test_softmax_and_cross_entropy_are_shift_invariant():
    s = torch.randn(5, 7, generator=torch.Generator().manual_seed(0), dtype=f64)
    y = torch.tensor([0, 3, 6, 2, 1])
    for c in (-50.0, 3.0, 700.0):
        assert torch.allclose(torch.softmax(s + c, dim=1), torch.softmax(s, dim=1))
        assert torch.allclose(F.cross_entropy(s + c, y), F.cross_entropy(s, y))


def test_the_large_logit_cross_entropy_is_300():
    exact = 200 + math.log1p(math.exp(-300) + math.exp(-150)) + 100  # log(e^200 + e^-100 + e^50) - (-100)
    got = F.cross_entropy(torch.tensor([[200.0, -100.0, 50.0]]), torch.tensor([1])).item()
    assert abs(exact - 300) < 1e-12 and abs(got - exact) < 1e-3


def test_expected_quadratic_form_and_the_gaussian_kl():
    g = torch.Generator().manual_seed(1)
    d = 3
    mu0, mu1, m = (torch.randn(d, generator=g, dtype=f64) for _ in range(3))
    S0, S1 = spd(d, g), spd(d, g)
    A = torch.randn(d, d, generator=g, dtype=f64)
    A = A + A.T
    # E_{p0}[(x - m)^T A (x - m)] = tr(A S0) + (mu0 - m)^T A (mu0 - m), exactly: E[(x-m)(x-m)^T] = S0 + (mu0-m)(mu0-m)^T
    second = S0 + torch.outer(mu0 - m, mu0 - m)
    assert torch.allclose((A * second).sum(), torch.trace(A @ S0) + (mu0 - m) @ A @ (mu0 - m))
    # eq. (eq-kl-gauss) against torch.distributions, in both directions (and it is not symmetric)
    S1_inv, diff = torch.linalg.inv(S1), mu1 - mu0
    closed = 0.5 * (torch.trace(S1_inv @ S0) + diff @ S1_inv @ diff - d + torch.logdet(S1) - torch.logdet(S0))
    p0, p1 = D.MultivariateNormal(mu0, S0), D.MultivariateNormal(mu1, S1)
    assert torch.allclose(closed, D.kl_divergence(p0, p1))
    assert not torch.allclose(D.kl_divergence(p0, p1), D.kl_divergence(p1, p0))


def test_the_one_dimensional_kl_by_quadrature():
    mu_p, s_p, mu_q, s_q = 0.3, 0.7, -1.2, 1.9
    formula = math.log(s_q / s_p) + (s_p**2 + (mu_p - mu_q) ** 2) / (2 * s_q**2) - 0.5
    x = torch.linspace(-15, 15, 300_001, dtype=f64)
    p, q = (D.Normal(torch.tensor(m, dtype=f64), torch.tensor(s, dtype=f64)) for m, s in [(mu_p, s_p), (mu_q, s_q)])
    integrand = p.log_prob(x).exp() * (p.log_prob(x) - q.log_prob(x))
    assert abs(torch.trapezoid(integrand, x).item() - formula) < 1e-8


def test_the_matrix_derivatives_of_section_3_1():
    g = torch.Generator().manual_seed(2)
    Lam, S = spd(3, g).requires_grad_(True), spd(3, g)
    (grad,) = torch.autograd.grad(torch.logdet(Lam), Lam)
    assert torch.allclose(grad, torch.linalg.inv(Lam.detach()))
    (grad,) = torch.autograd.grad(torch.trace(Lam @ S), Lam)
    assert torch.allclose(grad, S)


def test_the_gaussian_mle_is_a_maximum_and_divides_by_n():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(200, 2, generator=g, dtype=f64) @ torch.tensor([[1.0, 0.0], [0.8, 0.5]], dtype=f64) + 3
    mu = x.mean(0)
    Sigma = (x - mu).T @ (x - mu) / len(x)

    def log_lik(m, C):
        return D.MultivariateNormal(m, C).log_prob(x).sum().item()

    best = log_lik(mu, Sigma)
    for _ in range(100):
        E = 0.05 * torch.randn(2, 2, generator=g, dtype=f64)
        assert log_lik(mu + 0.05 * torch.randn(2, generator=g, dtype=f64), Sigma + E @ E.T) < best
        assert log_lik(mu, Sigma + E @ E.T) < best
    assert log_lik(mu, Sigma * len(x) / (len(x) - 1)) < best  # the unbiased covariance is not the MLE


def _mixture(dtype=f64):
    pi = torch.tensor([0.2, 0.5, 0.3], dtype=dtype)
    mu = torch.tensor([[0.0, 0.0], [3.0, 1.0], [-2.0, 2.0]], dtype=dtype)
    L = torch.tensor([[[0.5, 0.0], [0.2, 0.4]], [[1.0, 0.0], [-0.3, 0.8]], [[0.3, 0.0], [0.0, 0.3]]], dtype=dtype)
    return pi, mu, L


def test_mixture_moments_and_moment_matching():
    pi, mu, L = _mixture()
    mean = pi @ mu
    second = (pi[:, None, None] * (L @ L.transpose(1, 2) + mu[:, :, None] * mu[:, None, :])).sum(0)  # E[x x^T]
    cov = second - torch.outer(mean, mean)
    # Section 4's exact moments, against the per-component law of total (co)variance
    within = (pi[:, None, None] * (L @ L.transpose(1, 2))).sum(0)
    between = (pi[:, None, None] * torch.einsum("ki,kj->kij", mu - mean, mu - mean)).sum(0)
    assert torch.allclose(cov, within + between)

    # Exercise 1.1: H(p, N(m, C)) = 1/2 log|C| + 1/2 tr(C^-1 cov) + 1/2 (mean - m)^T C^-1 (mean - m) + d/2 log 2 pi ...
    def cross_entropy(m, C):
        C_inv = torch.linalg.inv(C)
        quadratic = (mean - m) @ C_inv @ (mean - m)
        return 0.5 * (torch.logdet(C) + torch.trace(C_inv @ cov) + quadratic) + math.log(2 * math.pi)  # d = 2

    p = D.MixtureSameFamily(D.Categorical(pi), D.MultivariateNormal(mu, scale_tril=L))
    torch.manual_seed(6)
    x = p.sample((400_000,))
    m, C = mean + 0.3, 1.2 * cov
    mc = -D.MultivariateNormal(m, C).log_prob(x)
    assert abs(mc.mean().item() - cross_entropy(m, C).item()) < 4 * mc.std().item() / math.sqrt(len(x))
    # ... minimised by the moments themselves: every perturbation raises it
    g = torch.Generator().manual_seed(4)
    at_moments = cross_entropy(mean, cov)
    for _ in range(100):
        E = 0.1 * torch.randn(2, 2, generator=g, dtype=f64)
        assert cross_entropy(mean + 0.1 * torch.randn(2, generator=g, dtype=f64), cov + E @ E.T) > at_moments
        assert cross_entropy(mean, cov + E @ E.T) > at_moments


def test_the_junk_bound_and_its_bits_per_dimension():
    g = torch.Generator().manual_seed(5)
    log_p = -torch.rand(1000, generator=g, dtype=f64) * 50  # any log-densities
    log_r = -torch.rand(1000, generator=g, dtype=f64) * 50
    alpha = 0.01
    log_m = torch.logaddexp(math.log(alpha) + log_p, math.log(1 - alpha) + log_r)
    assert (-log_m.mean()) <= -log_p.mean() + math.log(1 / alpha)
    assert abs(math.log(100) - 4.61) < 0.005
    assert math.log(100) / (784 * math.log(2)) < 0.01  # eq-junk's penalty, spread over 784 dimensions, in bits
