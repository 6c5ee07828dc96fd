"""Equalized learning rate (Karras et al., 2018): weights stored ~ N(0, 1) and scaled by He's constant when used."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LRELU_SLOPE = 0.2


def scaled_lrelu(x: torch.Tensor) -> torch.Tensor:
    """Leaky ReLU (slope 0.2) times sqrt(2): He's gain, so the signal keeps its scale from layer to layer."""
    return F.leaky_relu(x, LRELU_SLOPE) * math.sqrt(2.0)


class EqualLinear(nn.Module):
    """y = x (c W)^T + b with W ~ N(0, 1) stored and c = lr_mul / sqrt(fan_in) applied at run time.

    Adam's steps have the same size for every parameter, so a weight stored at unit scale learns at the same
    relative speed in every layer; lr_mul < 1 slows a whole layer down (StyleGAN uses 0.01 in the mapping network).
    """

    def __init__(self, in_features: int, out_features: int, *, bias_init: float = 0.0, lr_mul: float = 1.0) -> None:
        super().__init__()
        if lr_mul <= 0:
            raise ValueError(f"lr_mul must be > 0, got {lr_mul}.")
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init) / lr_mul))
        self.scale = lr_mul / math.sqrt(in_features)
        self.lr_mul = lr_mul

    def extra_repr(self) -> str:
        out_features, in_features = self.weight.shape
        return f"in_features={in_features}, out_features={out_features}, lr_mul={self.lr_mul}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)
