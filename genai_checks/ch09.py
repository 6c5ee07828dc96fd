"""Checks for the exercises of chapter 09: causal scaled dot-product attention, and splitting heads."""

from __future__ import annotations

from collections.abc import Callable

import torch

from genai_checks.answers import stored
from genai_checks.core import CheckError, expect, expect_answer, expect_close, passed

__all__ = ["check_causal_attention", "check_causal_attention_large_scores", "check_split_merge_heads"]


# ----- Exercise 9.1: causal scaled dot-product attention ---------------------------------------------------


def attention_cases() -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
    """Queries, keys and values: (q, k, v) of shape (B, nh, T, hs) = (2, 3, 7, 5), then a plain (11, 4) triple."""
    g = torch.Generator().manual_seed(9)
    B, nh, T, hs = 2, 3, 7, 5  # T != hs, so that a wrong axis or a wrong scale cannot hide
    qkv = tuple(1.5 * torch.randn(B, nh, T, hs, generator=g, dtype=torch.float64) for _ in range(3))
    small = tuple(torch.randn(11, 4, generator=g, dtype=torch.float64) for _ in range(3))
    return qkv, small


_ATTENTION_MISTAKES = [  # (stored output of a wrong causal attention, what went wrong)
    (
        "no_scale",
        "You forgot to divide the scores by sqrt(hs) (hs = q.size(-1), the width of a query): "
        "scores = q @ k.transpose(-2, -1) / math.sqrt(hs).",
    ),
    ("scale_1_over_hs", "You divided the scores by hs; divide by its square root, math.sqrt(hs)."),
    (
        "scale_sqrt_T",
        "You scaled by sqrt(T), the sequence length; the scale is 1/sqrt(hs), hs = q.size(-1) the width of a query.",
    ),
    (
        "upper_mask",
        "The mask points the wrong way: query t attends to the future (keys s >= t) and not the past. "
        "Keep the lower triangle, torch.ones(T, T).tril(), where s <= t.",
    ),
    (
        "no_mask",
        "There is no causal mask: every position sees the whole sequence, future included. Set the scores of "
        "keys s > t to -inf before the softmax.",
    ),
    (
        "mask_after_softmax",
        "You applied the mask after the softmax: the weights of each row no longer sum to 1. Set "
        "the scores of future keys to -inf *before* the softmax, so that the softmax renormalises "
        "over the past.",
    ),
    (
        "fill_zero",
        "You filled the masked scores with 0, but exp(0) = 1 still gives future keys weight. Fill them with "
        "float('-inf') (exp(-inf) = 0).",
    ),
    (
        "softmax_over_queries",
        "The softmax is over the wrong axis (dim=-2, the queries): each query's weights over the "
        "keys must sum to 1, so take the softmax over the last axis, dim=-1.",
    ),
    (
        "transposed_weights",
        "You multiplied V by the transposed weights: the output of query t is sum_s A[t, s] v_s, "
        "i.e. weights @ v with weights of shape (T, T) indexed [query, key].",
    ),
]


def check_causal_attention(causal_attention: Callable[..., torch.Tensor]) -> None:
    """Exercise 9.1: softmax(q k^T / sqrt(hs) + causal mask) v, for q, k, v of shape (..., T, hs)."""
    (q, k, v), (q1, k1, v1) = attention_cases()

    def call(q, k, v):
        try:
            out = causal_attention(q.clone(), k.clone(), v.clone())
        except (TypeError, ValueError, RuntimeError, IndexError) as err:
            raise CheckError(
                f"causal_attention raised {type(err).__name__}: {err}. It receives q, k, v of shape "
                f"(B, nh, T, hs) = {tuple(q.shape)}; use the last two axes only (k.transpose(-2, -1), "
                "q.size(-1), softmax(dim=-1)), and do not hard-code T or hs: read them from q.size(-2) "
                "and q.size(-1)."
            ) from err
        expect_answer(out, "causal_attention", "the output tensor (..., T, hs)")
        expect(
            isinstance(out, torch.Tensor),
            f"causal_attention should return a tensor, got {type(out).__name__}. "
            "Return only the output, not (output, weights).",
        )
        expect(
            out.shape == q.shape,
            f"causal_attention returned shape {tuple(out.shape)}, expected "
            f"{tuple(q.shape)}: one output of width hs per query.",
        )
        return out.double()

    out = call(q, k, v)
    reference = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    if not torch.allclose(out, reference, rtol=1e-5, atol=1e-6):
        for key, message in _ATTENTION_MISTAKES:
            if torch.allclose(out, stored("ch09", f"causal_attention/mistake/{key}"), rtol=1e-5, atol=1e-6):
                raise CheckError(message)
        expect(
            bool(torch.isfinite(out).all()),
            "Your output contains NaN: some query may attend to no key at all, and its softmax is 0/0. Query t "
            "must see keys s <= t, its own position included: keep the diagonal, torch.ones(T, T).tril().",
        )
        # Not a known mistake: is it at least causal? Change the last key and value and look at earlier outputs.
        k2, v2 = k.clone(), v.clone()
        k2[..., -1, :] += 3.0
        v2[..., -1, :] -= 3.0
        leak = (call(q, k2, v2) - out)[..., :-1, :].abs().max().item()
        expect(
            leak < 1e-9,
            f"Changing only the last key and value changed the outputs of earlier positions (by up "
            f"to {leak:.3g}): information leaks from the future. Mask the scores of keys s > t "
            "before the softmax.",
        )
        first = out[..., 0, :]
        expect_close(
            first,
            v[..., 0, :],
            what="The output at position 0",
            hint="The first query may attend only to the first key, so its output must be v[..., 0, :].",
        )
        expect_close(
            out,
            reference,
            what="causal_attention(q, k, v)",
            rtol=1e-5,
            atol=1e-6,
            hint="Compare with softmax(q @ k^T / sqrt(hs), masked with -inf above the diagonal) @ v.",
        )
    # Works for other sizes (no hard-coded T or hs) and for plain (T, hs) inputs.
    expect_close(
        call(q1, k1, v1),
        torch.nn.functional.scaled_dot_product_attention(q1, k1, v1, is_causal=True),
        what="causal_attention on inputs of shape (11, 4)",
        rtol=1e-5,
        atol=1e-6,
        hint="Do not hard-code T or hs: read them from q.size(-2) and q.size(-1).",
    )
    passed("causal_attention matches F.scaled_dot_product_attention(q, k, v, is_causal=True) and never looks ahead.")


def large_scores_case() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """float32 (q, k, v) of shape (1, 2, 6, 8) whose queries and keys share a large common component (6 in every
    channel), so that the scaled scores lie between about 77 and 122, where exp overflows float32 (above 88.7)."""
    g = torch.Generator().manual_seed(90)
    q, k, v = (torch.randn(1, 2, 6, 8, generator=g) for _ in range(3))
    return q + 6.0, k + 6.0, v


def check_causal_attention_large_scores(causal_attention: Callable[..., torch.Tensor]) -> None:
    """Exercise 9.1, hidden: float32 scores beyond 88.7, where exp overflows: the softmax must stay finite."""
    q, k, v = large_scores_case()
    what = "float32 queries and keys with a large common component (scaled scores of 77 to 122)"
    try:
        out = causal_attention(q.clone(), k.clone(), v.clone())
    except (TypeError, ValueError, RuntimeError, IndexError) as err:
        raise CheckError(f"causal_attention raised {type(err).__name__} on {what}: {err}") from err
    expect_answer(out, "causal_attention", "the output tensor (..., T, hs)")
    expect(isinstance(out, torch.Tensor), f"causal_attention should return a tensor, got {type(out).__name__}.")
    expect(
        out.shape == q.shape,
        f"On {what}, causal_attention returned shape {tuple(out.shape)}, expected {tuple(q.shape)}.",
    )
    out = out.double()
    if not torch.isfinite(out).all():
        raise CheckError(
            f"On {what}, your output contains NaN or inf: exp(score) overflows float32 above 88.7, and "
            "inf / inf is NaN. Did you write the softmax out as exp(scores) / sum? Subtract each row's "
            "largest score before exp (a softmax is unchanged by a shift), or use torch.softmax(scores, dim=-1), "
            "which does."
        )
    reference = torch.nn.functional.scaled_dot_product_attention(q.double(), k.double(), v.double(), is_causal=True)
    expect_close(
        out,
        reference,
        what=f"causal_attention on {what}",
        rtol=1e-4,
        atol=1e-4,
        hint="Compare with softmax(q @ k^T / sqrt(hs), masked with -inf above the diagonal) @ v.",
    )
    passed("causal_attention stays finite and accurate when the scores are beyond what exp can hold in float32.")


# ----- Exercise 9.2: splitting and merging heads ------------------------------------------------------------


def heads_case() -> tuple[torch.Tensor, int]:
    """x of shape (B, T, C) = (2, 5, 12) with x[b, t, c] = 1000 b + 100 t + c, and n_head = 3."""
    B, T, nh, hs = 2, 5, 3, 4
    C = nh * hs
    # Every entry says where it came from.
    x = (
        1000 * torch.arange(B)[:, None, None] + 100 * torch.arange(T)[None, :, None] + torch.arange(C)[None, None, :]
    ).double()
    return x, nh


def check_split_merge_heads(split_heads: Callable[..., torch.Tensor], merge_heads: Callable[..., torch.Tensor]) -> None:
    """Exercise 9.2: (B, T, C) -> (B, nh, T, hs) with head h owning channels h*hs:(h+1)*hs, and back."""
    x, nh = heads_case()
    B, T, C = x.shape
    hs = C // nh
    expected = stored("ch09", "split_heads")  # (B, nh, T, hs)
    try:
        heads = split_heads(x.clone(), nh)
    except (TypeError, ValueError, RuntimeError) as err:
        raise CheckError(
            f"split_heads(x, n_head={nh}) on x of shape {tuple(x.shape)} raised {type(err).__name__}: {err}"
        ) from err
    expect_answer(heads, "split_heads", "a tensor of shape (B, nh, T, hs)")
    expect(isinstance(heads, torch.Tensor), f"split_heads should return a tensor, got {type(heads).__name__}.")
    expect(
        tuple(heads.shape) == (B, nh, T, hs),
        f"split_heads returned shape {tuple(heads.shape)}, expected (B, nh, T, hs) = {(B, nh, T, hs)}: view as "
        "(B, T, nh, hs), then swap axes 1 and 2 with .transpose(1, 2).",
    )
    if not torch.equal(heads.double(), expected):
        if torch.equal(heads.double(), x.reshape(B, nh, T, hs)):
            raise CheckError(
                "You reshaped (B, T, C) straight to (B, nh, T, hs) without a transpose: the shape is "
                "right but each 'head' now mixes channels of different time steps. View as "
                "(B, T, nh, hs) first, then .transpose(1, 2)."
            )
        if torch.equal(heads.double(), stored("ch09", "split_heads/mistake/interleaved")):
            raise CheckError(
                "Your heads take every nh-th channel (channel c goes to head c % nh); head h should own "
                "the contiguous slice of channels h*hs:(h+1)*hs. View as (B, T, nh, hs), not "
                "(B, T, hs, nh)."
            )
        raise CheckError(
            f"split_heads(x)[0, 1, 0] is {heads[0, 1, 0].tolist()}, expected {expected[0, 1, 0].tolist()}"
            f" (the channels {hs}:{2 * hs} of x[0, 0]): head h of position t holds "
            "x[b, t, h*hs:(h+1)*hs]."
        )

    y = expected.clone()  # a contiguous (B, nh, T, hs) tensor, as attention returns it
    try:
        merged = merge_heads(y)
        merged_noncontig = merge_heads(expected.transpose(1, 2).contiguous().transpose(1, 2))
    except RuntimeError as err:
        raise CheckError(
            f"merge_heads raised RuntimeError: {err}. After .transpose(1, 2) the tensor is no longer "
            "contiguous in memory, so .view fails: call .contiguous() before .view, or use "
            ".reshape."
        ) from err
    except (TypeError, ValueError) as err:
        raise CheckError(
            f"merge_heads on a tensor of shape {tuple(y.shape)} raised {type(err).__name__}: {err}"
        ) from err
    expect_answer(merged, "merge_heads", "a tensor of shape (B, T, C)")
    expect(isinstance(merged, torch.Tensor), f"merge_heads should return a tensor, got {type(merged).__name__}.")
    expect(
        tuple(merged.shape) == (B, T, C),
        f"merge_heads returned shape {tuple(merged.shape)}, expected (B, T, C) = {(B, T, C)}.",
    )
    if not torch.equal(merged.double(), x):
        if torch.equal(merged.double(), y.reshape(B, T, C)):
            raise CheckError(
                "merge_heads reshapes (B, nh, T, hs) to (B, T, C) without transposing back: the heads "
                "of different time steps get mixed. Do .transpose(1, 2) first, then "
                ".contiguous().view(B, T, C) (or .reshape)."
            )
        raise CheckError(
            "merge_heads(split_heads(x)) is not x: merging must undo splitting exactly, placing head "
            "h's output in channels h*hs:(h+1)*hs."
        )
    expect(
        torch.equal(merged_noncontig.double(), x),
        "merge_heads gives a wrong answer on a tensor that is not contiguous in memory; use .reshape or "
        ".contiguous().view after the transpose.",
    )
    passed("split_heads gives head h the channels h*hs:(h+1)*hs of every position, and merge_heads undoes it.")
