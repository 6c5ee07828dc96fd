"""Measures of generative models: importance-weighted likelihood bounds and unit conversions."""

from __future__ import annotations

import math

import torch

from genai_lib.losses import log_normal_diag


def bits_per_dim(nats: torch.Tensor | float, dims: int) -> torch.Tensor | float:
    """Convert a negative log-likelihood in nats per example to bits per dimension."""
    return nats / (dims * math.log(2))


@torch.no_grad()
def iwae_bound(model, x: torch.Tensor, *, k: int, chunk: int = 64,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """The importance-weighted bound log (1/k) sum_i p(x, z_i) / q(z_i|x), z_i ~ q(z|x) (Burda et al., 2016), (B,).

    `model` needs `encode(x) -> (mu, logvar)`, `decode(z)` and `log_likelihood(recon, x)`; with k = 1 this is
    the one-sample ELBO, and it rises towards log p(x) as k grows.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}.")
    mu, logvar = model.encode(x)  # (B, D) each
    std = torch.exp(0.5 * logvar)
    log_w = []
    for start in range(0, k, chunk):
        n = min(chunk, k - start)
        eps = torch.randn((n, *mu.shape), generator=generator, device=mu.device, dtype=mu.dtype)  # (n, B, D)
        z = mu + std * eps
        recon = model.decode(z.flatten(0, 1))                                     # (n*B, C, H, W)
        x_rep = x.expand(n, *x.shape).flatten(0, 1)                               # (n*B, C, H, W)
        log_px_z = model.log_likelihood(recon, x_rep).view(n, -1)                 # (n, B)
        log_pz = log_normal_diag(z, torch.zeros_like(z), torch.zeros_like(z))     # (n, B)
        log_qz = log_normal_diag(z, mu, logvar)                                   # (n, B)
        log_w.append(log_px_z + log_pz - log_qz)
    return torch.logsumexp(torch.cat(log_w), dim=0) - math.log(k)
