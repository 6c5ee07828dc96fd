"""Statements of Part II (chapters 5 to 7) about the library, checked numerically."""

import math

import torch

from genai_lib.losses import gaussian_kl
from genai_lib.models.vqvae import VectorQuantizer, VQVAEConfig


def test_an_unused_code_keeps_its_direction_and_shrinks_to_the_origin():
    """Chapter 7, eq. (eq-ema-dead): with n_k = 0, e_k(t) = e_k(0) * gamma^t / (gamma^t + eps), eps = 1e-5."""
    torch.manual_seed(0)
    K, D, gamma, eps = 8, 4, 0.99, 1e-5
    vq = VectorQuantizer(VQVAEConfig(codebook_size=K, code_dim=D, decay=gamma)).train()
    start = vq.codebook.clone()
    z_e = start[0].view(1, D, 1, 1).expand(2, D, 3, 3).contiguous()  # every vector on code 0: codes 1.. unused
    lengths = {}
    for t in range(1, 2_501):
        vq(z_e)
        if t in (100, 1_000, 1_146, 2_000, 2_500):
            lengths[t] = (vq.codebook[1:].norm(dim=1) / start[1:].norm(dim=1)).tolist()
    for t, measured in lengths.items():
        predicted = gamma**t / (gamma**t + eps)
        assert max(abs(m - predicted) for m in measured) < 1e-3, (t, measured, predicted)
    assert min(lengths[100]) > 0.99  # still in place after a hundred steps ...
    assert max(abs(m - 0.5) for m in lengths[1_146]) < 0.01  # ... halfway at ln(eps) / ln(gamma) = 1,146 steps ...
    assert max(lengths[2_000]) < 1e-3  # ... and almost at the origin by 2,000
    cosine = torch.nn.functional.cosine_similarity(vq.codebook[1:], start[1:], dim=1)
    assert cosine.min() > 0.999  # along its own direction
    assert torch.allclose(vq.codebook[0], start[0], atol=1e-5)  # the used code stays on its vectors


def test_the_activity_bound_holds_for_the_1_over_n_variance_only():
    """Chapter 6, eq. (eq-kl-activity): E_x KL_u >= Var_x mu_u / 2 with Var dividing by N, not by N - 1."""
    g = torch.Generator().manual_seed(0)
    N, d = 50, 6
    mu = torch.randn(N, d, generator=g, dtype=torch.float64) * torch.linspace(0.1, 2, d, dtype=torch.float64)
    logvar = 0.5 * torch.randn(N, d, generator=g, dtype=torch.float64)
    mean_kl = torch.stack([gaussian_kl(mu[:, u : u + 1], logvar[:, u : u + 1]) for u in range(d)], 1).mean(0)  # (d,)
    assert (mean_kl - mu.var(dim=0, correction=0) / 2 >= -1e-12).all()
    # a collapsing unit: sigma_u = 1, posterior means centred on 0 -> both steps of the bound are equalities
    mu_u = torch.randn(N, 1, generator=g, dtype=torch.float64)
    mu_u = mu_u - mu_u.mean()
    kl_u = gaussian_kl(mu_u, torch.zeros_like(mu_u)).mean()
    assert math.isclose(kl_u.item(), mu_u.var(correction=0).item() / 2, rel_tol=1e-12)
    assert kl_u < mu_u.var() / 2  # the unbiased variance breaks the "bound" by the factor N / (N - 1)


def test_the_importance_weighted_bound_rises_to_log_p_with_a_gap_of_var_w_over_2k():
    """Chapter 6, section 3.1, on chapter 5's linear-Gaussian toy, where log p(x) and the posterior are exact:
    L_1 = ELBO (gap KL(q || posterior)), L_k <= log p(x) rises with k, and log p(x) - L_k ~ Var[w] / (2k p(x)^2)."""
    w, b, s, x0 = 2.0, 0.5, 0.7, 2.9

    def log_normal(v, mean, var):
        return -0.5 * ((v - mean) ** 2 / var + math.log(var) + math.log(2 * math.pi))

    log_px = log_normal(x0, b, w**2 + s**2)
    post_mean, post_var = w * (x0 - b) / (w**2 + s**2), s**2 / (w**2 + s**2)
    q_mean, q_var = post_mean + 0.3, 1.5 * post_var  # an imperfect encoder
    kl_q_post = 0.5 * (math.log(post_var / q_var) + (q_var + (q_mean - post_mean) ** 2) / post_var - 1)
    zs = torch.linspace(-12, 12, 200_001, dtype=torch.float64)  # Var[w] / p(x)^2 = int post^2 / q dz - 1
    ratio = torch.exp(2 * log_normal(zs, post_mean, post_var) - log_normal(zs, q_mean, q_var))  # post^2 / q
    rel_var = (ratio.sum() * (zs[1] - zs[0])).item() - 1
    g = torch.Generator().manual_seed(0)
    gaps = {}
    for k, reps in [(1, 200_000), (10, 200_000), (100, 20_000)]:
        z = q_mean + math.sqrt(q_var) * torch.randn(reps, k, generator=g, dtype=torch.float64)  # (reps, k) z ~ q
        log_w = log_normal(x0, w * z + b, s**2) + log_normal(z, 0.0, 1.0) - log_normal(z, q_mean, q_var)
        bound = torch.logsumexp(log_w, dim=1) - math.log(k)  # (reps,) one estimate of L_k each
        gaps[k] = (log_px - bound.mean().item(), bound.std().item() / math.sqrt(reps))
    gap1, se1 = gaps[1]
    assert abs(gap1 - kl_q_post) < 4 * se1  # L_1 is the ELBO: its gap is KL(q || posterior)
    assert gaps[1][0] > gaps[10][0] > gaps[100][0] > -4 * gaps[100][1]  # rises with k, stays below log p(x)
    gap10, se10 = gaps[10]
    assert abs(gap10 - rel_var / 20) < 0.15 * rel_var / 20 + 4 * se10  # delta method, up to O(1/k^2)
    gap100, se100 = gaps[100]
    assert abs(gap100 - rel_var / 200) < 4 * se100
