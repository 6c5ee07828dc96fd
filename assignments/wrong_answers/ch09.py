"""Chapter 09: causal attention with the softmax written out as exp(scores) / sum, without the max shift.

Mathematically exp(s) / sum exp(s) is the softmax, and on the public cases (float64, scores of a few
units) it agrees with F.scaled_dot_product_attention to the last digit, so every public check passes.
But exp overflows float32 above 88.7: on the hidden check's float32 queries and keys, which share a
large common component (scores of 77 to 122), some rows become inf / inf = NaN. torch.softmax
subtracts each row's maximum first, and the result does not change.
"""

import math

import torch


def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    T, hs = q.size(-2), q.size(-1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(hs)  # (..., T, T)
    keep = torch.ones(T, T, dtype=torch.bool, device=q.device).tril()  # key s <= query t
    weights = scores.exp().masked_fill(~keep, 0.0)  # wrong: no max subtracted, exp overflows for large scores
    return (weights / weights.sum(dim=-1, keepdim=True)) @ v


WRONG = {"exercise_9_1": {"causal_attention": causal_attention}}
