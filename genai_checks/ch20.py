"""Checks for the exercises of chapter 20 (Moving pictures: attention over clips, the centroid of a frame).

How the answers are judged. A cost is a count of multiply-adds: a Python int, a numpy integer, a 0-d tensor or
an integer-valued float is accepted; a fraction, a bool or a string is not. A centroid is (B, 2), (row, column)
in pixels, compared with the stored one to 1e-4 pixels: the chapter's frames are float32, and summing 1,024
pixels in another order moves the last digits only.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import torch

from genai_checks.answers import stored
from genai_checks.core import CheckError, expect, expect_answer, passed

__all__ = ["check_score_cost", "check_score_cost_other_width", "check_centroid", "check_centroid_not_square"]

# ----- Exercise 20.1: what the scores of attention over a clip cost -------------------------------------------

WIDTH = 64  # C of every public case, the width of the chapter's Section 4
COST_CASES: list[tuple[int, int, int, str]] = [  # (T, N, C, mode)
    (8, 64, WIDTH, "full"),
    (8, 64, WIDTH, "factorised"),
    (8, 16, WIDTH, "full"),
    (8, 16, WIDTH, "factorised"),
    (16, 4, WIDTH, "factorised"),
    (1, 64, WIDTH, "full"),
    (1, 64, WIDTH, "factorised"),
    (24, 256, WIDTH, "factorised"),
]
COST_HIDDEN_CASES: list[tuple[int, int, int, str]] = [  # other widths; the first two are also counted on a layer
    (4, 9, 16, "full"),
    (4, 9, 16, "factorised"),
    (8, 64, 32, "factorised"),
    (12, 100, 128, "full"),
    (3, 5, 8, "factorised"),
]
_COST_RULE = (
    "Each pair of tokens that meet costs C multiply-adds for its score q . k and C for its share of the weighted "
    "sum of values: 2 C per pair. Full attention: (T N)^2 pairs. Factorised: T N^2 within the frames plus N T^2 "
    "across them."
)
COST_MISTAKES = [  # (the name of a wrong formula's stored costs, what it means)
    (
        "scores_only",
        "You counted Q K^T but not the weighted sum of the values, which costs as much again: 2 C per pair.",
    ),
    (
        "no_width",
        "Your cost leaves out the width C: each pair's dot product has C multiply-adds, and so has its share "
        "of the weighted sum of values.",
    ),
    (
        "space_only",
        "For factorised attention you counted the attention within each frame (T N^2 pairs) but not the attention "
        "across frames at each position (N T^2 pairs): add both.",
    ),
    (
        "time_only",
        "For factorised attention you counted the attention across frames (N T^2 pairs) but not the attention "
        "within each frame (T N^2 pairs): add both.",
    ),
    (
        "one_sequence_each",
        "You counted one sequence of each kind, N^2 + T^2 pairs, but there are T frames and N positions: "
        "T N^2 + N T^2.",
    ),
    (
        "tokens_not_pairs",
        "Full attention compares every token with every other: (T N)^2 pairs, not T N tokens.",
    ),
    (
        "factorised_as_full",
        "Your factorised cost is the full one: factorising replaces (T N)^2 pairs by T N^2 + N T^2.",
    ),
]


def _cost_of(score_cost: Callable, T: int, N: int, C: int, mode: str) -> int:
    what = f"T = {T}, N = {N}, C = {C}, mode = {mode!r}"
    try:
        got = score_cost(T, N, C, mode)
    except (TypeError, ValueError, RuntimeError, KeyError, AttributeError) as err:
        raise CheckError(f"For {what}, score_cost raised {type(err).__name__}: {err}") from err
    expect_answer(got, "score_cost", "the number of multiply-adds (an int)")
    if isinstance(got, torch.Tensor):
        expect(got.numel() == 1, f"For {what}, score_cost returned a tensor of shape {tuple(got.shape)}: one number.")
        got = got.item()
    if isinstance(got, bool) or not isinstance(got, numbers.Real):
        raise CheckError(f"score_cost should return an int, got {type(got).__name__}.")
    expect(float(got).is_integer(), f"For {what}, score_cost returned {got}: a count is a whole number.")
    return int(float(got))


def _first_wrong(got: list[int], want: list[int]) -> int:
    return next(j for j, (g, w) in enumerate(zip(got, want, strict=True)) if g != w)


def _which_mistake(got: list[int], want: list[int], key: str, mistakes: list[tuple[str, str]], rule: str) -> str:
    """The message of the mistake that gives the student's answer on every case they got wrong, else the rule."""
    wrong_cases = [j for j, (g, w) in enumerate(zip(got, want, strict=True)) if g != w]
    for name, message in mistakes:
        theirs = stored("ch20", f"{key}/mistake/{name}")
        if all(theirs[j] == got[j] for j in wrong_cases):
            return message
    return rule


def check_score_cost(score_cost: Callable) -> None:
    """Exercise 20.1: the multiply-adds of attention's scores and weighted sums over a clip, full and factorised."""
    got = [_cost_of(score_cost, *case) for case in COST_CASES]
    want = stored("ch20", "score_cost")
    if got != want:
        i = _first_wrong(got, want)
        hint = _which_mistake(got, want, "score_cost", COST_MISTAKES, _COST_RULE)
        T, N, C, mode = COST_CASES[i]
        raise CheckError(
            f"For T = {T}, N = {N}, C = {C}, {mode}: your cost is {got[i]:,}, expected {want[i]:,}. {hint}"
        )
    passed("score_cost: 2 C (T N)^2 for full attention, 2 C (T N^2 + N T^2) for factorised.")


def counted_score_cost(T: int, N: int, C: int, mode: str) -> int:
    """The multiply-adds of a SpaceTimeAttention layer, counted by PyTorch, less its projections (4 C^2 per token
    and attention): what the scores and weighted sums cost."""
    from torch.utils.flop_counter import FlopCounterMode

    from genai_lib.nn.spacetime import SpaceTimeAttention

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(20)
        layer = SpaceTimeAttention(C, 1, mode=mode).eval()
        x = torch.randn(1, T, N, C)
    for attention in (layer.space, layer.time and layer.time.attn):
        if attention is not None:
            attention.fast = False  # the written-out products, which the counter sees
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        layer(x)
    projections = (1 if mode == "full" else 2) * 4 * T * N * C * C
    return counter.get_total_flops() // 2 - projections


def check_score_cost_other_width(score_cost: Callable) -> None:
    """Exercise 20.1, hidden: widths other than 64, two of them counted on a real layer."""
    want = stored("ch20", "score_cost/hidden")
    got = [_cost_of(score_cost, *case) for case in COST_HIDDEN_CASES]
    for case, w in zip(COST_HIDDEN_CASES[:2], want[:2], strict=True):
        counted = counted_score_cost(*case)
        if counted != w:  # the book's layer and its formula disagree: not the student's fault
            raise RuntimeError(
                f"For {case}, the stored cost {w} and the counted {counted} differ: regenerate the answers."
            )
    if got != want:
        i = _first_wrong(got, want)
        T, N, C, mode = COST_HIDDEN_CASES[i]
        hint = (
            "Your answer is right for C = 64 only: use the width C you are given, 2 C per pair."
            if all(g == w * WIDTH // C for g, w, (_, _, C, _) in zip(got, want, COST_HIDDEN_CASES, strict=True))
            else _COST_RULE
        )
        raise CheckError(
            f"For T = {T}, N = {N}, C = {C}, {mode}: your cost is {got[i]:,}, expected {want[i]:,}. {hint}"
        )
    passed("score_cost holds for other widths, and agrees with the multiply-adds PyTorch counts in a real layer.")


# ----- Exercise 20.2: the centroid of a frame ------------------------------------------------------------------

ATOL = 1e-4  # pixels


def _lit(H: int, W: int, pixels: list[tuple[int, int, tuple[float, float, float]]]) -> torch.Tensor:
    frame = torch.zeros(3, H, W)
    for r, c, rgb in pixels:
        frame[:, r, c] = torch.tensor(rgb)
    return frame


def centroid_cases() -> list[tuple[str, torch.Tensor]]:
    """(what it is, frames (B, 3, H, W)): lit pixels by hand, then frames of real clips."""
    from genai_lib.data.clips import make_clips

    white = (1.0, 1.0, 1.0)
    by_hand = torch.stack(
        [
            _lit(32, 32, [(0, 0, white)]),
            _lit(32, 32, [(5, 20, white)]),
            _lit(32, 32, [(4, 4, (1.0, 0.0, 0.0)), (4, 10, (0.0, 0.0, 0.5))]),  # the brighter pixel pulls harder
        ]
    )
    clips = make_clips("test", 6, seed=20).clips  # (6, 8, 3, 32, 32)
    return [
        ("three frames with one or two lit pixels", by_hand),
        ("the 8 frames of a real clip", clips[0]),
        ("the first frame of 6 real clips", clips[:, 0]),
    ]


def centroid_cases_not_square() -> list[tuple[str, torch.Tensor]]:
    """(what it is, frames): frames taller than wide and wider than tall."""
    g = torch.Generator().manual_seed(2020)
    return [
        ("frames 16 pixels tall and 40 wide", torch.rand(4, 3, 16, 40, generator=g) ** 4),
        (
            "frames 40 pixels tall and 16 wide, one lit pixel each",
            torch.stack([_lit(40, 16, [(35, 2, (0.2, 0.6, 0.9))]), _lit(40, 16, [(3, 14, (1.0, 1.0, 0.0))])]),
        ),
    ]


CENTROID_MISTAKES = [  # (the name of a wrong centroid's stored answers, what it means)
    (
        "no_half",
        "Your centroids are half a pixel up and to the left: pixel (i, j) covers [i, i + 1) x [j, j + 1), so its "
        "centre is (i + 1/2, j + 1/2), as in centroid_track.",
    ),
    ("swapped", "Your centroid is (column, row); the book's is (row, column), like a tensor's index [..., i, j]."),
    (
        "unweighted",
        "You took the plain mean position of the lit pixels. Weight each pixel by its brightness (the sum of its "
        "three colour values): a pixel the shape covers half of counts half, and a brighter pixel pulls harder.",
    ),
    (
        "not_normalised",
        "You summed brightness times position without dividing by the total brightness: divide by "
        "sum over i, j of w_ij, so that the centroid is a position, not a moment.",
    ),
]
_CENTROID_RULE = (
    "c = sum_ij w_ij (i + 1/2, j + 1/2) / sum_ij w_ij, with w_ij the brightness (the sum over the three channels) "
    "of pixel (i, j)."
)


def _centroids_of(centroid: Callable, what: str, frames: torch.Tensor) -> torch.Tensor:
    try:
        got = centroid(frames.clone())
    except (TypeError, ValueError, RuntimeError, IndexError, AttributeError) as err:
        raise CheckError(
            f"On {what} (shape {tuple(frames.shape)}), centroid raised {type(err).__name__}: {err}"
        ) from err
    expect_answer(got, "centroid", "a tensor (B, 2) of (row, column)")
    try:
        c = torch.as_tensor(got, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as err:
        raise CheckError(f"centroid should return a tensor, got {type(got).__name__}.") from err
    B = len(frames)
    expect(
        tuple(c.shape) == (B, 2),
        f"On {what}, centroid returned shape {tuple(c.shape)}, expected ({B}, 2): one (row, column) per frame.",
    )
    expect(bool(torch.isfinite(c).all()), f"On {what}, centroid returned NaN or infinity; no frame here is empty.")
    return c


def _centroid_check(centroid: Callable, cases, key: str) -> tuple[int, torch.Tensor, torch.Tensor] | None:
    """The first case the student gets wrong, as (index, theirs, expected), or None."""
    for i, (what, frames) in enumerate(cases):
        got, want = _centroids_of(centroid, what, frames), stored("ch20", f"{key}/case={i}").double()
        if not torch.allclose(got, want, rtol=0, atol=ATOL):
            return i, got, want
    return None


def check_centroid(centroid: Callable) -> None:
    """Exercise 20.2: the brightness-weighted centroid (row, column) of frames (B, 3, H, W)."""
    cases = centroid_cases()
    wrong = _centroid_check(centroid, cases, "centroid")
    if wrong is not None:
        i, got, want = wrong
        hint = _CENTROID_RULE
        for name, message in CENTROID_MISTAKES:
            theirs = stored("ch20", f"centroid/case={i}/mistake/{name}").double()
            if torch.allclose(got, theirs, rtol=0, atol=ATOL):
                hint = message
                break
        j = int((got - want).abs().amax(dim=1).argmax())
        raise CheckError(
            f"On {cases[i][0]}, frame {j}: your centroid is ({got[j, 0]:.3f}, {got[j, 1]:.3f}), expected "
            f"({want[j, 0]:.3f}, {want[j, 1]:.3f}). {hint}"
        )
    passed("centroid weighs each pixel's centre by its brightness: it finds the shape's centre in every frame.")


def check_centroid_not_square(centroid: Callable) -> None:
    """Exercise 20.2, hidden: frames that are not square."""
    cases = centroid_cases_not_square()
    axes = "Rows run over the height H and columns over the width W: take each coordinate's range from its own axis."
    try:
        wrong = _centroid_check(centroid, cases, "centroid/hidden")
    except CheckError as err:
        raise CheckError(f"{str(err).rstrip('.')}. {axes}") from err
    if wrong is not None:
        i, got, want = wrong
        j = int((got - want).abs().amax(dim=1).argmax())
        raise CheckError(
            f"On {cases[i][0]}, frame {j}: your centroid is ({got[j, 0]:.3f}, {got[j, 1]:.3f}), expected "
            f"({want[j, 0]:.3f}, {want[j, 1]:.3f}). {axes}"
        )
    passed("centroid holds for frames that are not square.")
