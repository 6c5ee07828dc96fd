"""Checks for the exercises of chapter 16 (Memorisation and privacy)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from genai_checks.answers import stored
from genai_checks.core import CheckError, expect, expect_answer, expect_close, passed

__all__ = ["check_memorisation_rate", "check_longest_verbatim", "check_longest_verbatim_inside"]


# ----- Exercise 16.2: the held-out yardstick ---------------------------------------------------------------


def rate_cases() -> list[tuple[str, torch.Tensor, torch.Tensor, float]]:
    """(description, d_samples, d_held, quantile): nearest-neighbour distances of samples and held-out images."""
    g = torch.Generator().manual_seed(16)
    held = 5.0 + torch.rand(200, generator=g, dtype=torch.float64).square() * 5.0  # held-out NN distances, skewed
    copier = torch.cat(
        [
            torch.rand(30, generator=g, dtype=torch.float64) * 0.5,  # 30 near-copies ...
            5.0 + torch.rand(70, generator=g, dtype=torch.float64) * 5.0,
        ]
    )  # ... and 70 fresh samples
    honest = 5.0 + torch.rand(90, generator=g, dtype=torch.float64) * 5.0
    return [
        ("a generator with 30 near-copies among 100 samples", copier, held, 0.05),
        ("an honest generator (90 samples distributed like the held-out data)", honest, held, 0.1),
        ("the copying generator with quantile = 0.25", copier, held, 0.25),
    ]


RATE_MISTAKES = [  # (the name of a wrong computation's stored rate, what it means)
    (
        "farther",
        "You counted the samples *farther* than the threshold. A copy sits closer to its training image than "
        "new real data does: count d_samples < threshold.",
    ),
    (
        "upper_quantile",
        "Your threshold is the (1 - q)-quantile, the upper tail of the held-out distances. Use "
        "torch.quantile(d_held, quantile): only a share q of new real images are that close to the training set.",
    ),
    (
        "own_quantile",
        "Your threshold comes from the samples' own distances; it must come from the held-out real "
        "images, which the model never saw: torch.quantile(d_held, quantile).",
    ),
    ("count", "You returned a count; divide by the number of samples to get a rate between 0 and 1 (.float().mean())."),
    ("median", "Your threshold is the median of the held-out distances; it should be their q-quantile."),
    ("mean", "Your threshold is the mean of the held-out distances; it should be their q-quantile."),
    (
        "q_as_distance",
        "You compared the distances with the number q itself. q is a share of the held-out images: the "
        "threshold is torch.quantile(d_held, q), a distance.",
    ),
]


def check_memorisation_rate(memorisation_rate: Callable[[torch.Tensor, torch.Tensor, float], float]) -> None:
    """Exercise 16.2: the share of samples nearer to the training set than all but a share q of held-out images."""
    for i, (what, d_s, d_h, q) in enumerate(rate_cases()):
        try:
            got = memorisation_rate(d_s.clone(), d_h.clone(), q)
        except (TypeError, ValueError, RuntimeError) as err:
            raise CheckError(f"memorisation_rate raised {type(err).__name__} on {what}: {err}") from err
        expect_answer(got, "memorisation_rate", "the rate, a number between 0 and 1")
        try:
            value = float(got)
        except (TypeError, ValueError, RuntimeError) as err:
            raise CheckError(
                f"memorisation_rate should return one number, got {type(got).__name__}"
                f"{' of shape ' + str(tuple(got.shape)) if isinstance(got, torch.Tensor) else ''}: "
                "average over the samples."
            ) from err
        key = f"memorisation_rate/case={i}"
        expected = stored("ch16", key)
        if abs(value - expected) > 1e-6:  # float32 means of 0/1 are exact to ~1e-8
            wrong = {name: stored("ch16", f"{key}/{name}") for name, _ in RATE_MISTAKES}
            hint = next(
                (
                    h
                    for name, h in RATE_MISTAKES
                    if abs(wrong[name] - expected) > 1e-6 and abs(wrong[name] - value) < 1e-6
                ),
                "",
            )
            expect_close(
                value,
                expected,
                what=f"The rate on {what}",
                rtol=0,
                atol=1e-6,
                hint=hint or "threshold = torch.quantile(d_held, quantile); rate = share of d_samples below it.",
            )
    passed(
        "memorisation_rate thresholds at the q-quantile of the held-out distances and counts the samples "
        "closer than that."
    )


# ----- Exercise 16.3: the longest verbatim run --------------------------------------------------------------

VERBATIM_CASES = [  # (sample, reference, description)
    ("the cat", "a hat, the can", "a sample whose start occurs in the reference"),
    ("xyz", "abcabc", "a sample sharing no character with the reference"),
    ("qqq hello", "they said hello.", "a sample whose match is in its middle"),
    ("to be or not", "whether to be or not to be", "a sample that occurs whole in the reference"),
    ("abab", "ba", "a sample whose longest match overlaps its other matches"),
]


def check_longest_verbatim(longest_verbatim: Callable[[str, str], int]) -> None:
    """Exercise 16.3: the length of the longest substring of a sample that occurs verbatim in the reference."""
    for i, (sample, reference, what) in enumerate(VERBATIM_CASES):
        try:
            got = longest_verbatim(sample, reference)
        except (TypeError, ValueError, IndexError) as err:
            raise CheckError(f"longest_verbatim({sample!r}, {reference!r}) raised {type(err).__name__}: {err}") from err
        expect_answer(got, "longest_verbatim", "a length (an int)")
        if isinstance(got, str):
            raise CheckError(
                f"longest_verbatim({sample!r}, {reference!r}) returned the string {got!r}; return its length, len(...)."
            )
        expect(
            isinstance(got, int) or (isinstance(got, torch.Tensor) and got.numel() == 1),
            f"longest_verbatim should return an int, got {type(got).__name__}.",
        )
        got, expected = int(got), stored("ch16", f"longest_verbatim/case={i}")
        if got == expected:
            continue
        if got == stored("ch16", f"longest_verbatim/case={i}/prefix_only"):
            raise CheckError(
                f"On {what} ({sample!r} in {reference!r}) you returned {got}, the longest match that "
                f"*starts at the first character*; the answer is {expected}. Try every start position "
                "of the sample, not only 0."
            )
        if abs(got - expected) == 1:
            raise CheckError(
                f"On {what} ({sample!r} in {reference!r}) you returned {got}, expected {expected}: off by "
                "one. sample[i:j] has length j - i and stops before index j."
            )
        raise CheckError(
            f"On {what} ({sample!r} in {reference!r}) you returned {got}, expected {expected}: the length "
            "of the longest sample[i:j] with sample[i:j] in reference."
        )
    passed(
        "longest_verbatim finds the longest stretch of the sample that occurs verbatim in the reference, "
        "wherever it starts."
    )


INSIDE_CASE = ("a cat sat on", "a cab, cat sat on it")  # the longest match, " cat sat on", starts inside "a ca"


def check_longest_verbatim_inside(longest_verbatim: Callable[[str, str], int]) -> None:
    """Exercise 16.3, hidden: the longest match starts inside an earlier, shorter match."""
    sample, reference = INSIDE_CASE
    got = longest_verbatim(sample, reference)
    expect_answer(got, "longest_verbatim", "a length (an int)")
    expect(
        isinstance(got, int) or (isinstance(got, torch.Tensor) and got.numel() == 1),
        f"longest_verbatim should return an int, got {type(got).__name__}.",
    )
    expected = stored("ch16", "longest_verbatim/hidden/inside")
    expect(
        int(got) == expected,
        f"longest_verbatim({sample!r}, {reference!r}) returned {int(got)}, expected {expected} ({sample[1:]!r}). "
        "That match starts inside the shorter match 'a ca': when a match ends, do not jump past it; try "
        "every start position i of the sample, including those inside the match just found.",
    )
    passed("longest_verbatim tries every start, also those inside an earlier match.")
