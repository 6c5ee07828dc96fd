"""The checks of chapter 06's exercises accept correct solutions and name each common mistake."""

import math

import pytest
import torch

from assignments.wrong_answers import ch06 as wrong
from genai_checks import (
    CheckError,
    check_active_units,
    check_bits_per_dim,
    check_iwae_from_log_weights,
    check_iwae_spread_batch,
)

# ----- Exercise 6.1 ----------------------------------------------------------------------------------------


def good_iwae(log_w):
    return torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])


def test_iwae_accepts_correct_solutions(capsys):
    check_iwae_from_log_weights(good_iwae)
    check_iwae_from_log_weights(lambda lw: torch.logsumexp(lw.float(), 0) - math.log(len(lw)))  # float32 is fine
    m = lambda lw: lw.max(0).values  # noqa: E731 -- the max trick written out by hand
    check_iwae_from_log_weights(lambda lw: m(lw) + (lw - m(lw)).exp().mean(0).log())
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda lw: None, "write your solution"),
        (lambda lw: ..., "write your solution"),
        (lambda lw: lw.mean(0), "mean of the log weights.*ELBO"),
        (lambda lw: torch.logsumexp(lw, 0), "too large by exactly log k"),
        (lambda lw: torch.logsumexp(lw, 1) - math.log(lw.shape[1]), "reduced over the examples|wrong axis"),
        (lambda lw: torch.logsumexp(lw, 1) - math.log(lw.shape[0]), "reduced over the examples|wrong axis"),
        (lambda lw: torch.logsumexp(lw, 0) + math.log(len(lw)), "added log k"),
        (lambda lw: lw.exp().mean(0).log(), "underflows"),
        (lambda lw: torch.logsumexp(lw, (0, 1)) - math.log(lw.numel()), r"shape \(\), expected"),
        (lambda lw: lw.max(0).values, "The bound on"),
    ],
)
def test_iwae_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_iwae_from_log_weights(wrong)


def test_iwae_wrong_axis_on_a_square_tensor():
    # Right shape by accident (k == B): the check must still notice the transposed reduction.
    def axis_one_when_square(lw):
        return torch.logsumexp(lw, 1) - math.log(lw.shape[1]) if lw.shape[0] == lw.shape[1] else good_iwae(lw)

    with pytest.raises(CheckError, match="wrong axis"):
        check_iwae_from_log_weights(axis_one_when_square)


def test_iwae_hidden_check_wants_a_maximum_per_example(capsys):
    m = lambda lw: lw.max(0, keepdim=True).values  # noqa: E731 -- the max trick, one maximum per example
    check_iwae_spread_batch(good_iwae)
    check_iwae_spread_batch(lambda lw: (m(lw) + (lw - m(lw)).exp().mean(0, keepdim=True).log()).squeeze(0))
    check_iwae_spread_batch(lambda lw: torch.logsumexp(lw.float(), 0) - math.log(len(lw)))  # float32 is fine
    assert capsys.readouterr().out.count("Correct") == 3
    with pytest.raises(CheckError, match=r"one maximum for the whole batch \(log_w.max\(\)\)"):
        check_iwae_spread_batch(wrong.iwae_from_log_weights)


# ----- Exercise 6.2 ----------------------------------------------------------------------------------------


def test_bits_per_dim_accepts_correct_solutions(capsys):
    check_bits_per_dim(lambda nats, D: nats / (D * math.log(2)))
    check_bits_per_dim(lambda nats, D: torch.tensor(nats) / D / math.log(2))
    check_bits_per_dim(lambda nats, D: nats * math.log2(math.e) / D)
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda nats, D: None, "write your solution"),
        (lambda nats, D: nats / math.log(2), "bits per IMAGE"),
        (lambda nats, D: nats * math.log(2) / D, "multiplied by ln 2"),
        (lambda nats, D: nats / (D * math.log2(math.e)), "multiplied by ln 2"),
        (lambda nats, D: nats / D, "forgot to divide by ln 2"),
        (lambda nats, D: nats / (D * math.log10(2)), "base-10"),
        (lambda nats, D: math.log2(nats) / D, "took log2"),
        (lambda nats, D: nats * D / math.log(2), "multiplied by D"),
        (lambda nats, D: nats / (D * math.log(2)) + 1, "expected"),
    ],
)
def test_bits_per_dim_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_bits_per_dim(wrong)


# ----- Exercise 6.3 ----------------------------------------------------------------------------------------


def good_active(mu, threshold=0.01):
    A = mu.var(dim=0)
    return A, int((A > threshold).sum())


def test_active_units_accepts_correct_solutions(capsys):
    check_active_units(good_active)
    check_active_units(
        lambda mu, threshold=0.01: (mu.var(0, correction=0), (mu.var(0, correction=0) > threshold).sum())
    )
    check_active_units(
        lambda mu, threshold=0.01: (torch.cov(mu.T).diag(), int((torch.cov(mu.T).diag() > threshold).sum()))
    )
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda mu, threshold=0.01: None, "write your solution"),
        (lambda mu, threshold=0.01: (None, 3), "write your solution"),
        (lambda mu, threshold=0.01: good_active(mu, threshold)[0], "should return a pair"),
        (lambda mu, threshold=0.01: (mu.var(1), 3), r"variance across the units \(dim=1\)"),
        (lambda mu, threshold=0.01: (mu.mean(0), 3), "average of each unit's posterior mean"),
        (lambda mu, threshold=0.01: (mu.std(0), int((mu.std(0) > threshold).sum())), "standard deviation"),
        (lambda mu, threshold=0.01: (mu.square().mean(0), 3), "second moment"),
        (lambda mu, threshold=0.01: (mu.var(0), int((mu.var(0) <= threshold).sum())), "INACTIVE"),
        (lambda mu, threshold=0.01: (mu.var(0), int((mu.var(0) > 0.01).sum())), "threshold argument"),
        (lambda mu, threshold=0.01: (mu.var(0), int((mu.var(0) > 0.001).sum())), "expected 4"),
    ],
)
def test_active_units_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_active_units(wrong)


# ----- The stored answers ----------------------------------------------------------------------------------


def test_reference_solutions_pass_the_checks(capsys):
    # The grader's reference solutions computed the stored answers: they must pass the checks that read them.
    from assignments.references import ch06 as ref

    check_iwae_from_log_weights(ref.iwae_from_log_weights)
    check_bits_per_dim(ref.to_bits_per_dim)
    check_active_units(ref.active_units)
    assert capsys.readouterr().out.count("Correct") == 3
