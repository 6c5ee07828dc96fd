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


class TemporalAttention(nn.Module):
    """x (B, T, N, C) -> (B, T, N, C): pre-norm residual self-attention across the T frames at each of the N
    positions, the temporal half of factorised space-time attention.

    With `frames`, a learned vector per frame is added to what the attention reads (not to the residual
    stream), so that a token knows which frame it is in; with `zero_init`, the output projection starts at zero
    and the layer starts as the identity, so a stack of image layers it is added to starts out working frame by
    frame (Ho et al., 2022).
    """

    def __init__(self, n_embd: int, n_head: int, *, frames: int | None = None, zero_init: bool = False) -> None:
        super().__init__()
        self.ln = nn.LayerNorm(n_embd)
        self.attn = MultiHeadAttention(AttentionConfig(n_embd, n_head))
        # Unit scale, like the features it joins: at GPT's 0.02 the frames looked alike to the attention, and in
        # trials for chapter 20 a video U-Net then learned no direction of motion in 1,000 steps.
        self.pos = nn.Parameter(torch.randn(frames, n_embd)) if frames else None
        if zero_init:
            nn.init.zeros_(self.attn.proj.weight)
            if self.attn.proj.bias is not None:
                nn.init.zeros_(self.attn.proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, N, C = x.shape
        if self.pos is not None and self.pos.size(0) != T:
            raise ValueError(f"This temporal layer learned positions for {self.pos.size(0)} frames, got {T}.")
        tracks = x.transpose(1, 2).reshape(B * N, T, C)  # (B N, T, C): each position's history across frames
        h = self.ln(tracks if self.pos is None else tracks + self.pos)  # (B N, T, C) + (T, C)
        tracks = tracks + self.attn(h)
        return tracks.view(B, N, T, C).transpose(1, 2)  # (B, T, N, C)


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
        self.time = TemporalAttention(n_embd, n_head) if mode == "factorised" else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.size(-1) != self.ln_space.normalized_shape[0]:
            raise ValueError(
                f"Expected tokens (B, T, N, C) with C = {self.ln_space.normalized_shape[0]}: T frames of N tokens, "
                f"got shape {tuple(x.shape)}. Flatten each frame's grid first: (B, T, C, H, W) -> (B, T, H W, C)."
            )
        B, T, N, C = x.shape
        if self.time is None:
            flat = x.reshape(B, T * N, C)  # (B, T N, C): one sequence of every token of the clip
            return (flat + self.space(self.ln_space(flat))).view(B, T, N, C)
        frames = x.reshape(B * T, N, C)  # (B T, N, C): each frame a sequence of its own
        x = (frames + self.space(self.ln_space(frames))).view(B, T, N, C)
        return self.time(x)
