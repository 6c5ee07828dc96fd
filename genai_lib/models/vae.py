"""Variational autoencoders (Kingma & Welling, 2014): MLP and convolutional, Bernoulli or Gaussian decoder."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from genai_lib.config import image_shape
from genai_lib.losses import bernoulli_nll, gaussian_kl, gaussian_nll
from genai_lib.nn.modes import evaluating
from genai_lib.rng import bernoulli, randn

ARCHITECTURES = ("mlp", "conv")
LIKELIHOODS = ("bernoulli", "gaussian")


@dataclass
class VAEConfig:
    image_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W)
    latent_dim: int = 16
    hidden: int = 512  # MLP width; the conv net has hidden // 4 channels, then hidden // 2 in its last stage
    architecture: str = "mlp"
    likelihood: str = "bernoulli"
    log_sigma: float = math.log(0.1)  # decoder noise of the Gaussian likelihood (fixed)

    def __post_init__(self) -> None:
        self.image_shape = image_shape(self.image_shape, "VAEConfig")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"Unknown architecture {self.architecture!r}; choose one of {ARCHITECTURES}.")
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(f"Unknown likelihood {self.likelihood!r}; choose one of {LIKELIHOODS}.")
        if len(self.image_shape) != 3:
            raise ValueError(f"image_shape must be (C, H, W), got {self.image_shape}.")
        _, H, W = self.image_shape
        if self.architecture == "conv" and (H % 4 or W % 4):
            raise ValueError(f"The conv VAE halves the image twice, so H and W must be multiples of 4; got {H}x{W}.")


def check_unit_range(x: torch.Tensor, model: str) -> None:
    """Bernoulli decoders model pixels in [0, 1]; say so when the data are on another scale."""
    lo_hi = torch.aminmax(x.detach())
    lo, hi = lo_hi.min.item(), lo_hi.max.item()
    if lo < 0 or hi > 1:
        hint = (
            " They look like 8-bit values: divide by 255."
            if hi > 1.5 and lo >= 0
            else " They look like [-1, 1] images: map them back with (x + 1) / 2."
            if lo >= -1 and hi <= 1
            else ""
        )
        raise ValueError(
            f"The {model}'s Bernoulli likelihood needs pixel values in [0, 1], got values from "
            f"{lo:.3g} to {hi:.3g}.{hint}"
        )


class VAEOutput(NamedTuple):
    recon: torch.Tensor  # decoder output: Bernoulli logits or Gaussian means, (B, C, H, W)
    mu: torch.Tensor  # (B, D)
    logvar: torch.Tensor  # (B, D)
    z: torch.Tensor  # (B, D), one reparameterised sample per example


def _mlp_encoder(c: VAEConfig) -> nn.Module:
    n = math.prod(c.image_shape)
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(n, c.hidden),
        nn.ReLU(),
        nn.Linear(c.hidden, c.hidden),
        nn.ReLU(),
        nn.Linear(c.hidden, 2 * c.latent_dim),
    )


def _mlp_decoder(c: VAEConfig) -> nn.Module:
    n = math.prod(c.image_shape)
    return nn.Sequential(
        nn.Linear(c.latent_dim, c.hidden),
        nn.ReLU(),
        nn.Linear(c.hidden, c.hidden),
        nn.ReLU(),
        nn.Linear(c.hidden, n),
        nn.Unflatten(1, c.image_shape),
    )


def _conv_encoder(c: VAEConfig) -> nn.Module:
    C, H, W = c.image_shape
    h = c.hidden // 4
    return nn.Sequential(
        nn.Conv2d(C, h, 4, stride=2, padding=1),
        nn.ReLU(),  # (B, h, H/2, W/2)
        nn.Conv2d(h, 2 * h, 4, stride=2, padding=1),
        nn.ReLU(),  # (B, 2h, H/4, W/4)
        nn.Flatten(),
        nn.Linear(2 * h * (H // 4) * (W // 4), 2 * c.latent_dim),
    )


def _conv_decoder(c: VAEConfig) -> nn.Module:
    C, H, W = c.image_shape
    h = c.hidden // 4
    return nn.Sequential(
        nn.Linear(c.latent_dim, 2 * h * (H // 4) * (W // 4)),
        nn.ReLU(),
        nn.Unflatten(1, (2 * h, H // 4, W // 4)),  # (B, 2h, H/4, W/4)
        nn.ConvTranspose2d(2 * h, h, 4, stride=2, padding=1),
        nn.ReLU(),  # (B, h, H/2, W/2)
        nn.ConvTranspose2d(h, C, 4, stride=2, padding=1),  # (B, C, H, W)
    )


class VAE(nn.Module):
    """q(z|x) = N(mu(x), diag sigma^2(x)), p(z) = N(0, I), p(x|z) Bernoulli or Gaussian; encode/decode for reuse."""

    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        self.config = config
        conv = config.architecture == "conv"
        self.encoder = _conv_encoder(config) if conv else _mlp_encoder(config)
        self.decoder = _conv_decoder(config) if conv else _mlp_decoder(config)

    def _check(self, x: torch.Tensor) -> None:
        if x.dim() != 4 or tuple(x.shape[1:]) != self.config.image_shape:
            raise ValueError(
                f"Expected images of shape (B, {', '.join(map(str, self.config.image_shape))}), got "
                f"{tuple(x.shape)}. Build the VAE with image_shape={tuple(x.shape[1:])} for this data."
            )
        if self.config.likelihood == "bernoulli":
            check_unit_range(x, "VAE")

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The parameters (mu, logvar) of q(z|x), each (B, D)."""
        self._check(x)
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's output for latents z (B, D): Bernoulli logits or Gaussian means, (B, C, H, W)."""
        D = self.config.latent_dim
        if z.dim() != 2 or z.shape[1] != D:
            raise ValueError(f"Expected latents of shape (B, {D}), got {tuple(z.shape)}: this VAE has latent_dim={D}.")
        return self.decoder(z)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> VAEOutput:
        mu, logvar = self.encode(x)
        eps = randn(mu.shape, generator, mu.device, mu.dtype)
        z = mu + torch.exp(0.5 * logvar) * eps  # the reparameterisation trick
        return VAEOutput(self.decode(z), mu, logvar, z)

    def log_likelihood(self, recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """log p(x|z) per example, (B,), from the decoder's output."""
        if self.config.likelihood == "bernoulli":
            return -bernoulli_nll(recon, x)
        return -gaussian_nll(recon, x, self.config.log_sigma)

    def elbo(self, x: torch.Tensor, *, generator: torch.Generator | None = None):
        """Per-example ELBO terms: (E_q[log p(x|z)] estimated with one sample, KL(q(z|x) || p(z)) in closed form)."""
        out = self(x, generator=generator)
        return self.log_likelihood(out.recon, x), gaussian_kl(out.mu, out.logvar)

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None, mean: bool = True) -> torch.Tensor:
        """n images from p(z)p(x|z): the decoder's mean (default) or a draw from p(x|z); Bernoulli: in [0, 1]."""
        with evaluating(self):
            device = next(self.parameters()).device
            z = randn((n, self.config.latent_dim), generator, device)
            recon = self.decode(z)
            if self.config.likelihood == "bernoulli":
                probs = torch.sigmoid(recon)
                return probs if mean else bernoulli(probs, generator)
            sigma = math.exp(self.config.log_sigma)
            return recon if mean else recon + sigma * randn(recon.shape, generator, device)


def vae_step(model: VAE, *, beta: float = 1.0):
    """A step function for `genai_lib.fit`: minimise the negative (beta-)ELBO averaged over the batch."""

    def step(batch, ctx):
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        with ctx.autocast():
            log_px, kl = model.elbo(x)
            # The mean is linear, so the loss is the sum of the two means it logs, not computed a second time.
            recon, kl_mean = -log_px.mean(), kl.mean()
            loss = recon + beta * kl_mean
        ctx.backward_step(loss)
        return {"loss": loss, "recon": recon, "kl": kl_mean}

    return step
