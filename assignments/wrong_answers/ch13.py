"""Chapter 13: cross-attention that divides the scores by sqrt(n_head) instead of sqrt(hs), the width of a head.

The public cases' layer has C = 16 and 4 heads, so n_head = hs = 4 and the two scales are the same number: every
public check passes. The hidden check uses a layer with 2 heads of width 12, where sqrt(2) and sqrt(12) differ.
"""

import math

import torch

from genai_lib.nn.attention import MultiHeadAttention


def masked_cross_attention(
    attn: MultiHeadAttention, x: torch.Tensor, context: torch.Tensor, pad: torch.Tensor
) -> torch.Tensor:
    B, T, C = x.shape
    nh = attn.config.n_head
    hs = C // nh
    q = attn.q(x).view(B, T, nh, hs).transpose(1, 2)
    k, v = attn.kv(context).split(C, dim=2)
    k = k.view(B, -1, nh, hs).transpose(1, 2)
    v = v.view(B, -1, nh, hs).transpose(1, 2)
    scores = q @ k.transpose(-2, -1) / math.sqrt(nh)  # wrong: math.sqrt(hs)
    scores = scores.masked_fill(pad[:, None, None, :], float("-inf"))
    y = scores.softmax(dim=-1) @ v
    return attn.proj(y.transpose(1, 2).reshape(B, T, C))


WRONG = {"exercise_13_1": {"masked_cross_attention": masked_cross_attention}}
