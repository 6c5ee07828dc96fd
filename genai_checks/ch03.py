"""Checks for the exercises of chapter 03 (DCGAN on images).

The expected values (and the values of each common mistake) are stored answers; the reference solutions
that computed them live in the grader bundle (assignments/references/ch03.py), not here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch

from genai_checks.answers import stored
from genai_checks.core import CheckError, expect, expect_answer, expect_close, passed

__all__ = ["check_conv_transpose_size", "check_slerp", "check_slerp_mixed_batch"]


_answer = partial(stored, "ch03")  # this chapter's stored answer of a key


# ----- Exercise 3.2: the output size of a transposed convolution -------------------------------------------

SIZE_CASES = [  # (in, kernel, stride, padding, output_padding)
    (7, 4, 2, 1, 0),
    (4, 4, 1, 0, 0),
    (5, 3, 2, 1, 1),
    (3, 3, 2, 0, 0),
    (10, 5, 3, 2, 2),
    (1, 7, 1, 0, 0),
    (6, 2, 2, 0, 1),
    (8, 3, 1, 1, 0),
]

_SIZE_MISTAKES = [  # (the stored sizes of a wrong formula on SIZE_CASES, what it means)
    (
        "conv_transpose_size/mistake/ordinary_conv",
        "This is the output size of an ordinary convolution, floor((in + 2p - k) / s) + 1, which shrinks the image. "
        "A transposed convolution goes the other way: out = (in - 1) * stride - 2 * padding + kernel + output_padding.",
    ),
    (
        "conv_transpose_size/mistake/no_output_padding",
        "You forgot output_padding: it adds that many rows (and columns) on one side, out = (in - 1) * stride - "
        "2 * padding + kernel + output_padding.",
    ),
    (
        "conv_transpose_size/mistake/in_times_stride",
        "Your size is too big by one stride: in input pixels are spaced stride apart, so the first and the last are "
        "(in - 1) * stride apart, not in * stride.",
    ),
    (
        "conv_transpose_size/mistake/padding_once",
        "padding crops the output on both sides: subtract 2 * padding, not padding.",
    ),
    (
        "conv_transpose_size/mistake/padding_sign",
        "The padding has the wrong sign: in a transposed convolution padding crops the output, out = (in - 1) * "
        "stride - 2 * padding + kernel + output_padding.",
    ),
    (
        "conv_transpose_size/mistake/only_stride",
        "in * stride is right only for kernel = stride + 2 * padding (as in DCGAN's kernel 4, stride 2, padding 1); "
        "the general formula is out = (in - 1) * stride - 2 * padding + kernel + output_padding.",
    ),
]


def check_conv_transpose_size(conv_transpose_size: Callable[..., int]) -> None:
    """Exercise 3.2: out = (in - 1) * stride - 2 * padding + kernel + output_padding, as nn.ConvTranspose2d."""
    got = []
    for case in SIZE_CASES:
        n, k, s, p, op = case
        try:
            value = conv_transpose_size(n, k, s, p, op)
        except TypeError as err:
            raise CheckError(
                f"conv_transpose_size{case} raised TypeError: {err}. It takes five integers: "
                "(size, kernel, stride, padding, output_padding)."
            ) from err
        expect_answer(value, "conv_transpose_size", "the output size, an integer")
        if isinstance(value, torch.Tensor):
            value = value.item()
        expect(
            isinstance(value, (int, float)) and float(value).is_integer(),
            f"conv_transpose_size{case} returned {value!r}; an output size is a whole number of pixels.",
        )
        got.append(int(value))
    expected = _answer("conv_transpose_size")
    wrong = [i for i, (g, e) in enumerate(zip(got, expected, strict=True)) if g != e]
    if wrong:
        hint = next(
            (h for key, h in _SIZE_MISTAKES if got == _answer(key)),
            "out = (in - 1) * stride - 2 * padding + kernel + output_padding.",
        )
        i = wrong[0]
        raise CheckError(
            f"conv_transpose_size{SIZE_CASES[i]} = {got[i]}, but nn.ConvTranspose2d(kernel_size="
            f"{SIZE_CASES[i][1]}, stride={SIZE_CASES[i][2]}, padding={SIZE_CASES[i][3]}, "
            f"output_padding={SIZE_CASES[i][4]}) turns {SIZE_CASES[i][0]} pixels into "
            f"{expected[i]}. {hint}"
        )
    # The formula against PyTorch itself, on one case the student has not seen.
    layer = torch.nn.ConvTranspose2d(1, 1, kernel_size=5, stride=3, padding=1, output_padding=1)
    with torch.no_grad():
        real = layer(torch.zeros(1, 1, 4, 4)).shape[-1]
    expect(
        int(conv_transpose_size(4, 5, 3, 1, 1)) == real,
        f"conv_transpose_size(4, 5, 3, 1, 1) should be {real}, as nn.ConvTranspose2d computes.",
    )
    passed("conv_transpose_size agrees with nn.ConvTranspose2d on every setting tried, output_padding included.")


# ----- Exercise 3.3: spherical interpolation -----------------------------------------------------------------


def slerp_case() -> tuple[torch.Tensor, torch.Tensor]:
    """Five pairs of 16-d latents of different norms, float64: (z0, z1), each (5, 16)."""
    g = torch.Generator().manual_seed(0)
    z0 = torch.randn(5, 16, generator=g, dtype=torch.float64) * 3
    z1 = torch.randn(5, 16, generator=g, dtype=torch.float64) * 3
    return z0, z1


def check_slerp(slerp: Callable[..., torch.Tensor]) -> None:
    """Exercise 3.3: slerp(z0, z1, t) = sin((1-t) W)/sin W z0 + sin(t W)/sin W z1, W the angle between z0 and z1."""
    z0, z1 = slerp_case()

    def call(a, b, t):
        try:
            out = slerp(a.clone(), b.clone(), t)
        except (TypeError, ValueError, RuntimeError) as err:
            raise CheckError(
                f"slerp raised {type(err).__name__}: {err}. It takes z0 and z1 of shape (B, d) and a "
                "float t, and returns (B, d)."
            ) from err
        expect_answer(out, "slerp", "the interpolated latents, shape (B, d)")
        out = torch.as_tensor(out, dtype=torch.float64)
        expect(
            out.shape == a.shape,
            f"slerp returned shape {tuple(out.shape)} for inputs of shape {tuple(a.shape)}: "
            "one interpolated vector per row.",
        )
        return out

    for t, target, name in ((0.0, z0, "z0"), (1.0, z1, "z1")):
        out = call(z0, z1, t)
        if t == 0.0 and torch.allclose(out, z1, atol=1e-6) or t == 1.0 and torch.allclose(out, z0, atol=1e-6):
            raise CheckError(
                "Your endpoints are swapped: slerp(z0, z1, 0) must be z0 and slerp(z0, z1, 1) must be "
                "z1. The weight of z0 is sin((1 - t) W) / sin W."
            )
        if torch.allclose(out, target / target.norm(dim=-1, keepdim=True), atol=1e-6):
            raise CheckError(
                "You interpolated the unit directions: use the angle of the normalised vectors, but "
                "combine the original z0 and z1, so that the norms are interpolated too."
            )
        if not torch.isfinite(out).all():
            raise CheckError(
                f"slerp(z0, z1, {t}) contains NaN. Most likely acos got a value outside [-1, 1]: the "
                "cosine of the angle is the dot product divided by BOTH norms, "
                "(z0 . z1) / (|z0| |z1|); clamp it to [-1, 1] for rounding."
            )
        expect_close(
            out, target, what=f"slerp(z0, z1, {t:g})", atol=1e-6, hint=f"At t = {t:g} slerp must return {name} exactly."
        )
    mid = call(z0, z1, 0.5)
    expected = _answer("slerp/mid")
    if not torch.allclose(mid, expected, atol=1e-6):
        if not torch.isfinite(mid).all():
            raise CheckError(
                "slerp(z0, z1, 0.5) contains NaN: the cosine of the angle is the dot product divided by "
                "both norms, (z0 . z1) / (|z0| |z1|), clamped to [-1, 1] before acos."
            )
        if torch.allclose(mid, 0.5 * (z0 + z1), atol=1e-6):
            raise CheckError(
                "This is linear interpolation, (1 - t) z0 + t z1. Its midpoint is shorter than both "
                "ends; slerp follows the arc: sin((1 - t) W) / sin W * z0 + sin(t W) / sin W * z1."
            )
        if torch.allclose(mid, _answer("slerp/mid/mistake/one_angle"), atol=1e-6):
            raise CheckError(
                "You measured one angle for the whole batch: take the dot product and the norms along "
                "the last dimension (dim=-1, keepdim=True), one angle per row."
            )
        if torch.allclose(mid, _answer("slerp/mid/mistake/unit"), atol=1e-6):
            raise CheckError(
                "You interpolated the unit directions: use the angle of the normalised vectors, but "
                "combine the original z0 and z1, so that the norms are interpolated too."
            )
        expect_close(
            mid,
            expected,
            what="slerp(z0, z1, 0.5)",
            atol=1e-6,
            hint="slerp = sin((1 - t) W) / sin W * z0 + sin(t W) / sin W * z1, with cos W = (z0 . z1) / (|z0| |z1|).",
        )
    # On two vectors of equal norm, slerp stays on the sphere at every t.
    a, b = z0[:1] / z0[:1].norm() * 8, z1[:1] / z1[:1].norm() * 8
    norms = torch.cat([call(a, b, t).norm(dim=-1) for t in (0.1, 0.3, 0.7, 0.9)])
    expect_close(
        norms,
        torch.full_like(norms, 8.0),
        what="the norms of slerp between two vectors of norm 8",
        atol=1e-5,
        hint="Between two vectors of equal norm, slerp stays on their sphere.",
    )
    # Parallel vectors: the angle is 0 and sin W = 0; slerp must fall back to linear interpolation.
    par = call(z0, 2 * z0, 0.25)
    if not torch.isfinite(par).all():
        raise CheckError(
            "slerp(z, 2 z, 0.25) contains NaN: for parallel vectors W = 0 and sin W = 0. Fall back to "
            "linear interpolation where sin W is (nearly) zero, e.g. with torch.where."
        )
    expect_close(
        par,
        1.25 * z0,
        what="slerp(z, 2 z, 0.25)",
        atol=1e-5,
        hint="For parallel vectors slerp is linear interpolation: 0.75 z + 0.25 (2 z) = 1.25 z.",
    )
    passed("slerp follows the great circle between z0 and z1, one angle per row, and survives parallel vectors.")


def slerp_mixed_case() -> tuple[torch.Tensor, torch.Tensor]:
    """Four pairs of 8-d latents, float64, where rows 1 and 3 are parallel (z1 = 2 z0, z1 = 0.5 z0): (z0, z1)."""
    g = torch.Generator().manual_seed(1)
    z0 = torch.randn(4, 8, generator=g, dtype=torch.float64)
    z1 = torch.randn(4, 8, generator=g, dtype=torch.float64)
    z1[1], z1[3] = 2 * z0[1], 0.5 * z0[3]
    return z0, z1


def check_slerp_mixed_batch(slerp: Callable[..., torch.Tensor]) -> None:
    """Exercise 3.3, hidden: a batch where some rows are parallel and others are not, at t = 0.3."""
    z0, z1 = slerp_mixed_case()
    try:
        out = slerp(z0.clone(), z1.clone(), 0.3)
    except (TypeError, ValueError, RuntimeError) as err:
        raise CheckError(f"slerp raised {type(err).__name__} on a batch of 4 rows, 2 of them parallel: {err}.") from err
    expect_answer(out, "slerp", "the interpolated latents, shape (B, d)")
    out = torch.as_tensor(out, dtype=torch.float64)
    expect(out.shape == (4, 8), f"slerp returned shape {tuple(out.shape)} for inputs of shape (4, 8).")
    expected = _answer("slerp/hidden/mixed")
    parallel = torch.tensor([False, True, False, True])
    if not torch.isfinite(out).all():
        raise CheckError(
            "On a batch where rows 1 and 3 are parallel (z1 = c z0) and rows 0 and 2 are not, slerp(z0, z1, "
            "0.3) contains NaN in rows "
            f"{sorted(set(torch.nonzero(~torch.isfinite(out))[:, 0].tolist()))}: decide the fallback row by row "
            "(torch.where on a (B, 1) mask), not once for the whole batch."
        )
    if torch.allclose(out[~parallel], (0.7 * z0 + 0.3 * z1)[~parallel], atol=1e-6):
        raise CheckError(
            "On a batch where rows 1 and 3 are parallel (z1 = c z0) and rows 0 and 2 are not, slerp(z0, z1, 0.3) "
            "interpolated rows 0 and 2 linearly too: one parallel row made the whole batch fall back. Decide "
            "row by row, e.g. torch.where(parallel, lerp, slerp) with a (B, 1) mask, not with a Python `if`."
        )
    expect_close(
        out,
        expected,
        what="slerp(z0, z1, 0.3) on a batch with 2 parallel rows out of 4",
        atol=1e-6,
        hint="Each row gets its own angle; the parallel rows fall back to (1 - t) z0 + t z1, the others do not.",
    )
    passed("slerp decides row by row: the parallel rows interpolate linearly, the others along the arc.")
