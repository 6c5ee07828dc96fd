"""VQ-VAE (van den Oord et al., 2017): nearest-codebook quantisation, straight-through gradients, EMA codebook."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from genai_lib.config import image_shape
from genai_lib.models.vae import check_unit_range
from genai_lib.nn.modes import evaluating
from genai_lib.rng import randint

DOWNSAMPLE = 4  # the encoder's two stride-2 convolutions: an (H, W) image becomes an (H/4, W/4) grid


@dataclass
class VQVAEConfig:
    image_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W); H and W multiples of DOWNSAMPLE
    hidden: int = 64  # channels of the encoder and decoder
    codebook_size: int = 64  # K, the number of codes
    code_dim: int = 16  # D, the width of a code
    beta: float = 0.25  # weight of the commitment loss
    ema: bool = True  # update the codebook by moving averages instead of a codebook loss
    decay: float = 0.99  # gamma of the moving averages

    def __post_init__(self) -> None:
        self.image_shape = image_shape(self.image_shape, "VQVAEConfig")
        _, H, W = self.image_shape
        f = DOWNSAMPLE
        if H % f or W % f:
            raise ValueError(f"The VQ-VAE halves the image twice, so H and W must be multiples of {f}; got {H}x{W}.")

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        """(D, h, w): the grid of code vectors that one image becomes (h = H / DOWNSAMPLE)."""
        _, H, W = self.image_shape
        return (self.code_dim, H // DOWNSAMPLE, W // DOWNSAMPLE)


class Quantized(NamedTuple):
    z_q: torch.Tensor  # (B, D, h, w), straight-through: the codes forward, identity backward
    indices: torch.Tensor  # (B, h, w) code ids
    loss: torch.Tensor  # commitment (+ codebook) loss
    perplexity: torch.Tensor  # exp(entropy of code usage in the batch): how many codes are in use


class VectorQuantizer(nn.Module):
    """Replace each D-vector by its nearest of K codes; gradients pass straight through to the encoder."""

    codebook: torch.Tensor  # (K, D) e_k: a buffer with EMA updates, a Parameter without
    cluster_size: torch.Tensor  # (K,) N_k
    code_sum: torch.Tensor  # (K, D) m_k

    def __init__(self, config: VQVAEConfig) -> None:
        super().__init__()
        self.config = config
        K, D = config.codebook_size, config.code_dim
        self.register_buffer("codebook", torch.randn(K, D) / D**0.5)
        if not config.ema:
            self.codebook = nn.Parameter(self.codebook.clone())
        self.register_buffer("cluster_size", torch.ones(K))  # N_k, moving average of code counts
        self.register_buffer("code_sum", self.codebook.detach().clone())  # m_k, moving average of assigned sums

    def nearest(self, z: torch.Tensor) -> torch.Tensor:
        """Index of the nearest code for each row of z (N, D), via ||z||^2 - 2 z.e + ||e||^2."""
        e = self.codebook
        d2 = z.square().sum(1, keepdim=True) - 2 * z @ e.T + e.square().sum(1)  # (N, K)
        return d2.argmin(dim=1)

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        """Codes for indices (B, h, w) as a feature map (B, D, h, w)."""
        return self.codebook[indices].permute(0, 3, 1, 2)

    def forward(self, z_e: torch.Tensor) -> Quantized:
        B, D, h, w = z_e.shape
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, D)  # (B*h*w, D)
        idx = self.nearest(flat.detach())
        z_q = self.codebook[idx]  # (B*h*w, D)
        one_hot = F.one_hot(idx, self.config.codebook_size).type(flat.dtype)  # (B*h*w, K)
        if self.training and self.config.ema:
            self._ema_update(flat.detach(), one_hot)
        commitment = F.mse_loss(flat, z_q.detach())
        loss = self.config.beta * commitment
        if not self.config.ema:
            loss = loss + F.mse_loss(z_q, flat.detach())  # pull the codes towards the encoder outputs
        usage = one_hot.mean(0)
        perplexity = torch.exp(-(usage * torch.log(usage + 1e-10)).sum())
        z_q = flat + (z_q - flat).detach()  # straight-through estimator
        z_q = z_q.view(B, h, w, D).permute(0, 3, 1, 2)  # (B, D, h, w)
        return Quantized(z_q, idx.view(B, h, w), loss, perplexity)

    @torch.no_grad()
    def _ema_update(self, flat: torch.Tensor, one_hot: torch.Tensor) -> None:
        gamma, K = self.config.decay, self.config.codebook_size
        self.cluster_size.mul_(gamma).add_(one_hot.sum(0), alpha=1 - gamma)
        self.code_sum.mul_(gamma).add_(one_hot.T @ flat, alpha=1 - gamma)
        n = self.cluster_size.sum()
        smoothed = (self.cluster_size + 1e-5) / (n + K * 1e-5) * n  # Laplace smoothing: no division by zero
        # An unused code (n_k = 0) keeps m_k / N_k while N_k >> 1e-5, then shrinks to the origin (chapter 7, section 4).
        self.codebook.copy_(self.code_sum / smoothed[:, None])

    @torch.no_grad()
    def revive_dead_codes(
        self, z_e: torch.Tensor, *, threshold: float = 1e-3, generator: torch.Generator | None = None
    ) -> int:
        """Move codes whose average use fell below `threshold` onto random encoder outputs; returns how many."""
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, self.config.code_dim)
        usage = self.cluster_size / self.cluster_size.sum()
        dead = torch.nonzero(usage < threshold).flatten()
        if len(dead):
            pick = randint(len(flat), (len(dead),), generator, flat.device)
            self.codebook[dead] = flat[pick].to(self.codebook.dtype)
            self.code_sum[dead] = self.codebook[dead]
            self.cluster_size[dead] = 1.0
        return len(dead)


class VQVAEOutput(NamedTuple):
    recon: torch.Tensor  # Bernoulli logits (B, C, H, W)
    indices: torch.Tensor  # (B, H/4, W/4)
    vq_loss: torch.Tensor
    perplexity: torch.Tensor


class VQVAE(nn.Module):
    """Conv encoder -> vector quantiser -> conv decoder; images become a grid of tokens and back."""

    def __init__(self, config: VQVAEConfig) -> None:
        super().__init__()
        self.config = config
        C, h, D = config.image_shape[0], config.hidden, config.code_dim
        self.encoder = nn.Sequential(
            nn.Conv2d(C, h, 4, stride=2, padding=1),
            nn.ReLU(),  # (B, h, H/2, W/2)
            nn.Conv2d(h, h, 4, stride=2, padding=1),
            nn.ReLU(),  # (B, h, H/4, W/4)
            nn.Conv2d(h, D, 1),  # (B, D, H/4, W/4)
        )
        self.quantizer = VectorQuantizer(config)
        self.decoder = nn.Sequential(
            nn.Conv2d(D, h, 3, padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(h, h, 4, stride=2, padding=1),
            nn.ReLU(),  # (B, h, H/2, W/2)
            nn.ConvTranspose2d(h, C, 4, stride=2, padding=1),  # (B, C, H, W)
        )

    def _check(self, x: torch.Tensor) -> None:
        if x.dim() != 4 or tuple(x.shape[1:]) != self.config.image_shape:
            raise ValueError(
                f"Expected images of shape (B, {', '.join(map(str, self.config.image_shape))}), got "
                f"{tuple(x.shape)}. Build the VQ-VAE with image_shape={tuple(x.shape[1:])} for this data."
            )
        check_unit_range(x, "VQ-VAE")

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The encoder's continuous output z_e(x), (B, D, H/4, W/4)."""
        self._check(x)
        return self.encoder(x)

    def encode_to_indices(self, x: torch.Tensor) -> torch.Tensor:
        """The token grid of each image, (B, H/4, W/4), ids in [0, K)."""
        z_e = self.encode(x)
        return self.quantizer.nearest(z_e.permute(0, 2, 3, 1).reshape(-1, z_e.shape[1])).view(
            z_e.shape[0], *z_e.shape[2:]
        )

    def decode(self, z_q: torch.Tensor) -> torch.Tensor:
        """Bernoulli logits (B, C, H, W) of the images whose quantised latents are z_q (B, D, H/4, W/4)."""
        D = self.config.code_dim
        if z_q.dim() != 4 or z_q.shape[1] != D:
            raise ValueError(
                f"Expected quantised latents of shape (B, {D}, h, w), got {tuple(z_q.shape)}: "
                f"this VQ-VAE has code_dim={D}."
            )
        return self.decoder(z_q)

    def decode_from_indices(self, indices: torch.Tensor) -> torch.Tensor:
        """Bernoulli logits of the images whose token grids are `indices` (B, h, w)."""
        K = self.config.codebook_size
        if indices.dtype not in (torch.int64, torch.int32) or indices.min() < 0 or indices.max() >= K:
            raise ValueError(
                f"Token ids must be integers in [0, {K}); got dtype {indices.dtype}, "
                f"range [{indices.min().item()}, {indices.max().item()}]."
            )
        return self.decode(self.quantizer.lookup(indices.long()))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) in [0, 1], on any device -> their decode from their own codes, in [0, 1], here.

        The clearest image a model that draws this VQ-VAE's codes can show: what a judge misreads in it is lost.
        """
        with evaluating(self):  # in training mode the forward pass would also move an EMA codebook
            return torch.sigmoid(self(x.to(next(self.parameters()).device)).recon)

    def forward(self, x: torch.Tensor) -> VQVAEOutput:
        q = self.quantizer(self.encode(x))
        return VQVAEOutput(self.decode(q.z_q), q.indices, q.loss, q.perplexity)


def vqvae_step(model: VQVAE, *, revive_every: int | None = 100):
    """A step function for `genai_lib.fit`: reconstruction (Bernoulli, per pixel) + VQ losses; revives dead codes."""

    def step(batch, ctx):
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        with ctx.autocast():
            out = model(x)
            recon = F.binary_cross_entropy_with_logits(out.recon, x)
            loss = recon + out.vq_loss
        ctx.backward_step(loss)
        if revive_every and model.config.ema and (ctx.step + 1) % revive_every == 0:
            model.quantizer.revive_dead_codes(model.encode(x).detach())
        return {"loss": loss, "recon": recon, "perplexity": out.perplexity}

    return step
