"""An invisible spread-spectrum watermark for images and its correlation test.

In the spirit of Cox et al. (1997), simplified: they insert a Gaussian sequence multiplicatively into the
largest DCT coefficients of an image; this module adds a white ±1 pattern to the pixels.

A secret integer key seeds a pattern w of independent ±1 values, one per pixel. The cooperating
generator adds `strength · w` to its images; the detector high-passes an image, correlates the residual
with w and reports z = <w, r - mean(r)> / ||r - mean(r)||. For an image made without the key, w is
independent of r, so z has mean 0 and variance exactly 1 given the image; by the central limit theorem it
is close to N(0, 1), and Hoeffding's inequality bounds P(z >= t) <= exp(-t^2 / 2) without approximation.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = [
    "watermark_pattern",
    "embed_watermark",
    "highpass",
    "correlation_z",
    "watermark_z",
    "p_value",
    "hoeffding_bound",
    "quantize",
]


def _check_images(x: torch.Tensor, who: str) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(
            f"{who} expects a batch of images (B, C, H, W), got {shape}. "
            "Add a batch dimension with x.unsqueeze(0) for a single image."
        )
    if not x.is_floating_point():
        raise ValueError(f"{who} expects float images in [0, 1], got dtype {x.dtype}: divide 8-bit images by 255.")
    if len(x) and (x.min() < 0 or x.max() > 1):
        raise ValueError(
            f"{who} expects images in [0, 1], got values from {x.min().item():.3g} to "
            f"{x.max().item():.3g}. Map [-1, 1] images with (x + 1) / 2 first."
        )


def _check_key(key: int) -> None:
    if isinstance(key, bool) or not isinstance(key, int) or key < 0:
        raise ValueError(f"The watermark key must be a non-negative integer (the secret seed), got {key!r}.")


def watermark_pattern(shape: tuple[int, ...], key: int) -> torch.Tensor:
    """The secret pattern w for images of shape (C, H, W): independent ±1 values from the seed `key`."""
    _check_key(key)
    shape = tuple(shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"shape must be one image's (C, H, W), got {shape}.")
    g = torch.Generator().manual_seed(key)
    return torch.randint(0, 2, shape, generator=g).float() * 2 - 1  # (C, H, W), each ±1 with probability 1/2


def quantize(x: torch.Tensor, levels: int = 256) -> torch.Tensor:
    """Round images in [0, 1] to `levels` grey levels, as saving an 8-bit PNG does."""
    return torch.round(x.clamp(0, 1) * (levels - 1)) / (levels - 1)


def embed_watermark(x: torch.Tensor, key: int, strength: float) -> torch.Tensor:
    """x + strength · w, clipped to [0, 1] and rounded to 8 bits: the image a cooperating generator releases."""
    _check_images(x, "embed_watermark")
    if not 0 < strength < 1:
        raise ValueError(
            f"strength is the amplitude added to pixels in [0, 1]; use a value in (0, 1) such as 4/255, got {strength}."
        )
    w = watermark_pattern(x.shape[1:], key).to(x.device)
    return quantize(x + strength * w)


def highpass(x: torch.Tensor) -> torch.Tensor:
    """x minus its 3x3 local mean (replicate padding): removes the smooth image content, keeps the fine pattern."""
    B, C, H, W = x.shape
    local = F.avg_pool2d(F.pad(x.reshape(B * C, 1, H, W), (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    return x - local.reshape(B, C, H, W)


def correlation_z(r: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """z = <w, r - mean(r)> / ||r - mean(r)|| per example: mean 0, variance 1 when w is ±1 and independent of r.

    r is (B, ...) and w has r's shape without the batch dimension. A constant r carries no evidence: z = 0.
    """
    if r.shape[1:] != w.shape:
        raise ValueError(
            f"The pattern has shape {tuple(w.shape)} but the images have {tuple(r.shape[1:])}: "
            "make the pattern with watermark_pattern(images.shape[1:], key)."
        )
    c = (r - r.mean(dim=tuple(range(1, r.dim())), keepdim=True)).flatten(1).double()  # (B, n)
    norm = c.norm(dim=1)
    z = (c @ w.flatten().double()) / norm.clamp_min(1e-12)
    return torch.where(norm > 1e-12, z, torch.zeros_like(z)).float()


def watermark_z(x: torch.Tensor, key: int) -> torch.Tensor:
    """The detection statistic of each image (B,): correlation of its high-passed residual with the key's pattern."""
    _check_images(x, "watermark_z")
    _check_key(key)
    w = watermark_pattern(x.shape[1:], key).to(x.device)
    return correlation_z(highpass(x.float()), w)


def p_value(z: torch.Tensor | float) -> torch.Tensor:
    """One-sided p-value 1 - Phi(z) under the N(0, 1) approximation of the null distribution."""
    z = torch.as_tensor(z, dtype=torch.float64)
    return 0.5 * torch.erfc(z / math.sqrt(2))


def hoeffding_bound(t: torch.Tensor | float) -> torch.Tensor:
    """A guaranteed bound on P(z >= t) for t >= 0 under the null: exp(-t^2 / 2) (Hoeffding's inequality)."""
    t = torch.as_tensor(t, dtype=torch.float64)
    return torch.where(t > 0, torch.exp(-(t.clamp_min(0) ** 2) / 2), torch.ones_like(t))
