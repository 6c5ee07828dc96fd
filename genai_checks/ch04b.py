"""Checks for the exercises of chapter 4b (Style-based generators); to become genai_checks/ch04b.py.

Both exercises are checked by properties of the answer, so no stored values are needed: a demodulated weight
has unit norm per sample and output channel and points along s_i w_ijk; a truncation moves exactly the coarse
layers toward w_avg by the factor psi.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from genai_checks.core import CheckError, expect, expect_answer, expect_close, passed

__all__ = ["check_demodulate_weights", "check_demodulate_weights_zero_style", "check_truncate_layers"]


# ----- Exercise 4b.2: modulation and demodulation -------------------------------------------------------------


def _demod_case(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """weight (out 5, in 4, 3, 3) and styles s (B 3, in 4), float64, styles far from 1."""
    g = torch.Generator().manual_seed(seed)
    weight = torch.randn(5, 4, 3, 3, generator=g, dtype=torch.float64)
    s = 0.2 + 3 * torch.rand(3, 4, generator=g, dtype=torch.float64)
    return weight, s


def _call_demod(fn: Callable, weight: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    try:
        out = fn(weight.clone(), s.clone())
    except (TypeError, ValueError, RuntimeError, IndexError) as err:
        raise CheckError(
            f"demodulate_weights raised {type(err).__name__}: {err}. It receives weight (out, in, k, k) and "
            "styles s (B, in), and returns the demodulated weights (B, out, in, k, k)."
        ) from err
    expect_answer(out, "demodulate_weights", "the demodulated weights (B, out, in, k, k)")
    if not isinstance(out, torch.Tensor):
        raise CheckError(f"demodulate_weights must return a tensor, got {type(out).__name__}.")
    return out


def check_demodulate_weights(demodulate_weights: Callable) -> None:
    """Exercise 4b.2: w''_bjik = s_bi w_jik / sqrt(sum_{i,k} (s_bi w_jik)^2 + eps), shape (B, out, in, k, k)."""
    weight, s = _demod_case()
    out = _call_demod(demodulate_weights, weight, s)
    B, (O, I, K, _) = len(s), weight.shape
    expect(
        tuple(out.shape) == (B, O, I, K, K),
        f"The result has shape {tuple(out.shape)}; expected (B, out, in, k, k) = {(B, O, I, K, K)}: one set of "
        "weights per sample. Broadcast s[:, None, :, None, None] against weight[None].",
    )
    norms = out.square().sum(dim=(2, 3, 4))  # (B, out)
    if torch.allclose(out.square().sum(dim=(1, 3, 4)), torch.ones(B, I, dtype=out.dtype), atol=1e-6):
        raise CheckError(
            "You normalised over the output channels j; demodulation divides each output j by the "
            "norm over the inputs i and the taps k: sum over dim=(2, 3, 4) of (B, out, in, k, k)."
        )
    expect_close(
        norms,
        torch.ones(B, O, dtype=out.dtype),
        what="sum_{i,k} w''^2 for each sample and output j",
        atol=1e-6,
        hint="Divide by the square root of the sum of squares (over in and the taps), not by the sum.",
    )
    modulated = s[:, None, :, None, None] * weight[None]  # (B, out, in, k, k): the direction the answer must keep
    ratio = out / modulated
    spread = (ratio - ratio.mean(dim=(2, 3, 4), keepdim=True)).abs().max().item()
    expect(
        spread < 1e-6,
        "Your weights are not proportional to s_i w_ijk for each sample and output: modulate the "
        "*input* channels i (s[:, None, :, None, None]), then rescale each output j as a whole.",
    )
    expect_close(
        _call_demod(demodulate_weights, weight, 7.0 * s),
        out,
        what="the result for styles 7 s",
        atol=1e-6,
        hint="Scaling every style of a sample by the same factor must change nothing after demodulation.",
    )
    passed(
        "each sample's weights point along s_i w_ijk and have unit norm per output channel, whatever the "
        "styles' overall scale"
    )


def check_demodulate_weights_zero_style(demodulate_weights: Callable) -> None:
    """Hidden: a sample whose styles are all zero gets zero weights, not NaN (eps inside the square root)."""
    weight, s = _demod_case(1)
    s[1] = 0.0
    out = _call_demod(demodulate_weights, weight, s)
    expect(
        bool(torch.isfinite(out).all()),
        "A sample with all styles zero gives NaN: 0 / sqrt(0). Add a small eps "
        "(1e-8) inside the square root, as StyleGAN 2 does.",
    )
    expect(bool((out[1] == 0).all()), "A sample with all styles zero must get zero weights.")
    passed("a sample with zero styles gets zero weights, without NaN")


# ----- Exercise 4b.3: truncation of the coarse layers only ----------------------------------------------------


def check_truncate_layers(truncate_layers: Callable) -> None:
    """Exercise 4b.3: rows [0, cutoff) of ws move to w_avg + psi (w - w_avg); rows [cutoff, L) are unchanged."""
    g = torch.Generator().manual_seed(0)
    ws, w_avg = torch.randn(3, 7, 6, generator=g, dtype=torch.float64), torch.randn(6, generator=g, dtype=torch.float64)
    original = ws.clone()
    try:
        out = truncate_layers(ws, w_avg, 0.3, 4)
    except (TypeError, ValueError, RuntimeError, IndexError) as err:
        raise CheckError(
            f"truncate_layers raised {type(err).__name__}: {err}. It receives ws (B, L, w_dim), "
            "w_avg (w_dim,), psi and cutoff, and returns a tensor shaped like ws."
        ) from err
    expect_answer(out, "truncate_layers", "a tensor shaped like ws")
    expect(
        isinstance(out, torch.Tensor) and out.shape == ws.shape,
        f"truncate_layers must return a tensor shaped like ws {tuple(ws.shape)}.",
    )
    expect(
        torch.equal(ws, original),
        "truncate_layers changed its input ws in place; return a new tensor "
        "(torch.cat, or ws.clone() before writing into it).",
    )
    if torch.allclose(out, w_avg + 0.3 * (ws - w_avg)):
        raise CheckError(
            "You truncated every layer: only the layers [0, cutoff) move toward w_avg; the rows from "
            "the cutoff on stay as they are (cutoff = L truncates them all)."
        )
    if torch.allclose(out[:, 4:], w_avg + 0.3 * (ws[:, 4:] - w_avg)):
        raise CheckError(
            "You truncated the fine layers [cutoff, L); the cutoff keeps truncation to the coarse "
            "layers [0, cutoff), which set the layout, and leaves the fine ones alone."
        )
    if torch.allclose(out[:, :4], w_avg + 0.7 * (ws[:, :4] - w_avg)):
        raise CheckError(
            "You moved the coarse layers by 1 - psi: w_avg + psi (w - w_avg) keeps a share psi of the "
            "distance from the average (psi = 1 changes nothing)."
        )
    expect_close(out[:, 4:], ws[:, 4:], what="layers cutoff..L-1", hint="Layers from the cutoff on stay as they are.")
    expect_close(
        out[:, :4],
        w_avg + 0.3 * (ws[:, :4] - w_avg),
        what="layers 0..cutoff-1",
        hint="Each coarse row becomes w_avg + psi (w - w_avg).",
    )
    expect_close(truncate_layers(ws, w_avg, 1.0, 7), ws, what="the result at psi = 1", hint="psi = 1 is no truncation.")
    passed("the coarse layers move toward w_avg by the factor psi; the fine layers and the input are untouched")
