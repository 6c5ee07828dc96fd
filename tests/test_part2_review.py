"""Identities of Part II (chapters 5 to 7) that no chapter cell checks numerically, checked here (issue 16 review)."""

import math

import torch

from genai_lib.losses import gaussian_kl
from genai_lib.models.vqvae import VQVAE, VQVAEConfig

LOG_2PI = math.log(2 * math.pi)


def _log_normal(v, mean, var):
    """log N(v; mean, var), elementwise, for float64 tensors."""
    return -0.5 * ((v - mean) ** 2 / var + torch.log(var) + LOG_2PI)


def test_the_best_gaussian_q_of_the_linear_gaussian_toy_is_the_posterior():
    """Chapter 5, Exercise 5.4: the ELBO's gradient in (m, v) vanishes at the exact posterior, the ELBO is concave
    there, and its value is log p(x)."""
    w, b, s, x0 = 2.0, 0.5, 0.7, 2.9
    s2 = torch.tensor(s**2, dtype=torch.float64)

    def elbo(mv):
        m, v = mv[0], mv[1]
        recon = -0.5 * torch.log(2 * math.pi * s2) - ((x0 - w * m - b) ** 2 + w**2 * v) / (2 * s2)
        return recon - 0.5 * (m**2 + v - torch.log(v) - 1)  # minus KL(N(m, v) || N(0, 1))

    posterior = torch.tensor([w * (x0 - b) / (w**2 + s**2), s**2 / (w**2 + s**2)], dtype=torch.float64)
    mv = posterior.clone().requires_grad_()
    (grad,) = torch.autograd.grad(elbo(mv), mv)
    assert grad.abs().max() < 1e-12
    hessian = torch.autograd.functional.hessian(elbo, posterior)
    assert torch.linalg.eigvalsh(hessian).max() < 0
    log_px = _log_normal(torch.tensor(x0, dtype=torch.float64), b, torch.tensor(w**2 + s**2, dtype=torch.float64))
    assert abs(elbo(posterior) - log_px) < 1e-12


def test_the_rate_is_the_mutual_information_plus_the_kl_of_the_aggregate_posterior():
    """Chapter 6, section 5: E_x KL(q(z|x) || p(z)) = I_q(x; z) + KL(q(z) || p(z)) >= I_q(x; z), on a data set of
    N images with one-dimensional Gaussian posteriors, where q(z) is their mixture; integrals on a grid."""
    g = torch.Generator().manual_seed(0)
    N = 6
    mu = 1.5 * torch.randn(N, 1, generator=g, dtype=torch.float64)
    logvar = 0.5 * torch.randn(N, 1, generator=g, dtype=torch.float64)
    z = torch.linspace(-15, 15, 300_001, dtype=torch.float64)
    dz = (z[1] - z[0]).item()
    log_q = _log_normal(z, mu, logvar.exp())  # (N, Z): log q(z | x_n)
    log_agg = torch.logsumexp(log_q, dim=0) - math.log(N)  # (Z,): log q(z), the aggregate posterior
    log_p = _log_normal(z, torch.tensor(0.0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64))
    rate = gaussian_kl(mu, logvar).mean()
    mutual_information = ((log_q.exp() * (log_q - log_agg)).sum(1) * dz).mean()
    kl_aggregate = (log_agg.exp() * (log_agg - log_p)).sum() * dz
    assert abs(rate - (mutual_information + kl_aggregate)) < 1e-8
    assert 0 < mutual_information < math.log(N) and kl_aggregate > 0


def test_a_one_hot_posterior_against_the_uniform_prior_costs_log_k():
    """Chapter 7, eq. (eq-vq-kl): KL(one-hot || uniform over K codes) = log K at every position, so a grid of h x w
    tokens costs h w log2 K bits under the uniform prior."""
    for K in (8, 128, 512):
        q = torch.zeros(K, dtype=torch.float64)
        q[3] = 1.0
        kl = torch.xlogy(q, q).sum() - (q * math.log(1 / K)).sum()
        assert abs(kl.item() - math.log(K)) < 1e-12
        assert abs(7 * 7 * kl.item() / math.log(2) - 49 * math.log2(K)) < 1e-9


def test_scaling_encoder_outputs_and_codes_together_changes_nothing_the_loss_sees():
    """Chapter 7, Exercise 7.4 (a): multiplying z_e and every code by c > 0 keeps the nearest codes, and dividing the
    decoder's first weights by c gives the same decoded image; the commitment term is what fixes the scale."""
    torch.manual_seed(0)
    model = VQVAE(VQVAEConfig(image_shape=(1, 8, 8), hidden=8, codebook_size=16, code_dim=4)).eval()
    z_e = torch.randn(3, 4, 2, 2)  # (B, D, h, w)
    c = 3.7
    with torch.no_grad():
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, 4)
        before = model.quantizer.nearest(flat)
        recon = model.decode(model.quantizer.lookup(before.view(3, 2, 2)))
        model.quantizer.codebook.mul_(c)
        after = model.quantizer.nearest(c * flat)
        model.decoder[0].weight.div_(c)
        recon_scaled = model.decode(model.quantizer.lookup(after.view(3, 2, 2)))
    assert torch.equal(before, after)
    assert torch.allclose(recon, recon_scaled, atol=1e-5)
