"""Checks for the exercises of chapter 10 (Training a GPT)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from genai_checks.answers import stored
from genai_checks.core import CheckError, expect, expect_answer, expect_close, passed

__all__ = ["check_apply_temperature", "check_apply_temperature_rows", "check_top_p_probs", "check_loss_per_char"]


def _call(fn: Callable, name: str, *args):
    try:
        return fn(*args)
    except (TypeError, ValueError, RuntimeError, IndexError) as err:
        raise CheckError(f"{name} raised {type(err).__name__}: {err}. Use tensor operations on the inputs.") from err


def _as_float_tensor(value, name: str, returns: str) -> torch.Tensor:
    expect_answer(value, name, returns)
    expect(isinstance(value, torch.Tensor), f"{name} should return a tensor, got {type(value).__name__}.")
    return value.detach().to(torch.float64)


def _same(a: torch.Tensor, b: torch.Tensor, tol: float = 1e-5) -> bool:
    return a.shape == b.shape and bool(torch.isfinite(a).all()) and bool(torch.allclose(a, b, atol=tol, rtol=tol))


# ----- Exercise 10.1: temperature ---------------------------------------------------------------------------


def temperature_cases() -> list[tuple[torch.Tensor, float]]:
    """Logits and temperatures: (logits, T), vectors and batches of rows, T below, at and above 1."""
    g = torch.Generator().manual_seed(0)
    return [
        (torch.randn(7, generator=g) * 2, 0.5),
        (torch.randn(3, 5, generator=g), 2.0),
        (torch.tensor([2.0, 1.0, 0.0, -1.0]), 1.0),
        (torch.randn(2, 6, generator=g) * 3, 0.25),
    ]


LARGE_LOGITS = (1000.0, 999.0, 0.0)  # exp(1000 / 0.5) overflows unless the largest logit is subtracted first


def _wrong_temperature(key: str, case: int) -> torch.Tensor:
    """What a known wrong version of the temperature softmax gives on case number `case`."""
    return stored("ch10", f"apply_temperature/mistake/{key}")[case]


def check_apply_temperature(apply_temperature: Callable[[torch.Tensor, float], torch.Tensor]) -> None:
    """Exercise 10.1: softmax(logits / T) over the last dimension, eq. (eq-temperature)."""
    for case, (logits, T) in enumerate(temperature_cases()):
        got = _as_float_tensor(
            _call(apply_temperature, "apply_temperature", logits.clone(), T),
            "apply_temperature",
            "the probabilities softmax(logits / temperature)",
        )
        expected = stored("ch10", "apply_temperature")[case]
        what = f"apply_temperature on logits of shape {tuple(logits.shape)} with temperature {T}"
        expect(
            got.shape == logits.shape,
            f"{what} returned shape {tuple(got.shape)}, expected {tuple(logits.shape)}: one probability per logit.",
        )
        if _same(got, expected):
            continue
        if T != 1 and _same(got, _wrong_temperature("times_T", case)):
            raise CheckError(
                f"{what}: you multiplied the logits by the temperature. Divide them: softmax(z / τ), "
                "so that τ < 1 sharpens the distribution and τ > 1 flattens it."
            )
        if _same(got, _wrong_temperature("scaled_logits", case)):
            raise CheckError(
                f"{what}: these are the scaled logits z / τ, not probabilities. Apply a softmax over "
                "the last dimension."
            )
        if _same(got, _wrong_temperature("probabilities_over_T", case)):
            raise CheckError(
                f"{what}: divide the logits by τ *before* the softmax. Dividing probabilities by τ "
                "does not change the shape of the distribution and breaks the sum to 1."
            )
        if T != 1 and _same(got, _wrong_temperature("T_ignored", case)):
            raise CheckError(
                f"{what}: these are the model's probabilities at τ = 1: the temperature was ignored. Divide "
                "the logits by τ before the softmax."
            )
        if logits.dim() == 2 and _same(got, _wrong_temperature("softmax_over_dim0", case)):
            raise CheckError(
                f"{what}: you normalised over the first dimension (dim=0). Each row is one "
                "distribution over the vocabulary: use the last dimension, dim=-1."
            )
        if not torch.isfinite(got).all():
            raise CheckError(f"{what} contains NaN or infinity.")
        if not torch.allclose(got.sum(-1), torch.ones_like(got.sum(-1)), atol=1e-5):
            raise CheckError(f"{what}: the probabilities do not sum to 1 over the last dimension.")
        expect_close(
            got, expected, what=what, rtol=1e-5, atol=1e-6, hint="Return torch.softmax(logits / temperature, dim=-1)."
        )
    big = torch.tensor(LARGE_LOGITS)
    got = _as_float_tensor(
        _call(apply_temperature, "apply_temperature", big.clone(), 0.5), "apply_temperature", "the probabilities"
    )
    if not torch.isfinite(got).all():
        raise CheckError(
            "On logits (1000, 999, 0) your probabilities contain NaN: exp(2000) overflows. Use "
            "torch.softmax, which subtracts the largest logit first."
        )
    expect_close(
        got,
        stored("ch10", "apply_temperature/large_logits"),
        what="apply_temperature on logits (1000, 999, 0)",
        rtol=1e-5,
        atol=1e-6,
    )
    passed("apply_temperature divides the logits by τ before the softmax: τ < 1 sharpens, τ > 1 flattens.")


def temperature_rows_case() -> tuple[torch.Tensor, float]:
    """Logits (B, T, V) = (2, 3, 5) whose rows are shifted by very different constants, and T = 0.5 (hidden check).

    Softmax ignores a constant added to a row, so each row's distribution is an ordinary one; but the rows lie
    hundreds of units apart, so a stable softmax that subtracts the maximum of the whole tensor (not each row's)
    underflows to 0 / 0 on every row far below it.
    """
    g = torch.Generator().manual_seed(10)
    shifts = torch.tensor([[0.0, -400.0, 250.0], [-900.0, 30.0, 600.0]])
    return 2 * torch.randn(2, 3, 5, generator=g) + shifts[..., None], 0.5


def check_apply_temperature_rows(apply_temperature: Callable[[torch.Tensor, float], torch.Tensor]) -> None:
    """Exercise 10.1, hidden: logits (B, T, V) with rows on very different scales, one distribution per row."""
    logits, T = temperature_rows_case()
    what = (
        f"apply_temperature on logits of shape {tuple(logits.shape)} (rows shifted by -900 to 600) with temperature {T}"
    )
    got = _as_float_tensor(
        _call(apply_temperature, "apply_temperature", logits.clone(), T),
        "apply_temperature",
        "the probabilities softmax(logits / temperature)",
    )
    expect(
        got.shape == logits.shape,
        f"{what} returned shape {tuple(got.shape)}, expected {tuple(logits.shape)}: one probability per logit, "
        "whatever the leading dimensions.",
    )
    if not torch.isfinite(got).all():
        raise CheckError(
            f"{what}: your probabilities contain NaN or infinity in some rows. Each row is its own distribution: "
            "if you subtract a maximum for stability, subtract each row's own, z.max(dim=-1, keepdim=True).values, "
            "not the maximum of the whole tensor (the rows far below it underflow to 0 / 0). "
            "torch.softmax(z / temperature, dim=-1) does this for you."
        )
    expect_close(
        got,
        stored("ch10", "apply_temperature/hidden/rows"),
        what=what,
        rtol=1e-5,
        atol=1e-6,
        hint="Each row (last dimension) is normalised on its own: torch.softmax(logits / temperature, dim=-1).",
    )
    passed("apply_temperature normalises each row on its own, for any leading shape and any shift of a row.")


# ----- Exercise 10.2: top-p (nucleus) filtering -----------------------------------------------------------


def top_p_cases() -> list[tuple[torch.Tensor, float, str]]:
    """Distributions and thresholds: (probs, p, what they are), sorted and not, one token to all kept."""
    g = torch.Generator().manual_seed(0)
    random_probs = torch.softmax(torch.randn(12, generator=g) * 1.5, dim=0)
    return [
        (torch.tensor([0.5, 0.3, 0.2]), 0.7, "probs (0.5, 0.3, 0.2) and p = 0.7"),
        (torch.tensor([0.1, 0.6, 0.3]), 0.75, "probs (0.1, 0.6, 0.3) (not sorted) and p = 0.75"),
        (torch.tensor([0.05, 0.15, 0.4, 0.25, 0.15]), 0.5, "probs (0.05, 0.15, 0.4, 0.25, 0.15) and p = 0.5"),
        (torch.tensor([0.2, 0.7, 0.1]), 0.5, "probs (0.2, 0.7, 0.1) and p = 0.5 (one token is enough)"),
        (random_probs, 0.9, "12 random probabilities and p = 0.9"),
        (torch.tensor([0.25, 0.25, 0.3, 0.2]), 1.0, "probs (0.25, 0.25, 0.3, 0.2) and p = 1 (keep all)"),
    ]


_TOP_P_MISTAKES = [  # (stored answer of a wrong nucleus, None where it keeps no token; what it means)
    (
        "crossing_token_dropped",
        "You dropped the token that takes the running sum past p. The nucleus is the *smallest* set whose "
        "mass reaches p, so it includes that token: keep a token when the mass of the tokens ranked above "
        "it is < p (cumsum - probs < p), not when the cumulative sum including it is < p.",
    ),
    (
        "sorted_mask_unsorted_tokens",
        "You kept the right *number* of tokens, but the wrong ones: the mask was computed in sorted "
        "order and applied to the tokens in their original order. Map it back with the sort's "
        "indices, e.g. torch.zeros_like(mask).scatter(0, order, mask).",
    ),
    (
        "not_renormalised",
        "You kept the right tokens but forgot to renormalise: divide by their total so the result sums to 1.",
    ),
    (
        "tail_kept",
        "You kept the tail (the least likely tokens) and dropped the nucleus: sort in "
        "descending order and keep the *top* tokens.",
    ),
]


def check_top_p_probs(top_p_probs: Callable[[torch.Tensor, float], torch.Tensor]) -> None:
    """Exercise 10.2: the nucleus distribution, smallest top set of mass >= p, renormalised."""
    for case, (probs, p, what) in enumerate(top_p_cases()):
        original = probs.clone()
        got = _as_float_tensor(
            _call(top_p_probs, "top_p_probs", probs, p), "top_p_probs", "the renormalised nucleus distribution"
        )
        expect(
            torch.equal(probs, original),
            f"top_p_probs changed its input on {what}: work on a copy (in-place "
            "operations such as probs[...] = 0 modify the caller's tensor).",
        )
        expected = stored("ch10", "top_p_probs")[case]
        expect(
            got.shape == original.shape,
            f"On {what}, top_p_probs returned shape {tuple(got.shape)}, expected "
            f"{tuple(original.shape)}: one probability per token, zeros included.",
        )
        if _same(got, expected):
            continue
        for key, message in _TOP_P_MISTAKES:
            wrong = stored("ch10", f"top_p_probs/mistake/{key}")[case]
            if wrong is not None and _same(got, wrong) and not _same(wrong, expected):
                raise CheckError(f"On {what}: {message}")
        expect_close(
            got,
            expected,
            what=f"top_p_probs on {what}",
            rtol=1e-5,
            atol=1e-6,
            hint="Sort descending, keep tokens whose preceding mass is < p, map back, renormalise.",
        )
    passed(
        "top_p_probs keeps the smallest top set of mass >= p (crossing token included), in the original "
        "order, renormalised."
    )


# ----- Exercise 10.3: per-token to per-character loss -----------------------------------------------------


def loss_per_char_cases() -> list[tuple[torch.Tensor, list[str], str]]:
    """Per-token losses in nats and the text of each token: (losses, token texts, what they are)."""
    return [
        (torch.tensor([2.0, 4.0, 1.0, 3.0]), ["the", " cat", " ", "sat"], "four BPE tokens"),
        (torch.tensor([1.5, 0.5, 2.5]), ["a", "b", "c"], "three single-character tokens"),
        (torch.tensor([6.0, 1.0, 3.0]), ["café", " au", " lait"], "tokens with a non-ASCII character"),
    ]


_LOSS_PER_CHAR_MISTAKES = [  # (stored answer of a wrong normalisation, what it means)
    (
        "per_token",
        "This is the mean loss per *token*. Per character, divide the total loss (the sum) "
        "by the number of characters the tokens spell.",
    ),
    ("bits", "This is in bits; the exercise asks for nats (do not divide by ln 2)."),
    (
        "mean_of_ratios",
        "You averaged each token's loss per character over the tokens; that weights short tokens too "
        "much. Divide the *total* loss by the *total* number of characters.",
    ),
    ("utf8_bytes", "You counted UTF-8 bytes, not characters: 'é' is 2 bytes but one character. Use len(s)."),
    (
        "mean_over_chars",
        "You divided the mean loss per token by the number of characters; divide the total (sum) instead.",
    ),
    (
        "sum_per_token",
        "You divided by the number of tokens; divide by the number of characters, sum(len(s) for s in token_texts).",
    ),
]


def check_loss_per_char(loss_per_char: Callable[[torch.Tensor, Sequence[str]], object]) -> None:
    """Exercise 10.3: total nats / number of characters, eq. (eq-per-char)."""
    for case, (losses, texts, what) in enumerate(loss_per_char_cases()):
        value = _call(loss_per_char, "loss_per_char", losses.clone(), list(texts))
        expect_answer(value, "loss_per_char", "the loss in nats per character")
        try:
            got = float(value)
        except (TypeError, ValueError) as err:
            raise CheckError(
                f"loss_per_char should return a number (or a 0-d tensor), got {type(value).__name__}."
            ) from err
        expected = stored("ch10", "loss_per_char")[case]
        if math.isclose(got, expected, rel_tol=1e-6):
            continue
        for key, message in _LOSS_PER_CHAR_MISTAKES:
            wrong = stored("ch10", f"loss_per_char/mistake/{key}")[case]
            if math.isclose(got, wrong, rel_tol=1e-6) and not math.isclose(wrong, expected, rel_tol=1e-6):
                raise CheckError(f"On {what}: {message}")
        total, n_chars = stored("ch10", "loss_per_char/total_nats")[case], stored("ch10", "loss_per_char/n_chars")[case]
        raise CheckError(
            f"On {what}, loss_per_char returned {got:.6g}, expected {expected:.6g} = total nats "
            f"{total:g} / {n_chars} characters."
        )
    passed("loss_per_char divides the total loss by the number of characters: comparable across tokenizers.")
