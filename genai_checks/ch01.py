"""Checks for the exercises of chapter 01 (Generative modelling in one chapter).

The expected values (and the values of each common mistake) are stored answers; the reference solutions
that computed them live in the grader bundle (assignments/references/ch01.py), not here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch

from genai_checks.answers import stored
from genai_checks.core import CheckError, expect, expect_answer, expect_close, passed

__all__ = ["check_gaussian_mle", "check_kl_gaussians", "check_sample_mixture", "check_sample_mixture_small"]


_answer = partial(stored, "ch01")  # this chapter's stored answer of a key


def _close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-4, atol: float = 1e-6) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=rtol, atol=atol))


# ----- Exercise 1.2: the maximum-likelihood Gaussian ------------------------------------------------------


def mle_cases() -> list[tuple[str, torch.Tensor]]:
    """The data sets of exercise 1.2: (what, x) with x of shape (n, d), float64."""
    g = torch.Generator().manual_seed(0)
    square = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]], dtype=torch.float64)
    shifted = 5.0 + torch.randn(50, 3, generator=g, dtype=torch.float64) @ torch.tensor(
        [[1.0, 0.0, 0.0], [0.5, 2.0, 0.0], [-0.3, 0.2, 0.7]], dtype=torch.float64
    )
    one_d = torch.randn(7, 1, generator=g, dtype=torch.float64) - 3.0
    return [
        ("the four corners of the square [0, 2]^2", square),
        ("50 correlated points in 3-D with mean near 5", shifted),
        ("7 points in 1-D (x has shape (7, 1))", one_d),
    ]


def check_gaussian_mle(gaussian_mle: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]) -> None:
    """Exercise 1.2: the maximum-likelihood mean and covariance, eq. (eq-gauss-mle)."""
    for i, (what, x) in enumerate(mle_cases()):
        result = gaussian_mle(x.clone())
        expect_answer(result, "gaussian_mle", "(mu, Sigma)")
        expect(
            isinstance(result, (tuple, list)) and len(result) == 2,
            f"gaussian_mle should return a pair (mu, Sigma), got {type(result).__name__}.",
        )
        mu, Sigma = result
        expect_answer(mu, "gaussian_mle's mu", "the mean")
        expect_answer(Sigma, "gaussian_mle's Sigma", "the covariance")
        mu = torch.as_tensor(mu, dtype=torch.float64)
        Sigma = torch.as_tensor(Sigma, dtype=torch.float64)
        n, d = x.shape
        if d == 1 and Sigma.dim() == 0:
            Sigma = Sigma.reshape(1, 1)  # torch.cov of a single variable returns a 0-d tensor: that is fine
        mean, expected = _answer(f"gaussian_mle/{i}/mu"), _answer(f"gaussian_mle/{i}/Sigma")
        if mu.shape != (d,):
            hint = (
                " You averaged over the coordinates (dim=1); average over the points, x.mean(dim=0)."
                if mu.shape == (n,)
                else ""
            )
            raise CheckError(f"On {what}, mu has shape {tuple(mu.shape)}, expected ({d},).{hint}")
        expect_close(mu, mean, what=f"mu on {what}", hint="The MLE of the mean is the average of the points.")
        if Sigma.shape != (d, d):
            hint = (
                " You computed x @ x.T (n x n); the covariance is centred.T @ centred (d x d)."
                if Sigma.shape == (n, n)
                else ""
            )
            raise CheckError(f"On {what}, Sigma has shape {tuple(Sigma.shape)}, expected ({d}, {d}).{hint}")
        # Each common mistake is a simple function of the right answer.
        if n > 1 and _close(Sigma, expected * n / (n - 1)):
            raise CheckError(
                f"On {what}, your covariance is off by a factor n/(n-1) = {n}/{n - 1}: that is the "
                "unbiased estimator. The MLE divides by n, not n - 1 (torch.cov divides by n - 1 unless "
                "you pass correction=0)."
            )
        if _close(Sigma, expected + torch.outer(mean, mean)):  # the uncentred second moment, E[x x^T]
            raise CheckError(
                f"On {what}, your covariance is the average of x x^T without subtracting the mean. "
                "Centre the points first: (x - mu)."
            )
        if _close(Sigma, expected * n):
            raise CheckError(
                f"On {what}, your covariance is the scatter matrix, the sum of the outer products; divide it by n."
            )
        if _close(Sigma, torch.diag(expected.diag())) and not _close(expected, torch.diag(expected.diag())):
            raise CheckError(
                f"On {what}, your covariance is diagonal: it has the variances but not the covariances "
                "between coordinates. Use the outer products (x_i - mu)(x_i - mu)^T."
            )
        if not _close(Sigma, expected) and (_close(Sigma.square(), expected) or _close(Sigma @ Sigma.T, expected)):
            raise CheckError(
                f"On {what}, Sigma looks like a square root of the covariance (standard deviations or "
                "a Cholesky factor): return the covariance itself."
            )
        expect_close(
            Sigma,
            expected,
            what=f"Sigma on {what}",
            rtol=1e-4,
            atol=1e-6,
            hint="Sigma = (1/n) sum_i (x_i - mu)(x_i - mu)^T.",
        )
    single = torch.tensor([[1.5, -2.0]], dtype=torch.float64)
    mu, Sigma = gaussian_mle(single.clone())
    Sigma = torch.as_tensor(Sigma, dtype=torch.float64)
    if torch.isnan(Sigma).any():
        raise CheckError(
            "With a single point (n = 1) your covariance is NaN: you divided by n - 1 = 0. The MLE "
            "divides by n, and for one point it is the zero matrix."
        )
    expect_close(
        Sigma,
        torch.zeros(2, 2, dtype=torch.float64),
        what="Sigma for a single point",
        hint="One point has no spread: the MLE covariance is the zero matrix.",
    )
    expect_close(mu, single[0], what="mu for a single point")
    passed("gaussian_mle returns the sample mean and the covariance divided by n, the maximum-likelihood Gaussian.")


# ----- Exercise 1.3: the KL divergence between two 1-D Gaussians ------------------------------------------

KL_CASES = [
    (0.0, 1.0, 0.0, 1.0),
    (1.0, 1.0, 0.0, 1.0),
    (0.0, 2.0, 0.0, 1.0),
    (0.0, 1.0, 0.0, 2.0),
    (1.0, 0.5, -1.0, 2.0),
    (-0.3, 3.0, 0.7, 0.4),
]  # (mu_p, sigma_p, mu_q, sigma_q)


def kl_batch_case() -> tuple[torch.Tensor, torch.Tensor]:
    """Four Gaussians (mu_p, sigma_p), each compared with N(0, 1)."""
    mu_p = torch.tensor([0.0, 1.0, -2.0, 0.5], dtype=torch.float64)
    sigma_p = torch.tensor([1.0, 0.5, 2.0, 1.5], dtype=torch.float64)
    return mu_p, sigma_p


_KL_MISTAKES = [  # (the stored values of a wrong formula on KL_CASES, what it means)
    (
        "kl_gaussians/mistake/swapped",
        "This is KL(q || p): you swapped the two Gaussians. The KL divergence is not symmetric; the expectation is "
        "under the first one, p.",
    ),
    (
        "kl_gaussians/mistake/log_of_variances",
        "Your log term is twice too big: log(sigma_q^2 / sigma_p^2) is a log of variances. The formula has "
        "(1/2) log(sigma_q^2 / sigma_p^2) = log(sigma_q / sigma_p), a log of standard deviations.",
    ),
    (
        "kl_gaussians/mistake/no_constant",
        "You are missing the constant -1/2 (it is the -d/2 of the d-dimensional formula, with d = 1).",
    ),
    (
        "kl_gaussians/mistake/standard_deviations",
        "The fraction uses standard deviations where it needs variances: (sigma_p^2 + (mu_p - mu_q)^2) / "
        "(2 sigma_q^2).",
    ),
    (
        "kl_gaussians/mistake/no_half",
        "The fraction is missing its factor 1/2: (sigma_p^2 + (mu_p - mu_q)^2) / (2 sigma_q^2).",
    ),
    (
        "kl_gaussians/mistake/log_sign",
        "The log term has the wrong sign: it is log(sigma_q / sigma_p), which is positive when q is wider than p.",
    ),
]


def _matches(got: float, value: float) -> bool:
    return abs(got - value) <= 1e-6 * max(1, abs(value))


def check_kl_gaussians(kl_gaussians: Callable[..., torch.Tensor]) -> None:
    """Exercise 1.3: KL(N(mu_p, sigma_p^2) || N(mu_q, sigma_q^2)) in closed form, elementwise on tensors."""

    def call(*args: float) -> torch.Tensor:
        tensors = [torch.tensor(a, dtype=torch.float64) for a in args]
        try:
            value = kl_gaussians(*tensors)
        except (TypeError, ValueError, RuntimeError) as err:
            raise CheckError(
                f"kl_gaussians{tuple(args)} raised {type(err).__name__}: {err}. The arguments are "
                "tensors: use torch.log and tensor arithmetic rather than math.log."
            ) from err
        expect_answer(value, "kl_gaussians", "the KL divergence")
        return torch.as_tensor(value, dtype=torch.float64)

    got = [call(*case) for case in KL_CASES]
    expected = _answer("kl_gaussians").tolist()
    wrong = [i for i, g in enumerate(got) if not (g.numel() == 1 and _matches(g.item(), expected[i]))]
    if wrong:
        # Name the mistake whose formula reproduces every one of the student's values, if there is one.
        scalars = all(g.numel() == 1 and torch.isfinite(g).all() for g in got)
        hint = next(
            (
                h
                for key, h in _KL_MISTAKES
                if scalars and all(_matches(g.item(), v) for g, v in zip(got, _answer(key).tolist(), strict=True))
            ),
            "KL = log(sigma_q / sigma_p) + (sigma_p^2 + (mu_p - mu_q)^2) / (2 sigma_q^2) - 1/2.",
        )
        i = wrong[0]
        if i == 0 and got[0].numel() == 1:
            raise CheckError(
                f"kl_gaussians(0, 1, 0, 1) should be 0 (the two Gaussians are equal), got {got[0].item():.6g}. {hint}"
            )
        expect_close(
            got[i],
            torch.tensor(expected[i], dtype=torch.float64),
            what=f"kl_gaussians{KL_CASES[i]}",
            rtol=1e-6,
            atol=1e-7,
            hint=hint,
        )
    mu_p, sigma_p = kl_batch_case()
    try:
        batch = kl_gaussians(
            mu_p, sigma_p, torch.tensor(0.0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64)
        )
    except (TypeError, ValueError, RuntimeError) as err:
        raise CheckError(
            f"kl_gaussians failed on a batch of 4 Gaussians ({type(err).__name__}: {err}). Use tensor "
            "operations (torch.log, **, /) so that it works elementwise."
        ) from err
    expect_answer(batch, "kl_gaussians", "the KL divergence")
    expect_close(
        batch,
        _answer("kl_gaussians/batch"),
        what="kl_gaussians on a batch of 4 Gaussians against N(0, 1)",
        rtol=1e-6,
        hint="Compute elementwise, without summing or averaging over the batch.",
    )
    passed("kl_gaussians is zero for equal Gaussians, asymmetric, and exact on every case tried.")


# ----- Exercise 1.4: ancestral sampling -------------------------------------------------------------------


def check_sample_mixture(sample_mixture: Callable[..., torch.Tensor]) -> None:
    """Exercise 1.4: samples of a Gaussian mixture, by choosing a component and then x = mu_k + L_k eps."""

    def draw(pi, mu, L, n, seed):
        out = sample_mixture(pi, mu, L, n, torch.Generator().manual_seed(seed))
        expect_answer(out, "sample_mixture", "a tensor of samples")
        expect(isinstance(out, torch.Tensor), f"sample_mixture should return a tensor, got {type(out).__name__}.")
        expect(
            out.shape == (n, mu.shape[1]),
            f"sample_mixture(..., n={n}) returned shape {tuple(out.shape)}, expected ({n}, {mu.shape[1]}): one "
            "row per sample.",
        )
        return out.double()

    # One component with a correlated covariance: is eps multiplied by L (and not by L^T or Sigma)?
    L = torch.tensor([[[1.0, 0.0], [1.5, 0.5]]])
    mu = torch.tensor([[2.0, -1.0]])
    Sigma = (L[0] @ L[0].T).double()
    x = draw(torch.ones(1), mu, L, 20_000, seed=0)
    cov = x.T.cov(correction=0)
    if (x.mean(0) - mu[0].double()).abs().max() > 0.1:
        raise CheckError(
            f"With one component of mean {mu[0].tolist()}, your samples have mean "
            f"{x.mean(0).numpy().round(2).tolist()}: add mu_k to L_k eps."
        )
    if (cov - Sigma).abs().max() > 0.15:
        Lt = L[0].T.double()
        if (cov - Lt @ Lt.T).abs().max() < 0.15:
            raise CheckError(
                "Your samples have covariance L^T L instead of L L^T: you multiplied eps by L^T "
                "(a row vector times L is eps^T L). Compute x = mu + L @ eps with eps a column, e.g. "
                "(L[k] @ eps.unsqueeze(-1)).squeeze(-1), or eps @ L[k].T for rows."
            )
        if (cov - Sigma @ Sigma).abs().max() < 0.5:
            raise CheckError(
                "Your samples have covariance Sigma^2: you multiplied eps by Sigma = L L^T. Multiply by "
                "the Cholesky factor L itself."
            )
        if (cov - torch.eye(2, dtype=torch.float64)).abs().max() < 0.15:
            raise CheckError("Your samples have identity covariance: multiply eps by L_k.")
        raise CheckError(
            f"With one component, the covariance of your samples is {cov.numpy().round(2).tolist()}, "
            f"expected L L^T = {Sigma.numpy().round(2).tolist()}."
        )

    # Same seed, same samples; global seed irrelevant.
    pi = torch.tensor([0.6, 0.3, 0.1])
    mu = torch.tensor([[-10.0, 0.0], [0.0, 0.0], [10.0, 5.0]])
    scales = torch.tensor([0.1, 0.5, 1.0])
    L = scales[:, None, None] * torch.eye(2)  # (3, 2, 2), a different spread per component
    torch.manual_seed(1)
    a = draw(pi, mu, L, 300, seed=123)
    torch.manual_seed(2)
    b = draw(pi, mu, L, 300, seed=123)
    expect(
        torch.equal(a, b),
        "Two calls with generators seeded the same gave different samples: draw every random "
        "number from `generator` (torch.multinomial(..., generator=generator) and "
        "torch.randn(..., generator=generator)).",
    )

    # Component frequencies follow pi, one component per sample.
    x = draw(pi, mu, L, 20_000, seed=1)
    nearest = torch.cdist(x, mu.double()).argmin(dim=1)
    freq = torch.bincount(nearest, minlength=3).double() / len(x)
    if freq.max() > 0.999:
        raise CheckError(
            "All your samples come from one component: draw a component index for every sample "
            "(torch.multinomial(pi, n, replacement=True)), not one for all."
        )
    if (freq - 1 / 3).abs().max() < 0.02:
        raise CheckError(
            f"Your samples use the components equally often ({freq.numpy().round(3).tolist()}), but "
            f"the weights are {pi.tolist()}: choose component k with probability pi[k]."
        )
    if (freq - pi.double()).abs().max() > 0.02:
        raise CheckError(
            f"Your samples fall in the three components with frequencies {freq.numpy().round(3).tolist()}"
            f", expected about {pi.tolist()}: choose component k with probability pi[k]."
        )
    spread = torch.stack([x[nearest == k].std(dim=0).mean() for k in range(3)])
    expect(
        bool(((spread / scales.double()) - 1).abs().max() < 0.2),
        f"The samples near each component's mean have spreads {spread.numpy().round(2).tolist()}, expected "
        f"{scales.tolist()}: after choosing k for a sample, use mu[k] and L[k] for that same sample.",
    )
    passed("sample_mixture draws a component with probability pi_k, then mu_k + L_k eps, reproducibly.")


def small_mixture_cases() -> list[tuple[str, torch.Tensor, torch.Tensor, torch.Tensor, int]]:
    """(what, pi, mu, L, n) of the hidden check of exercise 1.4: a single sample, and a 1-D mixture."""
    return [
        (
            "1 sample (n = 1) of a 2-D mixture",
            torch.tensor([0.5, 0.5]),
            torch.tensor([[-10.0, 0.0], [10.0, 0.0]]),
            0.1 * torch.eye(2).repeat(2, 1, 1),
            1,
        ),
        (
            "8 samples of a 1-D mixture (d = 1: mu is (2, 1), L is (2, 1, 1))",
            torch.tensor([0.3, 0.7]),
            torch.tensor([[-5.0], [5.0]]),
            torch.tensor([[[0.1]], [[0.2]]]),
            8,
        ),
    ]


def check_sample_mixture_small(sample_mixture: Callable[..., torch.Tensor]) -> None:
    """Exercise 1.4, hidden: the shape (n, d) holds for n = 1 and for d = 1, and samples lie near a component."""
    for what, pi, mu, L, n in small_mixture_cases():
        d = mu.shape[1]
        try:
            out = sample_mixture(pi.clone(), mu.clone(), L.clone(), n, torch.Generator().manual_seed(7))
        except (TypeError, ValueError, RuntimeError, IndexError) as err:
            raise CheckError(
                f"On {what}, sample_mixture raised {type(err).__name__}: {err}. Take n and d from the "
                "arguments (d = mu.shape[1]); nothing may assume d = 2 or n > 1."
            ) from err
        expect_answer(out, "sample_mixture", "a tensor of samples")
        expect(isinstance(out, torch.Tensor), f"sample_mixture should return a tensor, got {type(out).__name__}.")
        expect(
            out.shape == (n, d),
            f"On {what}, sample_mixture returned shape {tuple(out.shape)}, expected ({n}, {d}). A .squeeze() "
            "without a dimension also removes the axes of size 1 that belong to the result (n = 1 or d = 1); "
            "squeeze only the axis you added, e.g. .squeeze(-1).",
        )
        out = out.double()
        gap = torch.cdist(out, mu.double()).min(dim=1).values  # distance of each sample to its nearest mean
        expect(
            bool(torch.isfinite(out).all()) and bool((gap < 1.5).all()),
            f"On {what}, some samples lie far from every component mean {mu.tolist()} (the components have "
            f"spreads of at most 0.2): x = mu[k] + L[k] eps for the component k drawn for that sample.",
        )
    passed("sample_mixture returns (n, d) samples for n = 1 and d = 1 too.")
