"""StyleGAN's mapping network f: z -> w (Karras et al., 2019), with the running mean of w used for truncation."""

from __future__ import annotations

import torch
from torch import nn

from genai_lib.models.stylegan.equalized import EqualLinear, scaled_lrelu


def pixel_norm(z: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Pixel norm, z / sqrt(mean_j z_j^2 + eps): each row of z (B, D) gets unit RMS (Karras et al., 2018)."""
    return z * torch.rsqrt(z.square().mean(dim=1, keepdim=True) + eps)


class MappingNetwork(nn.Module):
    """f(z) = MLP(pixel_norm(z)) with leaky ReLUs (Karras et al., 2019); keeps w_avg, the running mean of w."""

    w_avg: torch.Tensor  # (w_dim,) buffer: checkpointed with the weights, not trained

    def __init__(
        self, latent_dim: int, w_dim: int, n_layers: int = 4, *, lr_mul: float = 0.01, w_avg_beta: float = 0.995
    ) -> None:
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"The mapping network needs at least one layer, got n_layers={n_layers}.")
        if not 0.0 <= w_avg_beta < 1.0:
            raise ValueError(f"w_avg_beta must be in [0, 1), got {w_avg_beta}.")
        self.latent_dim, self.w_dim, self.w_avg_beta = latent_dim, w_dim, w_avg_beta
        # lr_mul = 0.01: the mapping learns a hundred times slower than the synthesis network, as in StyleGAN.
        self.layers = nn.ModuleList(
            EqualLinear(latent_dim if i == 0 else w_dim, w_dim, lr_mul=lr_mul) for i in range(n_layers)
        )
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """w = f(z): (B, latent_dim) -> (B, w_dim); in training mode also moves w_avg toward this batch's mean w."""
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(
                f"The mapping network expects z of shape (B, {self.latent_dim}), got {tuple(z.shape)}. "
                f"Draw it as torch.randn(B, {self.latent_dim})."
            )
        w = pixel_norm(z)
        for layer in self.layers:
            w = scaled_lrelu(layer(w))
        if self.training:
            with torch.no_grad():
                self.w_avg.lerp_(w.detach().float().mean(0), 1.0 - self.w_avg_beta)
        return w

    def truncate(self, w: torch.Tensor, psi: float) -> torch.Tensor:
        """The truncation trick, w_avg + psi (w - w_avg): psi = 1 leaves w, psi = 0 gives the average w."""
        return self.w_avg + psi * (w - self.w_avg)
