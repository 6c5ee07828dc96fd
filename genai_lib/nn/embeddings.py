"""Position and timestep embeddings: learned (GPT-2), sinusoidal (Vaswani et al., 2017), diffusion timesteps."""

from __future__ import annotations

import math

import torch
from torch import nn


def sinusoidal_encoding(n_positions: int, dim: int, *, base: float = 10000.0) -> torch.Tensor:
    """Sinusoidal positions (Vaswani et al., 2017): PE[pos, 2i] = sin(pos / base^(2i/d)), PE[pos, 2i+1] = cos(...)."""
    if dim < 2 or dim % 2:
        raise ValueError(f"The sinusoidal encoding pairs a sine with a cosine, so dim must be even, got {dim}.")
    if n_positions < 1:
        raise ValueError(f"n_positions must be positive, got {n_positions}.")
    # float64: pos * frequency loses digits in float32 for long sequences; the result is stored in float32.
    pos = torch.arange(n_positions, dtype=torch.float64)[:, None]  # (T, 1)
    freq = base ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)  # (d/2,), 1 down to ~1/base
    angles = pos * freq  # (T, d/2)
    pe = torch.stack([angles.sin(), angles.cos()], dim=-1).view(n_positions, dim)  # (T, d): sin, cos interleaved
    return pe.float()


def _check_length(x: torch.Tensor, n_embd: int, block_size: int, start: int) -> None:
    if x.dim() != 3 or x.size(-1) != n_embd:
        raise ValueError(f"Expected token embeddings of shape (B, T, {n_embd}), got {tuple(x.shape)}.")
    if start < 0 or start + x.size(1) > block_size:
        where = f"positions {start}..{start + x.size(1) - 1}" if start else f"{x.size(1)} positions"
        raise ValueError(
            f"The sequence has {where} but the position embedding knows only "
            f"block_size={block_size}; crop the input to its last {block_size} tokens or build the "
            "model with a larger block_size."
        )


class LearnedPositionalEmbedding(nn.Module):
    """Learned absolute positions (GPT, Radford et al., 2018): one trainable vector per position, added to x."""

    def __init__(self, *, block_size: int, n_embd: int) -> None:
        super().__init__()
        self.block_size, self.n_embd = block_size, n_embd
        self.weight = nn.Parameter(torch.empty(block_size, n_embd))  # (block_size, C)
        nn.init.normal_(self.weight, std=0.02)  # GPT-2's scale: small next to the token embeddings' growth

    def extra_repr(self) -> str:
        return f"block_size={self.block_size}, n_embd={self.n_embd}"

    def forward(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        """x (B, T, C) holds positions start..start+T-1 (start > 0 after a KV cache's prefix)."""
        _check_length(x, self.n_embd, self.block_size, start)
        return x + self.weight[start : start + x.size(1)]  # (B, T, C) + (T, C)


class SinusoidalPositionalEncoding(nn.Module):
    """Fixed sinusoidal positions (Vaswani et al., 2017), added to x; nothing to learn."""

    pe: torch.Tensor  # (block_size, n_embd), a buffer

    def __init__(self, *, block_size: int, n_embd: int, base: float = 10000.0) -> None:
        super().__init__()
        self.block_size, self.n_embd = block_size, n_embd
        # Not persistent: it is a function of the config, so checkpoints need not carry it.
        self.register_buffer("pe", sinusoidal_encoding(block_size, n_embd, base=base), persistent=False)

    def extra_repr(self) -> str:
        return f"block_size={self.block_size}, n_embd={self.n_embd}"

    def forward(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        """x (B, T, C) holds positions start..start+T-1 (start > 0 after a KV cache's prefix)."""
        _check_length(x, self.n_embd, self.block_size, start)
        return x + self.pe[start : start + x.size(1)].to(x.dtype)  # (B, T, C) + (T, C)


def timestep_embedding(t: torch.Tensor, dim: int, *, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of diffusion timesteps (Ho et al., 2020; as in improved-diffusion): [cos, sin] halves.

    t is (B,) of integer or fractional timesteps; returns (B, dim) float32. An odd dim gets a zero last column.
    """
    if t.dim() != 1:
        raise ValueError(f"t must be a 1-D tensor of timesteps, one per example, got shape {tuple(t.shape)}.")
    if dim < 2:
        raise ValueError(f"dim must be at least 2, got {dim}.")
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]  # (B, dim/2)
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)  # (B, 2 * (dim/2))
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)  # (B, dim)
    return emb
