"""Loss terms on logits and distribution parameters: Gaussian KL, likelihoods, the ELBO, and the GAN objectives."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LOG_2PI = math.log(2 * math.pi)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) in closed form, summed over the last dimension: (B, D) -> (B,)."""
    return 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar).sum(-1)


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log p(x | logits) for independent Bernoulli pixels, summed per example: (B, ...) -> (B,)."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def gaussian_nll(mean: torch.Tensor, x: torch.Tensor, log_sigma: torch.Tensor | float = 0.0) -> torch.Tensor:
    """-log N(x; mean, sigma^2 I), summed per example: (B, ...) -> (B,)."""
    log_sigma = torch.as_tensor(log_sigma, dtype=mean.dtype, device=mean.device)
    z = (x - mean) * torch.exp(-log_sigma)
    return (0.5 * z.square() + log_sigma + 0.5 * LOG_2PI).flatten(1).sum(1)


def log_normal_diag(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))), summed over the last dimension."""
    return -0.5 * ((z - mu).square() * torch.exp(-logvar) + logvar + LOG_2PI).sum(-1)


# ----- GAN objectives, all on discriminator logits l = logit D(x), so that D(x) = sigmoid(l) -------------


def gan_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's loss -[log D(x) + log(1 - D(G(z)))], batch means (Goodfellow et al., 2014)."""
    return F.binary_cross_entropy_with_logits(
        real_logits, torch.ones_like(real_logits)
    ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


def gan_g_loss(fake_logits: torch.Tensor, *, saturating: bool = False) -> torch.Tensor:
    """The generator's loss: non-saturating -log D(G(z)) (default), or the minimax log(1 - D(G(z)))."""
    if saturating:
        return -F.softplus(fake_logits).mean()  # log(1 - sigmoid(l)) = -softplus(l)
    return F.softplus(-fake_logits).mean()  # -log sigmoid(l) = softplus(-l)


def hinge_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The hinge loss of the discriminator, E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))] (Lim & Ye, 2017)."""
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def hinge_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The generator's loss of the hinge and Wasserstein games, -E[D(G(z))]."""
    return -fake_logits.mean()


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, *cond) -> torch.Tensor:
    """WGAN-GP's E[(||grad_x D(x_hat)||_2 - 1)^2] at random points between real and fake (Gulrajani et al., 2017)."""
    eps = torch.rand((len(real),) + (1,) * (real.dim() - 1), device=real.device, dtype=real.dtype)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat, *cond).sum(), x_hat, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1).square().mean()


def r1_penalty(critic, real: torch.Tensor, *cond, gamma: float) -> torch.Tensor:
    """R1 = gamma/2 E[||grad_x D(x)||^2] at real x, D the logit (Mescheder et al., 2018): D flat on the data."""
    x = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x, *cond).sum(), x, create_graph=True)  # x_b's row: grad of D(x_b)
    return 0.5 * gamma * grad.flatten(1).square().sum(1).mean()
