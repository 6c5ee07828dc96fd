"""The checks of chapter 02's exercises accept correct solutions and name each common mistake."""

import math

import pytest
import torch
import torch.nn.functional as F

from assignments.wrong_answers import ch02 as wrong_answers
from genai_checks import (
    CheckError,
    check_jsd,
    check_non_saturating_grad,
    check_non_saturating_loss,
    check_optimal_discriminator,
)

# ----- Exercise 2.2 ----------------------------------------------------------------------------------------


def test_optimal_discriminator_accepts_correct_solutions(capsys):
    check_optimal_discriminator(lambda pd, pg: pd / (pd + pg))
    check_optimal_discriminator(lambda pd, pg: torch.sigmoid(torch.log(pd) - torch.log(pg)))  # via the logit
    check_optimal_discriminator(lambda pd, pg: pd / (pd + pg + 1e-12))
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda pd, pg: None, "write your solution"),
        (lambda pd, pg: ..., "write your solution"),
        (lambda pd, pg: pg / (pd + pg), "ratio is swapped"),
        (lambda pd, pg: pd / pg, "density ratio p_data / p_g"),
        (lambda pd, pg: torch.log(pd / pg), "LOGIT"),
        (lambda pd, pg: (pd / (pd + pg)).mean(), "one value per point"),
        (lambda pd, pg: pd / (pd + pg + 1e-3), "epsilon"),
        (lambda pd, pg: 1 - pd / (pd + pg) + 0 * pd, "ratio is swapped"),
        (lambda pd, pg: pd / (2 * (pd + pg)), "D\\* on six points"),
    ],
)
def test_optimal_discriminator_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_optimal_discriminator(wrong)


# ----- Exercise 2.3 ----------------------------------------------------------------------------------------


def test_non_saturating_loss_accepts_correct_solutions(capsys):
    check_non_saturating_loss(lambda l: F.softplus(-l).mean())
    check_non_saturating_loss(lambda l: F.binary_cross_entropy_with_logits(l, torch.ones_like(l)))
    check_non_saturating_loss(lambda l: -F.logsigmoid(l).mean())
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda l: None, "write your solution"),
        (lambda l: ..., "write your solution"),
        (lambda l: -F.softplus(l).mean(), "SATURATING"),
        (lambda l: torch.log(1 - torch.sigmoid(l)).mean(), "SATURATING"),
        (lambda l: F.logsigmoid(l).mean(), "Wrong sign"),
        (lambda l: F.softplus(l).mean(), "discriminator's loss on the fakes"),
        (lambda l: -torch.sigmoid(l).mean(), "without the logarithm"),
        (lambda l: -l.mean(), "hinge/Wasserstein"),
        (lambda l: F.softplus(-l).sum(), "SUM over the batch"),
        (lambda l: F.softplus(-l), "one number"),
        (lambda l: torch.tensor(F.softplus(-l).mean().item()), "requires_grad"),
        (lambda l: -torch.log(torch.sigmoid(l)).mean(), "underflows|sigmoid\\(-200\\) is 0"),
        (lambda l: F.softplus(-l).mean() + 0.1, "g_loss on six logits"),
    ],
)
def test_non_saturating_loss_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_non_saturating_loss(wrong)


def test_non_saturating_loss_hidden_check_takes_the_gradient_at_extreme_logits(capsys):
    check_non_saturating_grad(lambda l: F.softplus(-l).mean())
    check_non_saturating_grad(lambda l: F.binary_cross_entropy_with_logits(l, torch.ones_like(l)))
    check_non_saturating_grad(lambda l: -F.logsigmoid(l).mean())
    assert "Correct" in capsys.readouterr().out
    check_non_saturating_loss(wrong_answers.non_saturating_loss)  # the public check cannot tell: its value is exact
    with pytest.raises(CheckError, match="its gradient is NaN"):
        check_non_saturating_grad(wrong_answers.non_saturating_loss)


# ----- Exercise 2.4 ----------------------------------------------------------------------------------------


def good_jsd(p, q):
    m = (p + q) / 2
    return 0.5 * torch.xlogy(p, p / m).sum() + 0.5 * torch.xlogy(q, q / m).sum()


def _kl_naive(p, q):
    return (p * torch.log(p / q)).sum()


def _kl_masked(p, q):
    return torch.where(p > 0, p * (p / q).log(), torch.zeros_like(p)).sum()


def test_jsd_accepts_correct_solutions(capsys):
    check_jsd(good_jsd)
    m = lambda p, q: (p + q) / 2  # noqa: E731
    check_jsd(lambda p, q: 0.5 * _kl_masked(p, m(p, q)) + 0.5 * _kl_masked(q, m(p, q)))
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda p, q: None, "write your solution"),
        (lambda p, q: ..., "write your solution"),
        (lambda p, q: 2 * good_jsd(p, q), "factor 1/2"),
        (lambda p, q: good_jsd(p, q) / math.log(2), "bits"),
        (lambda p, q: 0.5 * _kl_masked(p, (p + q) / 2), "only the first half"),
        (lambda p, q: _kl_masked(p, (p + q) / 2), "KL\\(p \\|\\| m\\) only"),
        (
            lambda p, q: 0.5 * _kl_naive((p + q) / 2, p) + 0.5 * _kl_naive((p + q) / 2, q),
            "wrong way|NaN or infinity|0 log 0",
        ),
        (lambda p, q: 0.5 * _kl_naive(p, (p + q) / 2) + 0.5 * _kl_naive(q, (p + q) / 2), "0 log 0 = 0"),
        (lambda p, q: torch.stack([good_jsd(p, q)] * 2), "one number"),
        (lambda p, q: good_jsd(p, q) + 0.01, "jsd on"),
    ],
)
def test_jsd_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_jsd(wrong)


def test_jsd_names_the_symmetrised_kl():
    # KL(p || q) is infinite on the second case; the check must still name the mistake on the first
    with pytest.raises(CheckError, match="mixture m"):
        check_jsd(lambda p, q: 0.5 * _kl_masked(p, q) + 0.5 * _kl_masked(q, p))


# ----- The stored answers ----------------------------------------------------------------------------------


def test_reference_solutions_pass_the_checks(capsys):
    # The grader's reference solutions computed the stored answers: they must pass the checks that read them.
    from assignments.references import ch02 as ref

    check_optimal_discriminator(ref.optimal_discriminator)
    check_non_saturating_loss(ref.g_loss)
    check_jsd(ref.jsd)
    assert capsys.readouterr().out.count("Correct") == 3
