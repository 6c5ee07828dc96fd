"""AdamW with weight decay on matrices only (Loshchilov & Hutter, 2019; as in GPT-1 and nanoGPT), and a
linear warm-up followed by cosine decay of the learning rate (Loshchilov & Hutter, 2017)."""

from __future__ import annotations

import math

import torch
from torch import nn


def adamw(
    model: nn.Module,
    *,
    lr: float,
    weight_decay: float = 0.1,
    betas: tuple[float, float] = (0.9, 0.99),
    eps: float = 1e-8,
    fused: bool = False,
) -> torch.optim.AdamW:
    """AdamW whose first group (weight matrices and embeddings, dim >= 2) decays and second (biases, norms) does not."""
    params = [p for p in model.parameters() if p.requires_grad]  # parameters() yields a tied tensor once
    if not params:
        raise ValueError("The model has no trainable parameters: nothing to optimise.")
    # Decay shrinks a weight towards zero; that regularises matrices, but a bias or a LayerNorm gain pulled to
    # zero only fights the normalisation, so those are left alone.
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps, fused=fused or None)  # fused: one CUDA kernel


def warmup_cosine_factor(step: int, *, warmup_steps: int, total_steps: int, min_ratio: float = 0.1) -> float:
    """The learning rate of step `step` as a fraction of the peak: linear up to 1 over warmup_steps, then a
    half cosine down to min_ratio at total_steps, and min_ratio after."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if step >= total_steps:
        return min_ratio
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)  # 0 -> 1
    return min_ratio + 0.5 * (1 - min_ratio) * (1 + math.cos(math.pi * progress))


def warmup_cosine(
    optimizer: torch.optim.Optimizer, *, warmup_steps: int, total_steps: int, min_ratio: float = 0.1
) -> torch.optim.lr_scheduler.LambdaLR:
    """A scheduler (for `fit(..., schedulers=...)`) that sets every group's lr to its initial lr times
    `warmup_cosine_factor(step)`."""
    if warmup_steps < 0 or total_steps < 1 or not 0 <= min_ratio <= 1:
        raise ValueError(
            f"Need warmup_steps >= 0, total_steps >= 1 and 0 <= min_ratio <= 1; got {warmup_steps}, "
            f"{total_steps}, {min_ratio}."
        )

    def factor(step: int) -> float:
        return warmup_cosine_factor(step, warmup_steps=warmup_steps, total_steps=total_steps, min_ratio=min_ratio)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
