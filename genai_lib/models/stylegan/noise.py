"""StyleGAN's noise inputs (Karras et al., 2019): per-pixel noise, scaled per channel, for stochastic detail."""

from __future__ import annotations

import torch
from torch import nn


def check_noise_map(noise: torch.Tensor, batch: int, height: int, width: int, where: str = "this layer") -> None:
    """A noise map must be (B, 1, H, W), or (1, 1, H, W) to share one map across the batch."""
    if (
        noise.dim() != 4
        or noise.shape[1] != 1
        or tuple(noise.shape[2:]) != (height, width)
        or len(noise)
        not in (
            1,
            batch,
        )
    ):
        raise ValueError(
            f"The noise map for {where} must have shape ({batch}, 1, {height}, {width}) or (1, 1, {height}, "
            f"{width}); got {tuple(noise.shape)}. Make matching maps with G.make_noise({batch})."
        )


class NoiseInjection(nn.Module):
    """x + b_c n with n ~ N(0, 1) of shape (B, 1, H, W): one noise image per sample, a strength b per channel."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.strength = nn.Parameter(torch.zeros(channels))  # b = 0: the network starts deterministic, learns the rest

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        B, _, H, W = x.shape
        if noise is None:
            noise = torch.randn(B, 1, H, W, device=x.device, dtype=x.dtype)
        else:
            check_noise_map(noise, B, H, W)
            noise = noise.to(device=x.device, dtype=x.dtype)
        return x + self.strength[None, :, None, None] * noise  # (B, C, H, W): the same n, scaled per channel
