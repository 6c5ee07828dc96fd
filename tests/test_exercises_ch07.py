"""The checks of chapter 07's exercises accept correct solutions and name each common mistake."""

import math

import pytest
import torch

from assignments.wrong_answers import ch07 as wrong
from genai_checks import (
    CheckError,
    check_codebook_perplexity,
    check_codebook_perplexity_any_shape,
    check_nearest_code,
    check_straight_through,
)
from genai_lib.models.vqvae import VectorQuantizer, VQVAEConfig

# ----- Exercise 7.1 ----------------------------------------------------------------------------------------


def good_nearest(z, codebook):
    d2 = z.square().sum(1, keepdim=True) - 2 * z @ codebook.T + codebook.square().sum(1)  # (N, K)
    return d2.argmin(dim=1)


def test_nearest_code_accepts_correct_solutions(capsys):
    check_nearest_code(good_nearest)
    check_nearest_code(lambda z, e: torch.cdist(z, e).argmin(1))  # the brute-force way is also right
    check_nearest_code(lambda z, e: (-2 * z @ e.T + e.square().sum(1)).argmin(1))  # ||z||^2 may be dropped
    assert "Correct" in capsys.readouterr().out


def test_the_library_quantiser_passes_the_check():
    vq = VectorQuantizer(VQVAEConfig(codebook_size=12, code_dim=3))

    def library(z, codebook):
        vq.codebook = codebook
        return vq.nearest(z)

    check_nearest_code(library)


def _d2(z, e):
    return z.square().sum(1, keepdim=True) - 2 * z @ e.T + e.square().sum(1)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda z, e: None, "write your solution"),
        (lambda z, e: ..., "write your solution"),
        (lambda z, e: _d2(z, e).argmax(1), "FARTHEST code"),
        (lambda z, e: _d2(z, e).argmin(0), r"over the points \(dim=0\)"),
        (lambda z, e: (z.square().sum(1, keepdim=True) - 2 * z @ e.T).argmin(1), r"forgot the \|\|e_k\|\|\^2 term"),
        (lambda z, e: (z @ e.T).argmax(1), r"forgot the \|\|e_k\|\|\^2 term"),
        (lambda z, e: (2 * z @ e.T + e.square().sum(1)).argmin(1), "nearest to -z"),
        (lambda z, e: (-z @ e.T + e.square().sum(1)).argmin(1), "factor 2"),
        (lambda z, e: (-2 * z @ e.T + e.norm(dim=1)).argmin(1), "SQUARED norm"),
        (lambda z, e: e[_d2(z, e).argmin(1)], "not the codes themselves"),
        (lambda z, e: _d2(z, e).min(1).values, "integer indices"),
        (lambda z, e: (z @ e.T).argmin(1), "smallest dot product"),
        (lambda z, e: torch.where(torch.arange(len(z)) == 5, 0, good_nearest(z, e)), r"For 1 of 40 points"),
    ],
)
def test_nearest_code_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_nearest_code(wrong)


# ----- Exercise 7.2 ----------------------------------------------------------------------------------------


def test_straight_through_accepts_correct_solutions(capsys):
    check_straight_through(lambda z_e, z_q: z_e + (z_q - z_e).detach())
    check_straight_through(lambda z_e, z_q: z_e + z_q.detach() - z_e.detach())
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda z_e, z_q: None, "write your solution"),
        (lambda z_e, z_q: ..., "write your solution"),
        (lambda z_e, z_q: z_q, "No gradient reaches z_e: you returned z_q itself"),
        (lambda z_e, z_q: z_q.detach(), "no gradient at all"),
        (lambda z_e, z_q: (z_e + (z_q - z_e)).detach(), "no gradient at all"),
        (lambda z_e, z_q: z_q + (z_e - z_q).detach(), "forward value is z_e"),
        (lambda z_e, z_q: z_e, "forward value is z_e"),
        (lambda z_e, z_q: z_e.detach() + (z_q - z_e), "NEGATIVE.*detached z_e instead of the difference"),
        (lambda z_e, z_q: z_e + (z_q - z_e), "gradient reaching z_e is zero"),
        (lambda z_e, z_q: z_e + (z_q - z_e.detach()), "flows into z_q"),
        (lambda z_e, z_q: 2 * z_e + (z_q - 2 * z_e).detach(), "gradient reaching z_e is"),
        (lambda z_e, z_q: (z_e + (z_q - z_e).detach()).flatten(), "expected"),
    ],
)
def test_straight_through_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_straight_through(wrong)


# ----- Exercise 7.3 ----------------------------------------------------------------------------------------


def good_perplexity(indices, K):
    usage = torch.bincount(indices.flatten(), minlength=K).float() / indices.numel()
    return torch.exp(-torch.xlogy(usage, usage).sum())


def _entropy_nats(indices, K):
    p = torch.bincount(indices.flatten(), minlength=K).double() / indices.numel()
    p = p[p > 0]
    return -(p * p.log()).sum()


def test_codebook_perplexity_accepts_correct_solutions(capsys):
    check_codebook_perplexity(good_perplexity)
    check_codebook_perplexity(lambda i, K: 2 ** (_entropy_nats(i, K) / math.log(2)))  # bits with 2**: fine
    check_codebook_perplexity(lambda i, K: _entropy_nats(i, K).exp().item())  # a Python float is fine
    assert "Correct" in capsys.readouterr().out


def _raw_counts(i, K):
    c = torch.bincount(i.flatten(), minlength=K).double()
    c = c[c > 0]
    return torch.exp(-(c * c.log()).sum())


def _nan_for_unused(i, K):
    p = torch.bincount(i.flatten(), minlength=K).double() / i.numel()
    return torch.exp(-(p * p.log()).sum())


def _divided_by_K(i, K):
    c = torch.bincount(i.flatten(), minlength=K).double() / K
    c = c[c > 0]
    return torch.exp(-(c * c.log()).sum())


def _per_code(i, K):
    p = torch.bincount(i.flatten(), minlength=K).double() / i.numel()
    return torch.exp(-torch.xlogy(p, p))


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda i, K: None, "write your solution"),
        (lambda i, K: ..., "write your solution"),
        (lambda i, K: _entropy_nats(i, K), r"returned the entropy H \(in nats\)"),
        (lambda i, K: _entropy_nats(i, K) / math.log(2), "entropy H in bits"),
        (lambda i, K: torch.exp(_entropy_nats(i, K) / math.log(2)), "bits \\(log2\\) and exponentiated with exp"),
        (lambda i, K: 2 ** _entropy_nats(i, K), "nats \\(natural log\\) and exponentiated with 2"),
        (_raw_counts, "raw counts"),
        (_divided_by_K, "divided the counts by K"),
        (_nan_for_unused, "NaN.*0 \\* log 0"),
        (lambda i, K: torch.exp(-_entropy_nats(i, K)), "Wrong sign"),
        (_per_code, "returned 16 numbers"),
        (lambda i, K: torch.bincount(i, minlength=K), "Flatten the grid first"),
        (lambda i, K: good_perplexity(i, K) + 0.5, "the perplexity of a batch"),
    ],
)
def test_codebook_perplexity_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_codebook_perplexity(wrong)


def test_codebook_perplexity_names_a_mean_over_codes():
    def mean_over_codes(i, K):
        p = torch.bincount(i.flatten(), minlength=K).double() / i.numel()
        p = p[p > 0]
        return torch.exp(-(p * p.log()).mean())

    with pytest.raises(CheckError, match="averaged -p log p over the codes"):
        check_codebook_perplexity(mean_over_codes)


def test_codebook_perplexity_hidden_check_takes_ids_of_any_shape(capsys):
    check_codebook_perplexity_any_shape(good_perplexity)
    check_codebook_perplexity_any_shape(lambda i, K: _entropy_nats(i, K).exp().item())
    check_codebook_perplexity_any_shape(lambda i, K: good_perplexity(i.reshape(-1), K))
    assert capsys.readouterr().out.count("Correct") == 3
    with pytest.raises(CheckError, match=r"any shape, not only \(B, h, w\).*over fixed axes"):
        check_codebook_perplexity_any_shape(wrong.codebook_perplexity)
