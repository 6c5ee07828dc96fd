"""Checks for the exercises of chapter 13 (Text-to-image in miniature)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from genai_checks.answers import stored
from genai_checks.core import CheckError, expect, expect_answer, expect_close, passed
from genai_lib.nn.attention import AttentionConfig, MultiHeadAttention

__all__ = ["check_masked_cross_attention", "check_masked_cross_attention_heads", "check_latent_scale"]


# ----- Exercise 13.1: cross-attention from image positions to caption tokens, padding masked ----------------

SEEDS = (0, 1)  # one case per seed


def cross_attention_case(seed: int) -> tuple[MultiHeadAttention, torch.Tensor, torch.Tensor, torch.Tensor]:
    """A small cross-attention layer (C = 16, 4 heads, context width 12) and inputs with ragged captions."""
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        attn = MultiHeadAttention(AttentionConfig(n_embd=16, n_head=4, context_dim=12)).double().eval()
    x = torch.randn(3, 5, 16, generator=g, dtype=torch.float64)  # (B, T, C): 5 image positions
    context = torch.randn(3, 6, 12, generator=g, dtype=torch.float64)  # (B, S, D): 6 caption tokens
    lengths = torch.tensor([6, 4, 2])  # real tokens per caption, then padding
    pad = torch.arange(6)[None, :] >= lengths[:, None]  # (B, S), True at padding
    return attn, x, context, pad


# The common mistakes: the name of each one's stored output, and what it means.
CROSS_MISTAKES = [
    (
        "no_mask",
        "Your output matches cross-attention WITHOUT the padding mask: the image positions also "
        "attend to <pad> tokens. Set the scores of keys where pad is True to -inf before the softmax.",
    ),
    (
        "inverted",
        "Your mask is inverted: you blocked the real caption tokens and kept the padding. pad is "
        "True at padding, so fill scores.masked_fill(pad[:, None, None, :], -inf).",
    ),
    (
        "inverted_finite",
        "Your mask is inverted: you blocked the real caption tokens and kept the padding. "
        "pad is True at padding, so fill scores.masked_fill(pad[:, None, None, :], -inf).",
    ),
    (
        "after_softmax",
        "You zeroed the padding's weights after the softmax, so each row no longer sums to 1. Mask "
        "the scores (-inf) before the softmax instead.",
    ),
    (
        "softmax_over_queries",
        "Your softmax runs over the queries (image positions, dim=-2); each query's weights must "
        "sum to 1 over the caption tokens: softmax(dim=-1).",
    ),
    ("no_scale", "You forgot to divide the scores by sqrt(hs), the head width (here sqrt(4) = 2)."),
    (
        "scale_by_C",
        "You divided the scores by sqrt(C), the full width; each head divides by sqrt(hs) with hs = C / n_head.",
    ),
    ("no_projection", "You returned the heads concatenated but skipped the output projection attn.proj."),
]


def check_masked_cross_attention(masked_cross_attention: Callable[..., torch.Tensor]) -> None:
    """Exercise 13.1: multi-head cross-attention with a key padding mask, equal to MultiHeadAttention's."""
    for seed in SEEDS:
        attn, x, context, pad = cross_attention_case(seed)
        with torch.no_grad():
            try:
                got = masked_cross_attention(attn, x.clone(), context.clone(), pad.clone())
            except (RuntimeError, ValueError, IndexError) as err:
                raise CheckError(
                    f"masked_cross_attention raised {type(err).__name__}: {err}. x is (B, T, C) = "
                    f"{tuple(x.shape)}, context (B, S, D) = {tuple(context.shape)}, pad (B, S) = "
                    f"{tuple(pad.shape)}; q comes from x, k and v from the context."
                ) from err
            expect_answer(got, "masked_cross_attention", "the attention's output (B, T, C)")
            expected = stored("ch13", f"cross_attention/seed={seed}")
            got = torch.as_tensor(got, dtype=torch.float64)
            if got.shape != expected.shape:
                hint = (
                    " You returned one vector per caption token (B, S, C): the output has one per image "
                    "position (the queries)."
                    if got.shape[:2] == context.shape[:2]
                    else ""
                )
                raise CheckError(
                    f"The output has shape {tuple(got.shape)}, expected {tuple(expected.shape)} (B, T, C).{hint}"
                )
            if not torch.allclose(got, expected, rtol=1e-5, atol=1e-7):
                for name, message in CROSS_MISTAKES:
                    wrong = stored("ch13", f"cross_attention/seed={seed}/{name}")
                    if torch.allclose(got, wrong, rtol=1e-5, atol=1e-7, equal_nan=True):
                        raise CheckError(message)
            expect_close(
                got,
                expected,
                what="The cross-attention output",
                rtol=1e-5,
                atol=1e-7,
                hint="q = attn.q(x); k, v = attn.kv(context).split(C, dim=2); split into heads, "
                "softmax(q k^T / sqrt(hs)) with padding at -inf, times v, heads back together, attn.proj.",
            )
    passed(
        "masked_cross_attention equals the library's MultiHeadAttention: queries from the image, keys and values "
        "from the caption, padding never attended to."
    )


def wide_heads_case() -> tuple[MultiHeadAttention, torch.Tensor, torch.Tensor, torch.Tensor]:
    """A layer of another geometry (C = 24, 2 heads of width 12, context width 8) and inputs (B, T, S) = (2, 3, 5).

    The public cases' layer has 4 heads of width 4, where n_head = hs; here the two differ, so a solution that
    mixes them up (or fixes either to 4) no longer agrees with the library. The second caption has one real token.
    """
    g = torch.Generator().manual_seed(13)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(13)
        attn = MultiHeadAttention(AttentionConfig(n_embd=24, n_head=2, context_dim=8)).double().eval()
    x = torch.randn(2, 3, 24, generator=g, dtype=torch.float64)
    context = torch.randn(2, 5, 8, generator=g, dtype=torch.float64)
    pad = torch.arange(5)[None, :] >= torch.tensor([5, 1])[:, None]  # (B, S), True at padding
    return attn, x, context, pad


def check_masked_cross_attention_heads(masked_cross_attention: Callable[..., torch.Tensor]) -> None:
    """Exercise 13.1, hidden: a layer with 2 heads of width 12 (n_head != hs), B = 2, T = 3, S = 5."""
    attn, x, context, pad = wide_heads_case()
    what = "masked_cross_attention on a layer with C = 24 and 2 heads (head width hs = 12, context width 8)"
    with torch.no_grad():
        try:
            got = masked_cross_attention(attn, x.clone(), context.clone(), pad.clone())
        except (RuntimeError, ValueError, IndexError) as err:
            raise CheckError(
                f"{what} raised {type(err).__name__}: {err}. Read every size from the inputs and the layer: "
                "B, T, C = x.shape, nh = attn.config.n_head, hs = C // nh."
            ) from err
    expect_answer(got, "masked_cross_attention", "the attention's output (B, T, C)")
    got = torch.as_tensor(got, dtype=torch.float64)
    expected = stored("ch13", "cross_attention/hidden/wide_heads")
    expect(got.shape == expected.shape, f"{what} returned shape {tuple(got.shape)}, expected (2, 3, 24) (B, T, C).")
    if torch.allclose(got, stored("ch13", "cross_attention/hidden/wide_heads/scale_by_n_head"), rtol=1e-5, atol=1e-7):
        raise CheckError(
            f"{what}: you divided the scores by sqrt(n_head) = sqrt(2); the scale is sqrt(hs), the width of one "
            "head (C / n_head = 12 here). On the public layer (4 heads of width 4) the two are the same number."
        )
    expect_close(
        got,
        expected,
        what=f"The output of {what}",
        rtol=1e-5,
        atol=1e-7,
        hint="The public layer has n_head = hs = 4, which hides a swap of the two or a hard-coded 4: split into "
        "heads with .view(B, T, nh, hs), nh = attn.config.n_head and hs = C // nh, and scale by sqrt(hs).",
    )
    passed("masked_cross_attention reads the number and width of the heads from the layer, whatever they are.")


# ----- Exercise 13.2: the latent scale factor ---------------------------------------------------------------


def latents_case(seed: int) -> torch.Tensor:
    """Latents (N, D, h, w) with mean 0.8 and a different spread per channel."""
    g = torch.Generator().manual_seed(seed)
    spread = torch.tensor([0.5, 2.0, 4.0, 1.0], dtype=torch.float64)[None, :, None, None]
    return 0.8 + spread * torch.randn(200, 4, 8, 8, generator=g, dtype=torch.float64)  # (N, D, h, w)


def check_latent_scale(latent_scale: Callable[[torch.Tensor], float]) -> None:
    """Exercise 13.2: the scale factor 1 / std of all latent entries (Rombach et al., 2022)."""
    for seed in SEEDS:
        z = latents_case(seed)
        answer = latent_scale(z.clone())
        expect_answer(answer, "latent_scale", "one number, 1 / std")
        got = torch.as_tensor(answer, dtype=torch.float64)
        key = f"latent_scale/seed={seed}"
        expected = stored("ch13", key)
        if got.numel() == z.size(1):
            raise CheckError(
                f"latent_scale returned {got.numel()} numbers, one per latent channel. The scale factor "
                "is a single number, 1 / std over every entry of z; per-channel scaling would change "
                "the shape of the latent distribution, not only its size."
            )
        expect(got.numel() == 1, f"latent_scale should return one number, got a tensor of shape {tuple(got.shape)}.")
        got = got.reshape(())
        close = lambda a, b: abs(float(a) - float(b)) <= 1e-3 * abs(float(b))  # noqa: E731
        if close(got, stored("ch13", f"{key}/std")):
            raise CheckError(
                "You returned the standard deviation itself; the scale factor is its inverse, "
                "1 / std, so that scale * z has standard deviation 1."
            )
        if close(got, stored("ch13", f"{key}/inverse_variance")):
            raise CheckError(
                "You returned 1 / variance; the scale factor is 1 / std (the square root of the variance)."
            )
        if close(got, stored("ch13", f"{key}/inverse_rms")):
            raise CheckError(
                "You divided by the root mean square of z, which includes its mean (0.8 here); use the "
                "standard deviation, z.std(), as LDM and the library do."
            )
        if close(got, stored("ch13", f"{key}/inverse_mean_abs")):
            raise CheckError("You used the mean absolute value; use the standard deviation, z.std().")
        expect_close(
            got, expected, what="The scale factor", rtol=1e-3, hint="scale = 1 / z.std(), one number over all entries."
        )
        expect_close((got * z).std(), torch.tensor(1.0, dtype=torch.float64), what="The std of scale * z", rtol=1e-3)
    passed("latent_scale = 1 / std(z): the scaled latents have unit spread, like the noise they are mixed with.")
