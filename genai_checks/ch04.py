"""Checks for the exercises of chapter 04 (Making GANs train, and measuring them).

Exercise 4.1 compares with stored answers (the reference solution that computed them lives in the grader
bundle, assignments/references/ch04.py); exercise 4.2 compares with PyTorch's own spectral norm.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import torch

from genai_checks.answers import stored
from genai_checks.core import CheckError, expect, expect_answer, expect_close, passed

__all__ = ["check_fd_diagonal", "check_spectral_norm_power", "check_spectral_norm_power_float32"]


_answer = partial(stored, "ch04")  # this chapter's stored answer of a key


# ----- Exercise 4.1: the Fréchet distance for diagonal covariances -----------------------------------------


def fd_cases() -> list[tuple[str, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]:
    """(what, mu_a, var_a, mu_b, var_b) in float64, for exercise 4.1."""
    t = lambda *v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    return [
        ("1-D Gaussians N(0, 4) and N(1, 9)", t(0.0), t(4.0), t(1.0), t(9.0)),
        (
            "3-D Gaussians with variances (4, 0.25, 2.25) and (1, 1, 9)",
            t(1.0, -2.0, 0.5),
            t(4.0, 0.25, 2.25),
            t(0.0, 0.0, 0.5),
            t(1.0, 1.0, 9.0),
        ),
        ("equal means, variances (0.5, 3) and (2, 0.1)", t(0.0, 0.0), t(0.5, 3.0), t(0.0, 0.0), t(2.0, 0.1)),
    ]


_FD_MISTAKES = [  # (the stored values of a wrong formula on fd_cases(), what it means)
    (
        "fd_diagonal/mistake/no_square_root",
        "Your trace term is tr(S_a + S_b - 2 S_a S_b): the square root is missing. It is "
        "tr(S_a + S_b - 2 (S_a S_b)^(1/2)), which for diagonal covariances is sum (sigma_a - sigma_b)^2.",
    ),
    (
        "fd_diagonal/mistake/variances_as_stds",
        "You treated the variances as standard deviations: sum (var_a - var_b)^2. The inputs are variances; "
        "the formula needs sum (sqrt(var_a) - sqrt(var_b))^2.",
    ),
    ("fd_diagonal/mistake/no_factor_2", "The cross term needs a factor 2: tr(S_a + S_b - 2 (S_a S_b)^(1/2))."),
    (
        "fd_diagonal/mistake/absolute_mean",
        "The mean term is the squared distance ||mu_a - mu_b||^2, not the sum of absolute differences.",
    ),
    ("fd_diagonal/mistake/no_mean_term", "You left out the mean term ||mu_a - mu_b||^2."),
    (
        "fd_diagonal/mistake/square_root",
        "You returned the square root: the Fréchet distance of eq. (eq-fd), as FID reports it, is the *squared* "
        "Wasserstein-2 distance. Drop the final square root.",
    ),
]


def check_fd_diagonal(fd_diagonal: Callable[..., float]) -> None:
    """Exercise 4.1: ||mu_a - mu_b||^2 + sum_i (sigma_a,i - sigma_b,i)^2 from means and variances."""
    for i, (what, mu_a, var_a, mu_b, var_b) in enumerate(fd_cases()):
        try:
            got = fd_diagonal(mu_a.clone(), var_a.clone(), mu_b.clone(), var_b.clone())
        except (TypeError, ValueError, RuntimeError, AttributeError) as err:
            raise CheckError(
                f"fd_diagonal raised {type(err).__name__}: {err}. It receives four float64 tensors "
                "of shape (d,): mu_a, var_a, mu_b, var_b."
            ) from err
        expect_answer(got, "fd_diagonal", "the Fréchet distance, one number")
        got_t = torch.as_tensor(got, dtype=torch.float64)
        if got_t.numel() != 1:
            raise CheckError(
                f"On {what}, fd_diagonal returned {got_t.numel()} numbers (shape {tuple(got_t.shape)}); "
                "sum over the dimensions and return one number."
            )
        expected = _answer("fd_diagonal")[i]
        if not math.isclose(float(got_t), expected, rel_tol=1e-6, abs_tol=1e-9):
            for key, message in _FD_MISTAKES:
                if math.isclose(float(got_t), _answer(key)[i], rel_tol=1e-6, abs_tol=1e-9):
                    raise CheckError(f"On {what}: {message}")
        expect_close(
            got_t.reshape(()),
            torch.tensor(expected, dtype=torch.float64),
            what=f"fd_diagonal on {what}",
            rtol=1e-6,
            hint="FD = ||mu_a - mu_b||^2 + sum_i (sqrt(var_a,i) - sqrt(var_b,i))^2.",
        )
    passed("fd_diagonal is ||mu_a - mu_b||^2 + sum (sigma_a - sigma_b)^2, eq. (eq-fd) for diagonal covariances.")


# ----- Exercise 4.2: the spectral norm by power iteration ----------------------------------------------------


def _matrix(m: int, n: int, sigmas: list[float], seed: int) -> torch.Tensor:
    """An (m, n) float64 matrix with the given leading singular values (the rest are zero)."""
    g = torch.Generator().manual_seed(seed)
    r = len(sigmas)
    U, _ = torch.linalg.qr(torch.randn(m, r, generator=g, dtype=torch.float64))
    V, _ = torch.linalg.qr(torch.randn(n, r, generator=g, dtype=torch.float64))
    return U @ torch.diag(torch.tensor(sigmas, dtype=torch.float64)) @ V.T


def check_spectral_norm_power(spectral_norm_power: Callable[[torch.Tensor, int], float]) -> None:
    """Exercise 4.2: sigma(W), the largest singular value, by power iteration."""
    torch.manual_seed(0)  # the student's random start: make the check repeatable
    cases = [
        (
            "a 20 x 50 matrix with sigma = 40 (unnormalised iterates would overflow)",
            _matrix(20, 50, [40.0, 20.0, 5.0], 0),
        ),
        (
            "a 30 x 8 matrix with sigma = 0.02 (unnormalised iterates would underflow)",
            _matrix(30, 8, [0.02, 0.01, 0.005], 1),
        ),
        ("a 16 x 16 matrix with sigma = 3", _matrix(16, 16, [3.0, 1.5, 1.0, 0.5], 2)),
    ]
    for what, W in cases:
        try:
            got = spectral_norm_power(W.clone(), 200)
        except (TypeError, ValueError, RuntimeError) as err:
            hint = (
                " For a non-square W, v = W^T u has n entries and u = W v has m: check which side W.T goes on."
                if "shape" in str(err) or "size" in str(err)
                else ""
            )
            raise CheckError(f"On {what}, spectral_norm_power raised {type(err).__name__}: {err}.{hint}") from err
        expect_answer(got, "spectral_norm_power", "the estimate of sigma(W), one number")
        got_t = torch.as_tensor(got, dtype=torch.float64)
        if got_t.numel() != 1:
            raise CheckError(
                f"On {what}, spectral_norm_power returned a tensor of shape {tuple(got_t.shape)}: that "
                "is a singular vector, not the value. Return sigma = u^T W v (or ||W v||), a number."
            )
        value = float(got_t)
        sigma = float(torch.linalg.matrix_norm(W, ord=2))
        if math.isclose(value, -sigma, rel_tol=1e-3):
            raise CheckError(
                f"On {what}, your estimate is -sigma: u and v point in opposite senses. Compute "
                "u = W v / ||W v|| after v, so that u^T W v = ||W v|| > 0."
            )
        if not math.isfinite(value) or value == 0.0 or value > 1e6 * sigma or value < 1e-6 * sigma:
            raise CheckError(
                f"On {what}, your estimate is {value:.3g} (the true sigma is {sigma:.4g}): the iterates "
                "blew up or vanished. Normalise u and v to unit length in every round."
            )
        if math.isclose(value, sigma**2, rel_tol=1e-3):
            raise CheckError(
                f"On {what}, you returned sigma^2 = {value:.6g}, the top eigenvalue of W^T W. The "
                "spectral norm is its square root: return u^T W v or ||W v|| with v of unit length."
            )
        if math.isclose(value, float(W.norm()), rel_tol=1e-3):
            raise CheckError(
                f"On {what}, you returned the Frobenius norm ||W||_F = {value:.6g}, the root of the sum "
                "of *all* squared singular values; the spectral norm is only the largest."
            )
        expect_close(
            got_t.reshape(()),
            torch.tensor(sigma, dtype=torch.float64),
            what=f"sigma on {what}",
            rtol=1e-4,
            hint="Repeat v = W^T u / ||W^T u||, u = W v / ||W v||, and return u^T W v.",
        )
    passed("spectral_norm_power finds the largest singular value, as torch.linalg.matrix_norm(W, ord=2) does.")


def check_spectral_norm_power_float32(spectral_norm_power: Callable[[torch.Tensor, int], float]) -> None:
    """Exercise 4.2, hidden: a float32 matrix, as the weights of a layer are, not only the float64 of the check."""
    W = _matrix(12, 24, [5.0, 2.0, 1.0], 3).float()
    with torch.random.fork_rng():  # the student's random start: repeatable, and the notebook's RNG untouched
        torch.manual_seed(0)
        try:
            got = spectral_norm_power(W.clone(), 100)
        except (TypeError, ValueError, RuntimeError) as err:
            raise CheckError(
                f"On a float32 12 x 24 matrix (the dtype of a layer's weights), spectral_norm_power raised "
                f"{type(err).__name__}: {err}. Create the random start in W's own dtype (and device), e.g. "
                "torch.randn(W.shape[0], dtype=W.dtype, device=W.device), rather than a fixed float64."
            ) from err
    expect_answer(got, "spectral_norm_power", "the estimate of sigma(W), one number")
    got_t = torch.as_tensor(got, dtype=torch.float64)
    expect(
        got_t.numel() == 1,
        f"On a float32 matrix, spectral_norm_power returned a tensor of shape {tuple(got_t.shape)}: return sigma.",
    )
    expect_close(
        got_t.reshape(()),
        torch.linalg.matrix_norm(W.double(), ord=2),
        what="sigma of a float32 12 x 24 matrix with sigma = 5",
        rtol=1e-4,
        hint="Repeat v = W^T u / ||W^T u||, u = W v / ||W v||, and return u^T W v.",
    )
    passed("spectral_norm_power works on float32 weights too.")
