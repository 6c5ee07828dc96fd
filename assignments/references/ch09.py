"""Reference solutions for chapter 09's checks (causal attention's common mistakes, splitting heads)."""

import math

import torch

from genai_checks.ch09 import attention_cases, heads_case


def attention(q, k, v, *, scale, keep, dim=-1, fill=float("-inf")):
    """softmax(q k^T scale, with the scores outside `keep` set to `fill`) v."""
    scores = (q @ k.transpose(-2, -1)) * scale
    return torch.softmax(scores.masked_fill(~keep, fill), dim=dim) @ v


def attention_mistakes() -> dict[str, torch.Tensor]:
    """Outputs of the usual wrong versions of causal attention on the check's (B, nh, T, hs) inputs."""
    (q, k, v), _ = attention_cases()
    T, hs = q.size(-2), q.size(-1)
    tril = torch.ones(T, T, dtype=torch.bool).tril()
    s = 1 / math.sqrt(hs)
    scores = (q @ k.transpose(-2, -1)) * s
    wrong = {
        "no_scale": attention(q, k, v, scale=1.0, keep=tril),
        "scale_1_over_hs": attention(q, k, v, scale=1 / hs, keep=tril),
        "scale_sqrt_T": attention(q, k, v, scale=1 / math.sqrt(T), keep=tril),
        "upper_mask": attention(q, k, v, scale=s, keep=tril.T),
        "no_mask": attention(q, k, v, scale=s, keep=torch.ones(T, T, dtype=torch.bool)),
        "mask_after_softmax": torch.softmax(scores, dim=-1).masked_fill(~tril, 0.0) @ v,
        "fill_zero": attention(q, k, v, scale=s, keep=tril, fill=0.0),
        "softmax_over_queries": attention(q, k, v, scale=s, keep=tril, dim=-2),
        "transposed_weights": torch.softmax(scores.masked_fill(~tril, float("-inf")), dim=-1).transpose(-2, -1) @ v,
    }
    return {f"causal_attention/mistake/{key}": value for key, value in wrong.items()}


def answers() -> dict[str, object]:
    x, nh = heads_case()
    B, T, C = x.shape
    hs = C // nh
    return {
        **attention_mistakes(),
        "split_heads": torch.stack([x[:, :, h * hs : (h + 1) * hs] for h in range(nh)], dim=1),  # (B, nh, T, hs)
        "split_heads/mistake/interleaved": x.reshape(B, T, hs, nh).permute(0, 3, 1, 2),  # channel c to head c % nh
    }
