"""How w styles a convolution: AdaIN (Karras et al., 2019) and weight (de)modulation (Karras et al., 2020)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from genai_lib.models.stylegan.equalized import EqualLinear


def _check_styles(x: torch.Tensor, style: torch.Tensor, name: str) -> None:
    if x.dim() != 4:
        raise ValueError(f"Expected feature maps (B, C, H, W), got shape {tuple(x.shape)}.")
    B, C = x.shape[:2]
    if style.shape != (B, C):
        raise ValueError(
            f"{name} must have shape (B, C) = ({B}, {C}), one value per sample and channel; got {tuple(style.shape)}."
        )


def adain(x: torch.Tensor, style_scale: torch.Tensor, style_bias: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """AdaIN(x, y) = y_s (x - mu(x)) / sigma(x) + y_b per sample and channel (Karras et al., 2019).

    AdaIN itself is Huang & Belongie (2017)'s, from style transfer.
    x: (B, C, H, W); style_scale y_s and style_bias y_b: (B, C).
    """
    _check_styles(x, style_scale, "style_scale")
    _check_styles(x, style_bias, "style_bias")
    x = F.instance_norm(x, eps=eps)  # each (sample, channel) map now has mean 0 and variance 1
    return x * style_scale[:, :, None, None] + style_bias[:, :, None, None]


class AdaIN(nn.Module):
    """StyleGAN 1's style input: the learned affine A turns w into (y_s, y_b), then `adain` (Karras et al., 2019)."""

    def __init__(self, w_dim: int, channels: int) -> None:
        super().__init__()
        self.to_scale = EqualLinear(w_dim, channels, bias_init=1.0)  # y_s starts near 1: the layer starts as plain IN
        self.to_bias = EqualLinear(w_dim, channels)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return adain(x, self.to_scale(w), self.to_bias(w))


def demodulate(weight: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """StyleGAN 2's demodulation w''_ijk = w'_ijk / sqrt(sum_{i,k} w'_ijk^2 + eps), for each sample and output j.

    weight: (B, out, in, k, k). For inputs of unit variance, independent across i and k, output j then has
    variance sum_{i,k} w''_ijk^2 = 1 (Karras et al., 2020): the statistics AdaIN normalised, without touching x.
    """
    return weight * torch.rsqrt(weight.square().sum(dim=(2, 3, 4), keepdim=True) + eps)


class ModulatedConv2d(nn.Module):
    """A k x k convolution whose weights are scaled per input channel by the style s = A(w), then demodulated.

    w'_ijk = s_i w_ijk (modulation), w''_ijk = w'_ijk / sqrt(sum_{i,k} w'_ijk^2 + eps) (demodulation), Karras et al.
    (2020). Each sample has its own weights, so the batch runs as one grouped convolution with B groups.
    No bias: the layer that holds it adds it after the noise.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, w_dim: int, *, demodulate: bool = True
    ) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd so that 'same' padding keeps the size, got {kernel_size}.")
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.demodulate = demodulate
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.scale = 1 / math.sqrt(in_channels * kernel_size**2)  # equalized learning rate (He's constant)
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)  # A: s starts near 1, an unstyled conv

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, demodulate={self.demodulate}"

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """x: (B, in, H, W), w: (B, w_dim) -> (B, out, H, W)."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"ModulatedConv2d expects x of shape (B, {self.in_channels}, H, W), got {tuple(x.shape)}.")
        B, _, H, W = x.shape
        if w.dim() != 2 or len(w) != B:
            raise ValueError(f"ModulatedConv2d expects one w per sample, shape ({B}, w_dim); got {tuple(w.shape)}.")
        s = self.affine(w)  # (B, in): the styles s_i
        weight = self.scale * self.weight[None] * s[:, None, :, None, None]  # (B, out, in, k, k): w'_ijk = s_i w_ijk
        if self.demodulate:
            weight = demodulate(weight)
        k = self.kernel_size
        x = x.reshape(1, B * self.in_channels, H, W)  # the batch becomes channel groups: one conv per sample
        weight = weight.reshape(B * self.out_channels, self.in_channels, k, k)
        y = F.conv2d(x, weight.to(x.dtype), padding=k // 2, groups=B)  # (1, B * out, H, W)
        return y.reshape(B, self.out_channels, H, W)
