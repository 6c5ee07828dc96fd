"""Reference solutions for chapter 13's checks."""

import math

import torch

from genai_checks.ch13 import CROSS_MISTAKES, SEEDS, cross_attention_case, latents_case, wide_heads_case
from genai_lib.nn.attention import MultiHeadAttention


def cross_attention(
    attn: MultiHeadAttention,
    x: torch.Tensor,
    context: torch.Tensor,
    pad: torch.Tensor,
    *,
    mask: str = "right",
    softmax_dim: int = -1,
    scale: str = "hs",
    project: bool = True,
) -> torch.Tensor:
    """Multi-head cross-attention with a key padding mask, and its common mistakes, written out."""
    B, T, C = x.shape
    nh = attn.config.n_head
    hs = C // nh
    q = attn.q(x).view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
    k, v = attn.kv(context).split(C, dim=2)
    k = k.view(B, -1, nh, hs).transpose(1, 2)  # (B, nh, S, hs)
    v = v.view(B, -1, nh, hs).transpose(1, 2)
    scores = q @ k.transpose(-2, -1)
    scores = scores / {"hs": math.sqrt(hs), "C": math.sqrt(C), "n_head": math.sqrt(nh), "none": 1.0}[scale]
    keep = ~pad[:, None, None, :]  # (B, 1, 1, S)
    if mask == "right":
        scores = scores.masked_fill(~keep, float("-inf"))
    elif mask == "inverted":
        scores = scores.masked_fill(keep, float("-inf"))
    elif mask == "inverted_finite":
        scores = scores.masked_fill(keep, -1e9)
    w = scores.softmax(dim=softmax_dim)
    if mask == "after":
        w = w * keep
    y = (w @ v).transpose(1, 2).reshape(B, T, C)
    return attn.proj(y) if project else y


MISTAKES = {  # the keyword arguments of cross_attention that make each mistake of CROSS_MISTAKES
    "no_mask": dict(mask="none"),
    "inverted": dict(mask="inverted"),
    "inverted_finite": dict(mask="inverted_finite"),
    "after_softmax": dict(mask="after"),
    "softmax_over_queries": dict(softmax_dim=-2),
    "no_scale": dict(scale="none"),
    "scale_by_C": dict(scale="C"),
    "no_projection": dict(project=False),
}


def answers() -> dict[str, object]:
    assert [name for name, _ in CROSS_MISTAKES] == list(MISTAKES), "the mistakes of the check and here differ"
    out: dict[str, object] = {}
    for seed in SEEDS:
        attn, x, context, pad = cross_attention_case(seed)
        key = f"cross_attention/seed={seed}"
        with torch.no_grad():
            out[key] = attn(x, context, key_padding_mask=pad)  # the library's layer is the reference
            for name, kwargs in MISTAKES.items():
                out[f"{key}/{name}"] = cross_attention(attn, x, context, pad, **kwargs)
        z = latents_case(seed)
        key = f"latent_scale/seed={seed}"
        out[key] = 1.0 / z.std()
        out[f"{key}/std"] = z.std()
        out[f"{key}/inverse_variance"] = 1 / z.var()
        out[f"{key}/inverse_rms"] = 1 / z.square().mean().sqrt()
        out[f"{key}/inverse_mean_abs"] = 1 / z.abs().mean()
    attn, x, context, pad = wide_heads_case()  # the hidden check of exercise 13.1
    with torch.no_grad():
        key = "cross_attention/hidden/wide_heads"
        out[key] = attn(x, context, key_padding_mask=pad)
        out[f"{key}/scale_by_n_head"] = cross_attention(attn, x, context, pad, scale="n_head")
    return out
