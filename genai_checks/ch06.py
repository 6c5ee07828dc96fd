"""Checks for the exercises of chapter 06 (Measuring and shaping a VAE).

The expected values (and the values of each common mistake) are stored answers; the reference solutions
that computed them live in the grader bundle (assignments/references/ch06.py), not here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import torch

from genai_checks.answers import stored
from genai_checks.core import CheckError, expect, expect_answer, expect_close, passed

__all__ = ["check_iwae_from_log_weights", "check_iwae_spread_batch", "check_bits_per_dim", "check_active_units"]


_answer = partial(stored, "ch06")  # this chapter's stored answer of a key


def _close(a, b, rtol: float = 1e-5, atol: float = 1e-6) -> bool:
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return a.shape == b.shape and bool(torch.isfinite(a).all()) and bool(torch.allclose(a, b, rtol=rtol, atol=atol))


def _as_float64(value, what: str) -> torch.Tensor:
    expect_answer(value, what)
    try:
        return torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as err:
        raise CheckError(f"{what} should be a tensor, got {type(value).__name__}.") from err


# ----- Exercise 6.1: the IWAE estimate from a (k, B) tensor of log weights ---------------------------------


def log_weight_cases() -> list[tuple[str, torch.Tensor]]:
    """(what, log_w) with log_w of shape (k, B), float64, for exercise 6.1."""
    g = torch.Generator().manual_seed(6)
    ordinary = -90.0 + 3.0 * torch.randn(5, 3, generator=g, dtype=torch.float64)  # (k=5, B=3)
    square = -100.0 + 2.0 * torch.randn(4, 4, generator=g, dtype=torch.float64)  # k = B: the axis must be right
    return [("log weights of shape (k=5, B=3) near -90 nats", ordinary), ("log weights of shape (k=4, B=4)", square)]


DEEP_LOG_WEIGHTS = [[-800.0, -805.0], [-801.0, -803.0], [-799.0, -810.0]]  # (k=3, B=2): exp() underflows


def check_iwae_from_log_weights(iwae_from_log_weights: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Exercise 6.1: L_k = log (1/k) sum_i exp(log_w[i, b]) for each example b, computed with logsumexp."""
    for i, (what, log_w) in enumerate(log_weight_cases()):
        k, B = log_w.shape
        got = _as_float64(iwae_from_log_weights(log_w.clone()), "iwae_from_log_weights")
        expected = _answer(f"iwae_from_log_weights/{i}")
        if got.shape == (k,) and k != B:
            raise CheckError(
                f"On {what}, your answer has shape ({k},), one number per sample: you reduced over "
                "the examples (dim=1). Reduce over the k samples, dim=0, to get one bound per example."
            )
        if got.shape != (B,):
            raise CheckError(
                f"On {what}, your answer has shape {tuple(got.shape)}, expected ({B},): one bound per "
                "example. Reduce over dim=0 (the k samples) only."
            )
        if _close(got, log_w.mean(dim=0)):
            raise CheckError(
                f"On {what}, you returned the mean of the log weights: that is the k-sample average "
                "of ELBO estimates, whose expectation is the ELBO, not the IWAE bound. Average the "
                "weights, then take the log: logsumexp(log_w, dim=0) - log k."
            )
        if _close(got, expected + math.log(k)):  # the log of the SUM of the weights
            raise CheckError(
                f"On {what}, your bound is too large by exactly log k = {math.log(k):.4f}: logsumexp "
                "gives the log of the SUM of the weights; subtract log k to get the log of their mean."
            )
        if k == B and _close(got, _answer(f"iwae_from_log_weights/{i}/mistake/wrong_axis")):
            raise CheckError(
                f"On {what}, you reduced over the wrong axis (dim=1, the examples). The samples z_i "
                "run along dim=0: logsumexp(log_w, dim=0) - log k."
            )
        if _close(got, expected + 2 * math.log(k)):  # log k added instead of subtracted
            raise CheckError(
                f"On {what}, you added log k instead of subtracting it: the mean is the sum divided "
                "by k, so its log is logsumexp - log k."
            )
        expect_close(
            got,
            expected,
            what=f"The bound on {what}",
            rtol=1e-6,
            atol=1e-6,
            hint="L_k = logsumexp(log_w, dim=0) - log k.",
        )
    # Realistic log weights (about -500 nats for a large image) underflow exp() in float32 and float64 alike.
    deep = torch.tensor(DEEP_LOG_WEIGHTS, dtype=torch.float64)
    got = _as_float64(iwae_from_log_weights(deep.clone()), "iwae_from_log_weights")
    if not torch.isfinite(got).all():
        raise CheckError(
            "With log weights near -800 your bound is -inf or NaN: exp(-800) underflows to 0 before "
            "you take the log. Use torch.logsumexp, which subtracts the largest log weight first."
        )
    expect_close(
        got,
        _answer("iwae_from_log_weights/deep"),
        what="The bound for log weights near -800",
        rtol=1e-6,
        atol=1e-6,
        hint="Use torch.logsumexp(log_w, dim=0) - math.log(k).",
    )
    one = torch.tensor([[-95.0, -87.5]], dtype=torch.float64)
    got = _as_float64(iwae_from_log_weights(one.clone()), "iwae_from_log_weights")
    expect_close(
        got,
        one[0],
        what="The bound with k = 1",
        rtol=1e-6,
        atol=1e-6,
        hint="With one sample the bound is the log weight itself: L_1 is the ELBO estimate.",
    )
    passed("iwae_from_log_weights averages the importance weights inside the log, stably, one bound per example.")


def spread_log_weights_case() -> torch.Tensor:
    """(k=4, B=3) float64 log weights of three images of very different likelihoods: near -80, -900 and -3000 nats."""
    g = torch.Generator().manual_seed(61)
    centres = torch.tensor([-80.0, -900.0, -3000.0], dtype=torch.float64)  # one per example
    return centres + 2.0 * torch.randn(4, 3, generator=g, dtype=torch.float64)


def check_iwae_spread_batch(iwae_from_log_weights: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Exercise 6.1, hidden: a batch whose examples' log weights lie hundreds of nats apart, each bound stable."""
    log_w = spread_log_weights_case()
    what = "a batch of B = 3 images whose log weights lie near -80, -900 and -3000 nats"
    got = _as_float64(iwae_from_log_weights(log_w.clone()), "iwae_from_log_weights")
    expect(got.shape == (3,), f"On {what}, your answer has shape {tuple(got.shape)}, expected (3,).")
    if not torch.isfinite(got).all():
        raise CheckError(
            f"On {what}, your bounds are {got.tolist()}: -inf or NaN for the examples far below the others. "
            "Did you subtract one maximum for the whole batch (log_w.max())? Then exp underflows to 0 for "
            "every example whose log weights lie hundreds of nats below it. Each example needs its own "
            "maximum, log_w.max(dim=0, keepdim=True), which torch.logsumexp(log_w, dim=0) takes for you."
        )
    expect_close(
        got,
        _answer("iwae_from_log_weights/hidden/spread"),
        what=f"The bounds on {what}",
        rtol=1e-6,
        atol=1e-6,
        hint="L_k = logsumexp(log_w, dim=0) - log k, for each example separately.",
    )
    passed("iwae_from_log_weights is stable for every example of a batch, however far apart their log weights lie.")


# ----- Exercise 6.2: nats per image to bits per dimension ----------------------------------------------------

BPD_CASES = [(86.0, 784), (3.2, 1), (5_000.0, 3 * 32 * 32)]  # (nats per image, D)


def _bpd_mistake(name: str, i: int) -> float:
    """What the common mistake `name` returns on BPD_CASES[i] (stored)."""
    return _answer(f"bits_per_dim/mistake/{name}")[i]


def check_bits_per_dim(to_bits_per_dim: Callable[[float, int], float]) -> None:
    """Exercise 6.2: bits/dim = nats / (D ln 2), for a negative log-likelihood in nats per image."""
    for i, (nats, D) in enumerate(BPD_CASES):
        value = to_bits_per_dim(nats, D)
        expect_answer(value, "to_bits_per_dim", "the negative log-likelihood in bits per dimension")
        got = float(_as_float64(value, "to_bits_per_dim"))
        where = f"For {nats} nats per image of D = {D} dimensions"
        expected = _answer("bits_per_dim")[i]
        if not math.isclose(got, expected, rel_tol=1e-6):
            if D > 1 and math.isclose(got, _bpd_mistake("per_image", i), rel_tol=1e-6):
                raise CheckError(
                    f"{where} you returned {got:.4g} bits: that is bits per IMAGE. Divide by the "
                    "number of dimensions D as well."
                )
            if math.isclose(got, _bpd_mistake("times_ln2", i), rel_tol=1e-6):
                raise CheckError(
                    f"{where} you multiplied by ln 2 (or divided by log2(e)); a bit is ln 2 nats, so "
                    "a number of nats is converted to bits by DIVIDING by ln 2."
                )
            if math.isclose(got, _bpd_mistake("nats_per_dim", i), rel_tol=1e-6):
                raise CheckError(
                    f"{where} you returned nats per dimension ({got:.4g}): you forgot to divide by "
                    "ln 2 to turn nats into bits."
                )
            if math.isclose(got, _bpd_mistake("log10_2", i), rel_tol=1e-6) or math.isclose(
                got, _bpd_mistake("log10_e", i), rel_tol=1e-6
            ):
                raise CheckError(
                    f"{where} you used a base-10 logarithm; the conversion is nats / (D * ln 2), with "
                    "the natural logarithm math.log(2)."
                )
            if math.isclose(got, _bpd_mistake("log2_of_nats", i), rel_tol=1e-6) or math.isclose(
                got, _bpd_mistake("log2_of_nats_per_dim", i), rel_tol=1e-6
            ):
                raise CheckError(
                    f"{where} you took log2 of the number of nats. The nats are already a logarithm "
                    "(-ln p); change its base by dividing by ln 2, do not take another log."
                )
            if math.isclose(got, _bpd_mistake("times_D", i), rel_tol=1e-6):
                raise CheckError(f"{where} you multiplied by D; bits per dimension divides the per-image value by D.")
        expect(
            math.isclose(got, expected, rel_tol=1e-6),
            f"{where} you returned {got:.6g}, expected {expected:.6g}: bits/dim = nats / (D * ln 2).",
        )
    passed(
        "to_bits_per_dim divides by D and by ln 2: 86 nats on a 28x28 image is "
        f"{_answer('bits_per_dim')[0]:.4f} bits per dimension."
    )


# ----- Exercise 6.3: counting active units ---------------------------------------------------------------------


def means_case() -> torch.Tensor:
    """Posterior means (N=200, D=7): units with variances about 1, 0.3, 0.02, 0.09, 0.005, 1e-4 and 0 across x."""
    g = torch.Generator().manual_seed(3)
    stds = torch.tensor([1.0, 0.55, 0.14, 0.3, 0.07, 0.01, 0.0], dtype=torch.float64)
    offsets = torch.tensor([0.0, 0.5, -2.0, 0.8, 0.3, 1.5, 0.2], dtype=torch.float64)
    return offsets + stds * torch.randn(200, 7, generator=g, dtype=torch.float64)


def check_active_units(active_units: Callable[..., tuple[torch.Tensor, int]]) -> None:
    """Exercise 6.3: A_u = Var_x(E_q[z_u | x]) from posterior means (N, D), and the count of A_u > threshold."""
    mu = means_case()
    result = active_units(mu.clone(), threshold=0.01)
    expect_answer(result, "active_units", "(A, count)")
    expect(
        isinstance(result, (tuple, list)) and len(result) == 2,
        f"active_units should return a pair (A, count), got {type(result).__name__}.",
    )
    A, count = result
    A = _as_float64(A, "active_units's A")
    expect_answer(count, "active_units's count", "the number of active units")
    N, D = mu.shape
    biased, unbiased = _answer("active_units/A/biased"), _answer("active_units/A")
    if A.shape == (N,):
        raise CheckError(
            f"A has shape ({N},), one number per image: you took the variance across the units "
            "(dim=1). A_u is the variance of unit u across the data: mu.var(dim=0)."
        )
    expect(A.shape == (D,), f"A has shape {tuple(A.shape)}, expected ({D},): one activity per latent unit.")
    if _close(A, mu.mean(dim=0)):
        raise CheckError(
            "A is the average of each unit's posterior mean. Activity measures how much E_q[z_u|x] "
            "CHANGES with x: its variance across the data, mu.var(dim=0)."
        )
    if _close(A, biased.sqrt()) or _close(A, unbiased.sqrt()):
        raise CheckError(
            "A is the standard deviation of each unit's mean; Burda et al. threshold the variance "
            "(the covariance Cov_x), so square it, or use mu.var(dim=0)."
        )
    if _close(A, mu.square().mean(dim=0)):
        raise CheckError(
            "A is the mean of mu^2, a second moment: it is not centred, so a unit whose mean is a "
            "constant far from 0 looks active. Subtract the mean over the data first (mu.var(dim=0))."
        )
    if not (_close(A, biased, rtol=1e-4) or _close(A, unbiased, rtol=1e-4)):
        expect_close(A, unbiased, what="A", rtol=1e-4, atol=1e-8, hint="A_u = mu.var(dim=0).")
    try:
        n = int(count)
    except (TypeError, ValueError, RuntimeError) as err:
        raise CheckError(f"count should be an integer, got {type(count).__name__}.") from err
    right = _answer("active_units/count/0.01")
    if n == D - right:
        raise CheckError(
            f"count is {n}: you counted the INACTIVE units (A_u <= threshold). Active units are those "
            f"with A_u > threshold; here there are {right}."
        )
    expect(n == right, f"count is {n}, expected {right}: the number of units whose A_u exceeds the threshold 0.01.")
    n_strict, right_strict = active_units(mu.clone(), threshold=0.5)[1], _answer("active_units/count/0.5")
    expect(
        int(n_strict) == right_strict,
        f"With threshold=0.5 your count is {int(n_strict)}, expected {right_strict}: use the "
        "threshold argument rather than a hard-coded 0.01.",
    )
    passed(f"active_units measures Var_x(E_q[z_u|x]) per unit; {right} of these {D} units are active at 0.01.")
