"""Checks for the exercises of chapter 12 (Conditioning and classifier-free guidance)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from genai_checks.answers import stored
from genai_checks.core import CheckError, expect, expect_answer, passed

__all__ = ["check_guided_eps", "check_drop_labels", "check_drop_labels_small_batches"]


# ----- Exercise 12.1: the guided noise prediction -----------------------------------------------------------


def _coefficients(guided_eps: Callable, w: float) -> tuple[float, float, torch.Tensor, torch.Tensor]:
    """Fit out = a ε_cond + b ε_uncond by least squares on random inputs; return a, b, the output and the fit."""
    g = torch.Generator().manual_seed(12)
    eps_c = torch.randn(4, 1, 8, 8, generator=g, dtype=torch.float64)
    eps_u = torch.randn(4, 1, 8, 8, generator=g, dtype=torch.float64)
    out = guided_eps(eps_c.clone(), eps_u.clone(), w)
    expect_answer(out, "guided_eps", "the guided ε̃, a tensor shaped like eps_cond")
    out = torch.as_tensor(out, dtype=torch.float64)
    if out.shape != eps_c.shape:
        raise CheckError(
            f"guided_eps returned shape {tuple(out.shape)} for inputs of shape {tuple(eps_c.shape)}: "
            "the guided ε̃ is elementwise, shaped like each prediction (did you stack or reduce them?)."
        )
    A = torch.stack([eps_c.flatten(), eps_u.flatten()], dim=1)  # (N, 2)
    coef = torch.linalg.lstsq(A, out.flatten().unsqueeze(1)).solution.flatten()
    return float(coef[0]), float(coef[1]), out, (A @ coef).view_as(out)


GUIDANCE_SCALES = (3.0, 0.0, 1.0, 7.5, 0.5)  # the values of w the check tries, in order


def _same(a: float, b: float, pair: torch.Tensor) -> bool:
    """Whether the fitted coefficients (a, b) equal a stored pair, to 1e-6."""
    return math.isclose(a, float(pair[0]), abs_tol=1e-6) and math.isclose(b, float(pair[1]), abs_tol=1e-6)


def check_guided_eps(guided_eps: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]) -> None:
    """Exercise 12.1: ε̃ = ε_uncond + w (ε_cond − ε_uncond), the book's convention (w = 1 is the conditional model)."""
    for w in GUIDANCE_SCALES:
        a, b, out, fit = _coefficients(guided_eps, w)
        if not torch.allclose(out, fit, atol=1e-6):
            raise CheckError(
                f"With w = {w}, guided_eps is not a linear combination of eps_cond and eps_uncond; "
                "the guided ε̃ only adds and scales them (no products, no normalisation)."
            )
        # Stored pairs (a, b) of out = a ε_cond + b ε_uncond: the right one, then those of the common mistakes.
        want = stored("ch12", f"guided_eps/w={w}")
        if _same(a, b, want):
            continue
        if _same(a, b, stored("ch12", f"guided_eps/w={w}/swapped")):
            raise CheckError(
                f"With w = {w} you returned {a:g}·ε_cond + {b:g}·ε_uncond: eps_cond and eps_uncond are "
                "swapped. Start from the unconditional prediction and move towards the conditional one: "
                "eps_uncond + w * (eps_cond - eps_uncond)."
            )
        if _same(a, b, stored("ch12", f"guided_eps/w={w}/paper")):
            raise CheckError(
                f"With w = {w} you returned (1 + w)·ε_cond − w·ε_uncond: that is the convention of Ho & "
                "Salimans' paper, where w = 0 means 'conditional, no guidance'. This book (and diffusers' "
                "guidance_scale) writes eps_uncond + w * (eps_cond - eps_uncond), so that w = 0 is the "
                "unconditional model and w = 1 the conditional one."
            )
        if _same(a, b, stored("ch12", f"guided_eps/w={w}/no_subtraction")):
            raise CheckError(
                f"With w = {w} you returned ε_uncond + w·ε_cond: you forgot to subtract ε_uncond inside "
                "the bracket; the guidance direction is the difference eps_cond - eps_uncond."
            )
        if any(_same(a, b, pair) for pair in stored("ch12", f"guided_eps/w={w}/wrong_term")):
            raise CheckError(
                f"With w = {w} you returned {a:g}·ε_cond + {b:g}·ε_uncond: w multiplies the wrong term. "
                "It scales the difference (eps_cond - eps_uncond), which is added to eps_uncond."
            )
        raise CheckError(
            f"With w = {w} you returned {a:g}·ε_cond + {b:g}·ε_uncond; expected {float(want[0]):g}·ε_cond "
            f"+ {float(want[1]):g}·ε_uncond, i.e. eps_uncond + w * (eps_cond - eps_uncond)."
        )
    passed("ε̃ = ε_uncond + w (ε_cond − ε_uncond): w = 0 is unconditional, w = 1 conditional, w > 1 guided.")


# ----- Exercise 12.2: label dropout ------------------------------------------------------------------------


def check_drop_labels(drop_labels: Callable[..., torch.Tensor]) -> None:
    """Exercise 12.2: replace each label by the null class with probability p, independently; keep the others."""
    n, null = 20_000, 10
    y = torch.arange(n) % 10
    for p in (0.2, 0.5, 0.05):
        original = y.clone()
        out = drop_labels(y, p, null, generator=torch.Generator().manual_seed(1))
        expect_answer(out, "drop_labels", "the labels with some replaced by null_class")
        expect(
            torch.equal(y, original),
            "drop_labels changed its input tensor in place; return a new tensor "
            "(torch.where(drop, null_class, y) does), so the caller's labels stay intact.",
        )
        expect(
            isinstance(out, torch.Tensor) and out.shape == y.shape,
            f"drop_labels should return a tensor of shape {tuple(y.shape)}, got "
            f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}.",
        )
        expect(
            not out.is_floating_point(),
            f"drop_labels returned dtype {out.dtype}; labels are integers "
            "(an embedding looks them up), keep y's dtype.",
        )
        changed = out != y
        dropped = out == null
        wrong = changed & ~dropped
        if wrong.any():
            got = out[wrong][:5].tolist()
            raise CheckError(
                f"Some labels changed to values other than the null class {null} (e.g. {got}). A dropped "
                f"label becomes null_class, the extra index the network learns as 'no label'; do not "
                "replace it by 0 or by a random class."
            )
        rate = dropped.float().mean().item()
        sd = math.sqrt(p * (1 - p) / n)
        if abs(rate - (1 - p)) < 5 * sd and abs(rate - p) > 5 * sd:
            raise CheckError(
                f"With p = {p} you dropped {rate:.1%} of the labels, about 1 - p: you kept a label with "
                "probability p. Drop where torch.rand(...) < p."
            )
        if abs(rate - p) > 5 * sd:
            raise CheckError(
                f"With p = {p} you dropped {rate:.1%} of the labels; expected {p:.0%} (within "
                f"{5 * sd:.1%}). Drop each label independently with probability p."
            )
        per_class = torch.stack([dropped[y == c].float().mean() for c in range(10)])
        expect(
            bool((per_class - p).abs().max() < 6 * math.sqrt(p * (1 - p) / (n / 10))),
            f"The drop rate differs between classes ({per_class.min():.1%} to {per_class.max():.1%}); drop "
            "each label independently of its value.",
        )
        again = drop_labels(y, p, null, generator=torch.Generator().manual_seed(1))
        expect(
            torch.equal(again, out),
            "drop_labels gave different results with the same seeded generator: draw "
            "the random numbers with generator=generator.",
        )
    expect(
        torch.equal(drop_labels(y, 0.0, null, generator=torch.Generator().manual_seed(0)), y),
        "With p = 0 no label should change.",
    )
    expect(
        bool((drop_labels(y, 1.0, null, generator=torch.Generator().manual_seed(0)) == null).all()),
        "With p = 1 every label should become the null class.",
    )
    passed("each label becomes the null class with probability p, independently, and the others are untouched.")


SMALL_BATCH, SMALL_P, N_SMALL_BATCHES = 4, 0.1, 1_000  # p * B = 0.4: int() or round() of it is 0 labels


def check_drop_labels_small_batches(drop_labels: Callable[..., torch.Tensor]) -> None:
    """Exercise 12.2, hidden: batches of 4 labels with p = 0.1, one generator; about p of all labels dropped.

    Each label is dropped independently, so even a batch smaller than 1 / p loses a label now and then, and the
    number dropped varies from batch to batch. The rate is measured on 4,000 labels drawn with one seeded
    generator, and may differ from p by up to 5 standard deviations.
    """
    null = 10
    y = torch.tensor([3, 1, 4, 1])
    generator = torch.Generator().manual_seed(12)
    counts = []
    for _ in range(N_SMALL_BATCHES):
        out = drop_labels(y.clone(), SMALL_P, null, generator=generator)
        expect_answer(out, "drop_labels", "the labels with some replaced by null_class")
        expect(
            isinstance(out, torch.Tensor) and out.shape == y.shape,
            f"On a batch of {SMALL_BATCH} labels, drop_labels should return a tensor of shape {tuple(y.shape)}.",
        )
        counts.append(int((out == null).sum()))
    n = SMALL_BATCH * N_SMALL_BATCHES
    rate = sum(counts) / n
    what = f"On {N_SMALL_BATCHES} batches of {SMALL_BATCH} labels with p = {SMALL_P}"
    expect(
        len(set(counts)) > 1,
        f"{what}, drop_labels dropped exactly {counts[0]} label(s) in every batch: you drop a fixed number "
        "(such as int(p * len(y)), which is 0 here) instead of each label independently with probability p. "
        "Draw one random number per label: drop = torch.rand(y.shape, generator=generator) < p.",
    )
    sd = math.sqrt(SMALL_P * (1 - SMALL_P) / n)
    expect(
        abs(rate - SMALL_P) < 5 * sd,
        f"{what}, drop_labels dropped {rate:.1%} of the labels; expected {SMALL_P:.0%} (within {5 * sd:.1%}). "
        "Drop each label independently with probability p, however small the batch.",
    )
    passed("drop_labels drops each label independently with probability p, even in batches smaller than 1 / p.")
