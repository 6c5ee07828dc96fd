"""Checks for the exercises of Appendix B (Scaling up: mixed precision, torch.compile, data parallel)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from genai_checks.answers import stored
from genai_checks.core import CheckError, expect_answer, expect_close, passed

__all__ = ["check_combine_shard_gradients", "check_combine_shard_gradients_float32", "check_amdahl_speedup"]


# ----- Exercise B.1: the global-batch gradient from shards of unequal size --------------------------------


def shard_cases() -> list[tuple[str, torch.Tensor, list[int]]]:
    """(description, shard gradients (K, P), shard sizes [n_1, ..., n_K])."""
    g = torch.Generator().manual_seed(0)
    return [
        (
            "3 shards of sizes [4, 2, 2] of a 5-parameter model",
            torch.randn(3, 5, generator=g, dtype=torch.float64),
            [4, 2, 2],
        ),
        ("2 shards of sizes [7, 1]", torch.randn(2, 3, generator=g, dtype=torch.float64), [7, 1]),
        ("4 shards of equal size 8", torch.randn(4, 6, generator=g, dtype=torch.float64), [8, 8, 8, 8]),
        ("1 shard of size 5 (one process)", torch.randn(1, 4, generator=g, dtype=torch.float64), [5]),
    ]


def check_combine_shard_gradients(combine_shard_gradients: Callable[[torch.Tensor, list[int]], torch.Tensor]) -> None:
    """Exercise B.1: grad L = sum_k n_k g_k / sum_k n_k, where g_k is shard k's mean-loss gradient."""
    for i, (what, grads, sizes) in enumerate(shard_cases()):
        got = combine_shard_gradients(grads.clone(), list(sizes))
        expect_answer(got, "combine_shard_gradients", "the global-batch gradient, a tensor of shape (P,)")
        got = torch.as_tensor(got, dtype=torch.float64)
        key = f"shard_gradient/case={i}"
        expected = stored("appendix_b", key)
        total = sum(sizes)
        P = grads.shape[1]
        if got.shape != (P,):
            hint = (
                " You reduced over the parameters (dim=1); reduce over the shards (dim=0)."
                if got.shape == (len(sizes),)
                else ""
            )
            raise CheckError(
                f"On {what}, the result has shape {tuple(got.shape)}, expected ({P},): one entry per parameter.{hint}"
            )
        unequal = len(set(sizes)) > 1
        if unequal and torch.allclose(got, stored("appendix_b", f"{key}/plain_mean")):
            raise CheckError(
                f"On {what}, you took the plain mean of the shard gradients. That is right only when "
                "every shard has the same size: weight shard k by its size n_k, then divide by the "
                "total number of examples."
            )
        if len(sizes) > 1 and torch.allclose(got, stored("appendix_b", f"{key}/sum")):
            raise CheckError(
                f"On {what}, you summed the shard gradients. Each g_k is already a mean over its "
                "shard; weight by n_k and divide by sum(n_k)."
            )
        if len(sizes) > 1 and torch.allclose(got, stored("appendix_b", f"{key}/weighted_sum")):
            raise CheckError(
                f"On {what}, you weighted by the shard sizes but did not divide by the total number "
                f"of examples ({total})."
            )
        if len(sizes) > 1 and torch.allclose(got, stored("appendix_b", f"{key}/divided_by_shards")):
            raise CheckError(
                f"On {what}, you divided by the number of shards ({len(sizes)}); divide by the number "
                f"of examples, sum(n_k) = {total}."
            )
        expect_close(
            got,
            expected,
            what=f"the gradient on {what}",
            rtol=1e-6,
            atol=1e-9,
            hint="The global loss is the mean over all examples: sum_k n_k g_k / sum_k n_k.",
        )
    passed(
        "the global-batch gradient is the size-weighted mean of the shard gradients; with equal shards it is "
        "the plain mean that data-parallel training all-reduces."
    )


def float32_shard_case() -> tuple[torch.Tensor, list[int]]:
    """Shard gradients (N, P) = (3, 4) in float32, the dtype of a real model's gradients, and sizes [6, 6, 3]."""
    g = torch.Generator().manual_seed(32)
    return torch.randn(3, 4, generator=g), [6, 6, 3]


def check_combine_shard_gradients_float32(
    combine_shard_gradients: Callable[[torch.Tensor, list[int]], torch.Tensor],
) -> None:
    """Exercise B.1, hidden: float32 gradients, the dtype a model's backward pass gives."""
    grads, sizes = float32_shard_case()
    try:
        got = combine_shard_gradients(grads.clone(), list(sizes))
    except (TypeError, ValueError, RuntimeError) as err:
        raise CheckError(
            f"On float32 shard gradients (what a model's backward pass gives), combine_shard_gradients raised "
            f"{type(err).__name__}: {err}. Make the sizes a tensor of the gradients' own dtype, "
            "torch.as_tensor(sizes, dtype=grads.dtype), rather than fixing float64."
        ) from err
    expect_answer(got, "combine_shard_gradients", "the global-batch gradient, a tensor of shape (P,)")
    expect_close(
        torch.as_tensor(got, dtype=torch.float64),
        stored("appendix_b", "shard_gradient/hidden/float32"),
        what="the gradient of float32 shards of sizes [6, 6, 3]",
        rtol=1e-5,
        atol=1e-6,
        hint="The global loss is the mean over all examples: sum_k n_k g_k / sum_k n_k.",
    )
    passed("combine_shard_gradients works on float32 gradients too.")


# ----- Exercise B.2: Amdahl's law -----------------------------------------------------------------------------

AMDAHL_CASES = [(0.9, 4), (0.6, 2), (0.99, 64), (1.0, 8), (0.0, 16), (0.95, 1)]  # (p, N)


def check_amdahl_speedup(amdahl_speedup: Callable[[float, int], float]) -> None:
    """Exercise B.2: S(N) = 1 / ((1 - p) + p / N), with p the parallel fraction of one process's time."""
    for p, n in AMDAHL_CASES:
        got = amdahl_speedup(p, n)
        expect_answer(got, "amdahl_speedup", "the speed-up, a number >= 1")
        got = float(got)
        key = f"amdahl/p={p},N={n}"
        expected = stored("appendix_b", key)
        what = f"amdahl_speedup(p={p}, N={n})"
        if 0 < p < 1 and n > 1 and abs(got - expected) > 1e-6 * expected:
            if abs(got - stored("appendix_b", f"{key}/time")) < 1e-9:
                raise CheckError(
                    f"{what} = {got:.4g} is the time of N processes relative to one, not the speed-up: invert it."
                )
            if abs(got - stored("appendix_b", f"{key}/swapped")) < 1e-9:
                raise CheckError(
                    f"{what} = {got:.4g}: you swapped p and 1 - p. p is the fraction that "
                    "parallelises (divided by N); 1 - p stays serial."
                )
            if any(abs(got - wrong) < 1e-9 for wrong in stored("appendix_b", f"{key}/multiplied")):
                raise CheckError(
                    f"{what} = {got:.4g}: the parallel part's time is divided by N, not multiplied "
                    "(and the speed-up is one over the total time)."
                )
        expect_close(
            got,
            expected,
            what=what,
            rtol=1e-6,
            hint="Time with N processes: (1 - p) + p / N (one process takes 1); the speed-up is its inverse.",
        )
    passed("Amdahl's law: with p = 0.95 even infinitely many processes give at most 1 / 0.05 = 20x.")
