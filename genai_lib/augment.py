"""Differentiable image augmentations for GAN discriminators (DiffAugment, Zhao et al., 2020; ADA, Karras et al., 2020).

They act on batches (B, C, H, W) in the generator's range [-1, 1], draw an independent transform per
image, and let gradients flow back to the input, so that the generator can be trained through them.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def random_translate(
    x: torch.Tensor, max_shift: int = 2, *, fill: float = -1.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Shift each image by whole pixels, up to `max_shift` in each direction, filling with `fill` (the background)."""
    if x.dim() != 4:
        raise ValueError(f"random_translate expects images (B, C, H, W), got shape {tuple(x.shape)}.")
    if max_shift <= 0:
        return x
    B, _, H, W = x.shape
    s = max_shift
    shift = torch.randint(-s, s + 1, (2, B, 1, 1), generator=generator, device="cpu").to(x.device)  # (2, B, 1, 1)
    padded = F.pad(x, (s, s, s, s), value=fill)  # (B, C, H+2s, W+2s)
    rows = torch.arange(H, device=x.device)[None, :, None] + s - shift[0]  # (B, H, 1)
    cols = torch.arange(W, device=x.device)[None, None, :] + s - shift[1]  # (B, 1, W)
    b = torch.arange(B, device=x.device)[:, None, None]  # (B, 1, 1)
    return padded.permute(0, 2, 3, 1)[b, rows, cols].permute(0, 3, 1, 2)  # (B, C, H, W)


def random_cutout(
    x: torch.Tensor, size: int, *, fill: float = -1.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Paint one size x size square per image, at a random place, with `fill` (DiffAugment's cutout)."""
    if x.dim() != 4:
        raise ValueError(f"random_cutout expects images (B, C, H, W), got shape {tuple(x.shape)}.")
    if size <= 0:
        return x
    B, _, H, W = x.shape
    top = torch.randint(0, H - size + 1, (B, 1, 1), generator=generator, device="cpu").to(x.device)
    left = torch.randint(0, W - size + 1, (B, 1, 1), generator=generator, device="cpu").to(x.device)
    i = torch.arange(H, device=x.device)[None, :, None]
    j = torch.arange(W, device=x.device)[None, None, :]
    hole = ((i >= top) & (i < top + size) & (j >= left) & (j < left + size)).unsqueeze(1)  # (B, 1, H, W)
    return torch.where(hole, torch.full_like(x, fill), x)


def diff_augment(max_shift: int = 2, cutout: int = 0, *, fill: float = -1.0) -> Callable[[torch.Tensor], torch.Tensor]:
    """The augmentation DiffAugment applies to every input of D, real and fake: translation, then cutout."""

    def augment(x: torch.Tensor) -> torch.Tensor:
        return random_cutout(random_translate(x, max_shift, fill=fill), cutout, fill=fill)

    return augment
