"""Self-attention over the tokens of a clip, full or factorised into space then time (divided space-time
attention, Bertasius et al., 2021; the factorised blocks of video diffusion models, Ho et al., 2022).

A clip of T frames with N tokens each has T N tokens. Full attention compares every token with every other:
(T N)^2 scores per head. Factorised attention first lets each frame attend within itself (T times N^2
scores), then lets each position attend across the frames (N times T^2). For T = 8 frames of N = 64 tokens
that is 8 · 64^2 + 64 · 8^2 = 36,864 scores instead of 512^2 = 262,144: a seventh (`attention_cost`).
"""

from __future__ import annotations

import torch
from torch import nn

from genai_lib.nn.attention import AttentionConfig, MultiHeadAttention

MODES = ("full", "factorised")


def attention_cost(T: int, N: int, C: int, mode: str) -> dict[str, int]:
    """Multiply-adds of one self-attention layer on T frames of N tokens of width C, per clip.

    'scores': Q K^T and the weighted sum of V, 2 C per pair of tokens that meet; 'projections': Q, K, V and
    the output, 4 C^2 per token and attention (factorised attention has two, so twice as many).
    """
    if mode not in MODES:
        raise ValueError(f"Unknown mode {mode!r}; use one of {MODES}.")
    if min(T, N, C) < 1:
        raise ValueError(f"T, N and C must be positive, got {T}, {N}, {C}.")
    pairs = (T * N) ** 2 if mode == "full" else T * N**2 + N * T**2
    layers = 1 if mode == "full" else 2
    return {"scores": 2 * C * pairs, "projections": layers * 4 * T * N * C**2}


class SpaceTimeAttention(nn.Module):
    """x (B, T, N, C) -> (B, T, N, C): pre-norm residual self-attention over all T N tokens ('full'), or within
    each frame and then across frames at each position ('factorised'), each step residual."""

    def __init__(self, n_embd: int, n_head: int, *, mode: str = "factorised") -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"Unknown mode {mode!r}; use one of {MODES}.")
        self.mode = mode
        self.ln_space = nn.LayerNorm(n_embd)
        self.space = MultiHeadAttention(AttentionConfig(n_embd, n_head))  # all T N tokens when mode is 'full'
        self.ln_time = nn.LayerNorm(n_embd) if mode == "factorised" else None
        self.time = MultiHeadAttention(AttentionConfig(n_embd, n_head)) if mode == "factorised" else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.size(-1) != self.ln_space.normalized_shape[0]:
            raise ValueError(
                f"Expected tokens (B, T, N, C) with C = {self.ln_space.normalized_shape[0]}: T frames of N tokens, "
                f"got shape {tuple(x.shape)}. Flatten each frame's grid first: (B, T, C, H, W) -> (B, T, H W, C)."
            )
        B, T, N, C = x.shape
        if self.time is None or self.ln_time is None:
            flat = x.reshape(B, T * N, C)  # (B, T N, C): one sequence of every token of the clip
            return (flat + self.space(self.ln_space(flat))).view(B, T, N, C)
        frames = x.reshape(B * T, N, C)  # (B T, N, C): each frame a sequence of its own
        x = (frames + self.space(self.ln_space(frames))).view(B, T, N, C)
        tracks = x.transpose(1, 2).reshape(B * N, T, C)  # (B N, T, C): each position's history across frames
        tracks = tracks + self.time(self.ln_time(tracks))
        return tracks.view(B, N, T, C).transpose(1, 2)  # (B, T, N, C)
