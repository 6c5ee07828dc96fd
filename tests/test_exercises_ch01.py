"""The checks of chapter 01's exercises accept correct solutions and name each common mistake."""

import math

import pytest
import torch

from assignments.wrong_answers import ch01 as wrong_answers
from genai_checks import (
    CheckError,
    check_gaussian_mle,
    check_kl_gaussians,
    check_sample_mixture,
    check_sample_mixture_small,
)

# ----- Exercise 1.2 ----------------------------------------------------------------------------------------


def good_mle(x):
    mu = x.mean(dim=0)
    centred = x - mu
    return mu, centred.T @ centred / len(x)


def test_gaussian_mle_accepts_correct_solutions(capsys):
    check_gaussian_mle(good_mle)
    check_gaussian_mle(lambda x: (x.mean(0), torch.cov(x.T, correction=0)))  # 0-d for d = 1 is accepted
    check_gaussian_mle(lambda x: tuple(t.float() for t in good_mle(x)))  # float32 is precise enough
    assert "Correct" in capsys.readouterr().out


def _unbiased(x):
    mu = x.mean(0)
    return mu, (x - mu).T @ (x - mu) / (len(x) - 1)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda x: None, "write your solution"),
        (lambda x: ..., "write your solution"),
        (lambda x: (None, None), "write your solution"),
        (lambda x: good_mle(x)[1], "should return a pair"),
        (_unbiased, r"off by a factor n/\(n-1\).*divides by n, not n - 1"),
        (lambda x: (x.mean(0), torch.cov(x.T).reshape(x.shape[1], x.shape[1])), r"factor n/\(n-1\)"),
        (lambda x: (x.mean(0), x.T @ x / len(x)), "without subtracting the mean"),
        (lambda x: (x.mean(0), (x - x.mean(0)).T @ (x - x.mean(0))), "scatter matrix.*divide it by n"),
        (lambda x: (x.mean(1), good_mle(x)[1]), r"average over the points, x.mean\(dim=0\)"),
        (lambda x: (x.mean(0), (x - x.mean(0)) @ (x - x.mean(0)).T / len(x)), r"x @ x.T \(n x n\)"),
        (lambda x: (x.mean(0), torch.diag((x - x.mean(0)).square().mean(0))), "diagonal"),
        (lambda x: (x.mean(0) + 0.1, good_mle(x)[1]), "average of the points"),
        (lambda x: (x.mean(0), torch.linalg.cholesky(good_mle(x)[1])), "square root of the covariance"),
    ],
)
def test_gaussian_mle_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_gaussian_mle(wrong)


def test_gaussian_mle_catches_nan_for_one_point():
    def unbiased_only_when_single(x):  # correct except that it divides by n - 1 for a single point
        return _unbiased(x) if len(x) == 1 else good_mle(x)

    with pytest.raises(CheckError, match="single point.*NaN.*n - 1 = 0"):
        check_gaussian_mle(unbiased_only_when_single)


# ----- Exercise 1.3 ----------------------------------------------------------------------------------------


def good_kl(mu_p, s_p, mu_q, s_q):
    return torch.log(s_q / s_p) + (s_p**2 + (mu_p - mu_q) ** 2) / (2 * s_q**2) - 0.5


def test_kl_gaussians_accepts_correct_solutions(capsys):
    check_kl_gaussians(good_kl)
    # the same formula through log-variances is fine
    check_kl_gaussians(
        lambda mp, sp, mq, sq: (
            0.5 * (torch.log(sq**2) - torch.log(sp**2)) + (sp**2 + (mp - mq) ** 2) / (2 * sq**2) - 0.5
        )
    )
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda *a: None, "write your solution"),
        (lambda *a: ..., "write your solution"),
        (lambda mp, sp, mq, sq: good_kl(mp, sp, mq, sq) + 0.5, r"should be 0.*got 0.5.*-1/2"),
        (lambda mp, sp, mq, sq: good_kl(mq, sq, mp, sp), "swapped the two Gaussians"),
        (
            lambda mp, sp, mq, sq: torch.log(sq**2 / sp**2) + (sp**2 + (mp - mq) ** 2) / (2 * sq**2) - 0.5,
            "log of variances",
        ),
        (
            lambda mp, sp, mq, sq: torch.log(sq / sp) + (sp + (mp - mq) ** 2) / (2 * sq) - 0.5,
            "standard deviations where it needs variances",
        ),
        (lambda mp, sp, mq, sq: torch.log(sq / sp) + (sp**2 + (mp - mq) ** 2) / sq**2 - 0.5, "missing its factor 1/2"),
        (lambda mp, sp, mq, sq: torch.log(sp / sq) + (sp**2 + (mp - mq) ** 2) / (2 * sq**2) - 0.5, "wrong sign"),
        (lambda mp, sp, mq, sq: math.log(sq / sp) + (sp**2 + (mp - mq) ** 2) / (2 * sq**2) - 0.5, "torch.log"),
        (lambda mp, sp, mq, sq: good_kl(mp, sp, mq, sq).sum(), "without summing"),
        (lambda mp, sp, mq, sq: good_kl(mp, sp, mq, sq) * 1.01, r"kl_gaussians\(1.0, 1.0, 0.0, 1.0\) is"),
    ],
)
def test_kl_gaussians_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_kl_gaussians(wrong)


# ----- Exercise 1.4 ----------------------------------------------------------------------------------------


def good_sample(pi, mu, L, n, generator):
    k = torch.multinomial(pi, n, replacement=True, generator=generator)
    eps = torch.randn(n, mu.shape[1], generator=generator)
    return mu[k] + (L[k] @ eps.unsqueeze(-1)).squeeze(-1)


def test_sample_mixture_accepts_correct_solutions(capsys):
    check_sample_mixture(good_sample)

    def noise_first(pi, mu, L, n, generator):  # another order of random draws is just as correct
        eps = torch.randn(n, mu.shape[1], generator=generator)
        k = torch.multinomial(pi, n, replacement=True, generator=generator)
        return mu[k] + torch.einsum("nij,nj->ni", L[k], eps)

    check_sample_mixture(noise_first)
    assert "Correct" in capsys.readouterr().out


def transposed_L(pi, mu, L, n, generator):
    k = torch.multinomial(pi, n, replacement=True, generator=generator)
    eps = torch.randn(n, mu.shape[1], generator=generator)
    return mu[k] + (eps.unsqueeze(1) @ L[k]).squeeze(1)  # eps^T L: covariance L^T L


def times_sigma(pi, mu, L, n, generator):
    k = torch.multinomial(pi, n, replacement=True, generator=generator)
    eps = torch.randn(n, mu.shape[1], generator=generator)
    return mu[k] + (L[k] @ L[k].transpose(1, 2) @ eps.unsqueeze(-1)).squeeze(-1)


def global_rng(pi, mu, L, n, generator):
    k = torch.multinomial(pi, n, replacement=True)
    eps = torch.randn(n, mu.shape[1])
    return mu[k] + (L[k] @ eps.unsqueeze(-1)).squeeze(-1)


def equal_weights(pi, mu, L, n, generator):
    return good_sample(torch.ones_like(pi), mu, L, n, generator)


def one_component(pi, mu, L, n, generator):
    k = torch.multinomial(pi, 1, generator=generator).expand(n)
    eps = torch.randn(n, mu.shape[1], generator=generator)
    return mu[k] + (L[k] @ eps.unsqueeze(-1)).squeeze(-1)


def mismatched(pi, mu, L, n, generator):
    k = torch.multinomial(pi, n, replacement=True, generator=generator)
    eps = torch.randn(n, mu.shape[1], generator=generator)
    return mu[k.flip(0)] + (L[k] @ eps.unsqueeze(-1)).squeeze(-1)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda *a: None, "write your solution"),
        (lambda pi, mu, L, n, g: good_sample(pi, mu, L, n, g).T, r"expected \(20000, 2\)"),
        (lambda pi, mu, L, n, g: good_sample(pi, mu, L, n, g) - mu[0], "add mu_k"),
        (transposed_L, "L\\^T L instead of L L\\^T"),
        (times_sigma, "covariance Sigma\\^2"),
        (
            lambda pi, mu, L, n, g: (
                mu[torch.multinomial(pi, n, replacement=True, generator=g)] + torch.randn(n, mu.shape[1], generator=g)
            ),
            "identity covariance",
        ),
        (global_rng, "draw every random number from `generator`"),
        (equal_weights, "equally often"),
        (one_component, "one for all"),
        (mismatched, "that same sample"),
    ],
)
def test_sample_mixture_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_sample_mixture(wrong)


def test_sample_mixture_hidden_check_takes_n_1_and_d_1(capsys):
    check_sample_mixture_small(good_sample)

    def with_einsum(pi, mu, L, n, generator):
        k = torch.multinomial(pi, n, replacement=True, generator=generator)
        return mu[k] + torch.einsum("nij,nj->ni", L[k], torch.randn(n, mu.shape[1], generator=generator))

    check_sample_mixture_small(with_einsum)
    assert "Correct" in capsys.readouterr().out
    check_sample_mixture(wrong_answers.sample_mixture)  # the public check cannot tell: d = 2, n in the thousands
    with pytest.raises(CheckError, match=r"returned shape \(8, 8\), expected \(8, 1\).*\.squeeze\(-1\)"):
        check_sample_mixture_small(wrong_answers.sample_mixture)


# ----- The stored answers ----------------------------------------------------------------------------------


def test_reference_solutions_pass_the_checks(capsys):
    # The grader's reference solutions computed the stored answers: they must pass the checks that read them.
    from assignments.references import ch01 as ref

    def kl(*tensors):  # the reference works on floats; the check passes tensors, some of them batched
        rows = zip(*(t.reshape(-1).tolist() for t in torch.broadcast_tensors(*tensors)), strict=True)
        return torch.tensor([ref.kl(*row) for row in rows], dtype=torch.float64).reshape(tensors[0].shape)

    check_gaussian_mle(ref.gaussian_mle)
    check_kl_gaussians(kl)
    assert capsys.readouterr().out.count("Correct") == 2
