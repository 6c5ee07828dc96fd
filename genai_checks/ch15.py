"""Checks for the exercises of chapter 15 (Evaluating text-to-image)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from genai_checks.answers import stored
from genai_checks.core import CheckError, expect, expect_answer, expect_close, passed

__all__ = ["check_exact_match", "check_exact_match_reordered", "check_wilson_interval"]


# ----- Exercise 15.1: exact match from per-attribute hits -------------------------------------------------


def exact_cases() -> list[tuple[str, dict[str, torch.Tensor], dict[str, torch.Tensor]]]:
    """(description, predicted, asked) attribute labels of two sets of images."""
    g = torch.Generator().manual_seed(15)
    asked = {
        "shape": torch.randint(3, (40,), generator=g),
        "colour": torch.randint(4, (40,), generator=g),
        "size": torch.randint(2, (40,), generator=g),
    }
    # Errors concentrated on a few images, so that "all right" differs from the product and the mean.
    predicted = {a: v.clone() for a, v in asked.items()}
    predicted["shape"][:10] = (asked["shape"][:10] + 1) % 3
    predicted["colour"][5:12] = (asked["colour"][5:12] + 1) % 4
    predicted["size"][::9] = 1 - asked["size"][::9]
    two = {"shape": torch.tensor([0, 1, 2, 0]), "colour": torch.tensor([1, 1, 0, 3])}
    two_pred = {"shape": torch.tensor([0, 1, 0, 0]), "colour": torch.tensor([1, 0, 0, 3])}
    return [
        ("40 images with three attributes", predicted, asked),
        ("4 images with two attributes (one wrong shape, one wrong colour)", two_pred, two),
    ]


def check_exact_match(exact_match: Callable[[dict, dict], float]) -> None:
    """Exercise 15.1: the share of images whose every attribute is right."""
    for i, (what, predicted, asked) in enumerate(exact_cases()):
        got = exact_match({a: v.clone() for a, v in predicted.items()}, {a: v.clone() for a, v in asked.items()})
        expect_answer(got, "exact_match", "a number between 0 and 1")
        got = float(torch.as_tensor(got, dtype=torch.float64))
        key = f"exact_match/case={i}"
        # The right share, then what the common mistakes give: a count, a product or mean of accuracies, 'any'.
        exact, count, product, mean, any_right = (
            stored("ch15", f"{key}/{name}")
            for name in ("exact", "count", "product_of_accuracies", "mean_of_accuracies", "any_right")
        )
        if got > 1 and math.isclose(got, count, abs_tol=1e-6):
            raise CheckError(
                f"On {what}, exact_match returned {got:g}, the number of exactly right images; "
                "divide by the number of images to get a share."
            )
        if not math.isclose(exact, product, abs_tol=1e-9) and math.isclose(got, product, abs_tol=1e-6):
            raise CheckError(
                f"On {what}, you multiplied the per-attribute accuracies ({got:.4f}). That is the exact "
                "match only if the errors are independent; here they fall on the same images. Count "
                "the images on which every attribute is right (hits.all(dim=0))."
            )
        if math.isclose(got, mean, abs_tol=1e-6) and not math.isclose(exact, got, abs_tol=1e-6):
            raise CheckError(
                f"On {what}, you averaged the per-attribute accuracies ({got:.4f}); the exact match asks "
                "for every attribute of one image to be right at once: all over attributes, then mean "
                "over images."
            )
        if math.isclose(got, any_right, abs_tol=1e-6) and not math.isclose(exact, got, abs_tol=1e-6):
            raise CheckError(
                f"On {what}, you counted images with at least one attribute right (any); the exact "
                "match needs all of them right."
            )
        expect_close(
            got,
            exact,
            what=f"exact_match on {what}",
            atol=1e-6,
            hint="Compare predicted[a] == asked[a] for each attribute, require all, average over images.",
        )
    passed("exact match is the mean over images of 'every attribute right'.")


def reordered_case() -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(predicted, asked) for 12 images whose two dictionaries list the three attributes in different orders."""
    g = torch.Generator().manual_seed(151)
    asked = {
        "shape": torch.randint(3, (12,), generator=g),
        "colour": torch.randint(4, (12,), generator=g),
        "size": torch.randint(2, (12,), generator=g),
    }
    right = {a: v.clone() for a, v in asked.items()}
    right["shape"][:3] = (asked["shape"][:3] + 1) % 3  # 3 wrong shapes, 2 wrong colours (one on the same image)
    right["colour"][2:4] = (asked["colour"][2:4] + 1) % 4
    predicted = {a: right[a] for a in ("colour", "size", "shape")}  # the judge lists its heads in its own order
    return predicted, asked


def check_exact_match_reordered(exact_match: Callable[[dict, dict], float]) -> None:
    """Exercise 15.1, hidden: `predicted` lists the attributes in another order than `asked`."""
    predicted, asked = reordered_case()
    got = exact_match({a: v.clone() for a, v in predicted.items()}, {a: v.clone() for a, v in asked.items()})
    expect_answer(got, "exact_match", "a number between 0 and 1")
    got = float(torch.as_tensor(got, dtype=torch.float64))
    expected = stored("ch15", "exact_match/hidden/reordered")
    expect(
        math.isclose(got, expected, abs_tol=1e-6),
        f"When predicted lists its attributes in another order ({', '.join(predicted)}) than asked "
        f"({', '.join(asked)}), exact_match returned {got:.4f}, expected {expected:.4f}. Pair the two "
        "dictionaries by attribute name, predicted[a] == asked[a] for a in asked, not by position "
        "(zip of their .values()).",
    )
    passed("exact_match pairs the attributes by name, whatever order the dictionaries list them in.")


# ----- Exercise 15.2: the Wilson score interval -----------------------------------------------------------

WILSON_CASES = [(45, 50, 1.96), (50, 50, 1.96), (3, 20, 1.0), (0, 16, 1.96), (700, 1000, 2.576)]  # (k, n, z)


def check_wilson_interval(wilson_interval: Callable[[int, int, float], tuple[float, float]]) -> None:
    """Exercise 15.2: the Wilson score interval for a binomial share k / n."""
    for k, n, z in WILSON_CASES:
        result = wilson_interval(k, n, z)
        expect_answer(result, "wilson_interval", "the pair (low, high)")
        expect(
            isinstance(result, (tuple, list)) and len(result) == 2,
            f"wilson_interval should return a pair (low, high), got {type(result).__name__}.",
        )
        lo, hi = (float(torch.as_tensor(v, dtype=torch.float64)) for v in result)
        key = f"wilson/k={k},n={n},z={z}"
        want_lo, want_hi = stored("ch15", f"{key}/interval")
        p = k / n
        what = f"k={k}, n={n}, z={z}"
        if lo > hi:
            raise CheckError(f"For {what} you returned low={lo:.4f} > high={hi:.4f}: return (low, high) in that order.")
        wald_lo, wald_hi = stored("ch15", f"{key}/wald")
        if (
            math.isclose(lo, wald_lo, abs_tol=1e-6)
            and math.isclose(hi, wald_hi, abs_tol=1e-6)
            and not math.isclose(lo, want_lo, abs_tol=1e-6)
        ):
            raise CheckError(
                f"For {what} you returned the Wald interval p ± z·sqrt(p(1-p)/n) = ({lo:.4f}, {hi:.4f}). "
                "It collapses to a point at p = 0 or 1; the Wilson interval solves "
                "|p - π| = z·sqrt(π(1-π)/n) for π instead."
            )
        centre = stored("ch15", f"{key}/centre")
        if math.isclose((lo + hi) / 2, p, abs_tol=1e-6) and not math.isclose(centre, p, abs_tol=1e-6):
            raise CheckError(
                f"For {what} your interval is centred on p = {p:.4f}; Wilson's is centred on "
                f"(p + z²/2n) / (1 + z²/n) = {centre:.4f}, pulled towards 1/2."
            )
        if math.isclose(hi - lo, stored("ch15", f"{key}/width_without_factor"), abs_tol=1e-6) and not math.isclose(
            hi - lo, want_hi - want_lo, abs_tol=1e-6
        ):
            raise CheckError(f"For {what} your half-width misses the factor 1 / (1 + z²/n).")
        expect(
            0.0 <= lo + 1e-12 and hi <= 1.0 + 1e-12,
            f"For {what} your interval ({lo:.4f}, {hi:.4f}) leaves [0, 1]; the Wilson interval never does.",
        )
        expect_close(
            torch.tensor([lo, hi]),
            torch.tensor([want_lo, want_hi]),
            what=f"the interval for {what}",
            atol=1e-6,
            hint="centre (p + z²/2n)/(1 + z²/n), half-width z/(1 + z²/n)·sqrt(p(1-p)/n + z²/4n²).",
        )
    passed("the Wilson interval, which stays inside [0, 1] and is not empty at p = 0 or 1.")
