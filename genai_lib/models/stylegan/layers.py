"""The synthesis network's layers: a styled 3x3 convolution with noise, and the 1x1 to-RGB of a resolution."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from genai_lib.models.stylegan.equalized import scaled_lrelu
from genai_lib.models.stylegan.modulation import AdaIN, ModulatedConv2d
from genai_lib.models.stylegan.noise import NoiseInjection

MODULATIONS = ("adain", "demod")


def upsample2x(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, 2H, 2W), bilinear: a smooth filter like StyleGAN's, where nearest makes blocky images."""
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


class StyleLayer(nn.Module):
    """[upsample,] 3x3 conv, noise, bias, leaky ReLU, with w as AdaIN after it (StyleGAN 1) or modulating the conv (2).

    Order as in the papers: "adain" is conv -> noise -> act -> AdaIN (Karras et al., 2019); "demod" is
    modulated conv -> noise -> act, with no normalisation of x at all (Karras et al., 2020).
    """

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, *, modulation: str, upsample: bool) -> None:
        super().__init__()
        if modulation not in MODULATIONS:
            raise ValueError(f"Unknown modulation {modulation!r}; choose one of {MODULATIONS}.")
        self.upsample = upsample
        self.conv: nn.Module
        self.adain: AdaIN | None = None
        if modulation == "demod":
            self.conv = ModulatedConv2d(in_channels, out_channels, 3, w_dim, demodulate=True)
        else:
            self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
            self.adain = AdaIN(w_dim, out_channels)
        self.noise = NoiseInjection(out_channels)
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        if self.upsample:
            x = upsample2x(x)  # (B, in, 2H, 2W)
        x = self.conv(x) if self.adain is not None else self.conv(x, w)  # (B, out, H, W)
        x = scaled_lrelu(self.noise(x, noise) + self.bias[None, :, None, None])
        return self.adain(x, w) if self.adain is not None else x


class ToRGB(nn.Module):
    """A 1x1 conv from features to colour channels: modulated, not demodulated, under "demod" (Karras et al., 2020)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, *, modulation: str) -> None:
        super().__init__()
        self.conv: nn.Module
        self.modulated = modulation == "demod"
        if self.modulated:
            # No demodulation: the colours' scale is information the image needs.
            self.conv = ModulatedConv2d(in_channels, out_channels, 1, w_dim, demodulate=False)
        else:
            self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        y = self.conv(x, w) if self.modulated else self.conv(x)  # (B, C_img, H, W)
        return y + self.bias[None, :, None, None]
