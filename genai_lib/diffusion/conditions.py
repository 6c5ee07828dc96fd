"""What a denoiser is conditioned on, in a batch: a tensor (labels (B,), a context (B, S, D)) or a tuple of
tensors (context, key padding mask); and its null condition, for classifier-free guidance."""

from __future__ import annotations

from typing import Any

import torch

Cond = Any  # None, a tensor, or a tuple of tensors, batch first


def check_cond(cond: Cond, B: int) -> None:
    """Raise ValueError unless cond is a tensor, or a tuple of tensors, with batch size B first."""
    for c in cond if isinstance(cond, tuple) else (cond,):
        if not isinstance(c, torch.Tensor) or c.dim() == 0 or c.size(0) != B:
            got = tuple(c.shape) if isinstance(c, torch.Tensor) else type(c).__name__
            raise ValueError(f"cond must be a tensor (or a tuple of tensors) with batch size {B} first, got {got}.")


def null_like(null: Cond, cond: Cond) -> Cond:
    """The null condition expanded to cond's shape: an int label, a (S, D) or (1, S, D) context, or a tuple."""
    if isinstance(cond, tuple):
        if not isinstance(null, tuple) or len(null) != len(cond):
            raise ValueError(f"cond is a tuple of {len(cond)} tensors, so null_cond must be a tuple of as many.")
        return tuple(null_like(n, c) for n, c in zip(null, cond, strict=True))
    null = torch.as_tensor(null, device=cond.device, dtype=cond.dtype)
    try:
        return null.expand_as(cond)
    except RuntimeError:
        raise ValueError(
            f"null_cond of shape {tuple(null.shape)} does not broadcast to cond's shape {tuple(cond.shape)}."
        ) from None


def where_dropped(drop: torch.Tensor, null: Cond, cond: Cond) -> Cond:
    """cond with the examples where drop (B,) is True replaced by null (already broadcast to cond's shape)."""
    if isinstance(cond, tuple):
        return tuple(where_dropped(drop, n, c) for n, c in zip(null, cond, strict=True))
    return torch.where(drop.reshape(-1, *[1] * (cond.dim() - 1)), null, cond)  # drop: (B,) -> (B, 1, ...)


def cat_cond(a: Cond, b: Cond) -> Cond:
    """Two conditions stacked along the batch: (B, ...) and (B, ...) -> (2B, ...), element by element in a tuple."""
    return tuple(cat_cond(x, y) for x, y in zip(a, b, strict=True)) if isinstance(a, tuple) else torch.cat([a, b])


def cond_to(cond: Cond, device) -> Cond:
    """cond (a tensor or a tuple of tensors) on `device`."""
    return tuple(cond_to(c, device) for c in cond) if isinstance(cond, tuple) else cond.to(device)
