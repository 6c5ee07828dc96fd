"""The checks of chapter 05's exercises accept correct solutions and name each common mistake."""

import pytest
import torch
import torch.nn.functional as F

from genai_checks import CheckError, check_gaussian_kl, check_negative_elbo, check_reparameterize
from genai_lib.losses import gaussian_kl

# ----- Exercise 5.1 ----------------------------------------------------------------------------------------


def good_kl(mu, logvar):
    return 0.5 * (mu.square() + logvar.exp() - logvar - 1).sum(-1)


def test_gaussian_kl_accepts_correct_solutions(capsys):
    check_gaussian_kl(good_kl)
    check_gaussian_kl(gaussian_kl)  # the library's version
    check_gaussian_kl(lambda mu, lv: -0.5 * torch.sum(1 + lv - mu**2 - torch.exp(lv), dim=1))  # Kingma & Welling
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda mu, lv: None, "write your solution"),
        (lambda mu, lv: ..., "write your solution"),
        (lambda mu, lv: 2 * good_kl(mu, lv), "factor 1/2"),
        (lambda mu, lv: -good_kl(mu, lv), "wrong sign"),
        (lambda mu, lv: 0.5 * (mu**2 + (2 * lv).exp() - 2 * lv - 1).sum(-1), "treated logvar as log sigma"),
        (lambda mu, lv: 0.5 * (mu**2 + (0.5 * lv).exp() - lv - 1).sum(-1), "needs the variance"),
        (lambda mu, lv: 0.5 * (mu**2 + lv.exp() - 0.5 * lv - 1).sum(-1), "log sigma\\^2 = logvar"),
        (lambda mu, lv: 0.5 * (mu**2 + lv.exp() + lv - 1).sum(-1), "log-variance term has the wrong sign"),
        (lambda mu, lv: 0.5 * (mu**2 + lv.exp() - lv).sum(-1), "missing the -1"),
        (lambda mu, lv: 0.5 * (mu**2 + lv.exp() - lv - 1).mean(-1), "SUM over dimensions"),
        (lambda mu, lv: 0.5 * (mu + lv.exp() - lv - 1).sum(-1), "mu\\^2, not mu"),
        (lambda mu, lv: 0.5 * (mu**2 + lv.exp() - lv - 1), "Sum over the last dimension"),
        (lambda mu, lv: good_kl(mu, lv).sum(), "reduced over the batch"),
        (lambda mu, lv: 1.01 * good_kl(mu, lv), "largest difference"),
    ],
)
def test_gaussian_kl_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_gaussian_kl(wrong)


# ----- Exercise 5.2 ----------------------------------------------------------------------------------------


def good_reparameterize(mu, logvar):
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


def test_reparameterize_accepts_correct_solutions(capsys):
    check_reparameterize(good_reparameterize)
    check_reparameterize(lambda mu, lv: torch.distributions.Normal(mu, (0.5 * lv).exp()).rsample())
    check_reparameterize(lambda mu, lv: mu + lv.mul(0.5).exp() * torch.randn(mu.shape))
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda mu, lv: None, "write your solution"),
        (lambda mu, lv: ..., "write your solution"),
        (lambda mu, lv: good_reparameterize(mu, lv)[0], "expected \\(20000, 4\\)"),
        (lambda mu, lv: mu, "no randomness"),
        (lambda mu, lv: torch.exp(0.5 * lv) * torch.randn_like(mu), "forgot to add mu"),
        (lambda mu, lv: mu + torch.exp(lv) * torch.randn_like(mu), "exp\\(logvar\\) = sigma\\^2, the variance"),
        (lambda mu, lv: mu + torch.randn_like(mu), "forgot to multiply eps by sigma"),
        (lambda mu, lv: mu + torch.exp(0.5 * lv).sqrt() * torch.randn_like(mu), "square root twice"),
        (lambda mu, lv: mu + lv * torch.randn_like(mu), "logvar itself"),
        (lambda mu, lv: mu + torch.exp(0.5 * lv) * torch.randn(mu.shape[0], 1), "same number"),
        (lambda mu, lv: mu + torch.exp(0.5 * lv) * torch.randn(1, mu.shape[1]), "Every example got the same eps"),
        (lambda mu, lv: good_reparameterize(mu, lv).detach(), "carries no gradient"),
        (lambda mu, lv: torch.normal(mu, torch.exp(0.5 * lv)), "torch.normal"),
        (lambda mu, lv: mu + torch.exp(0.5 * lv.detach()) * torch.randn_like(mu), "No gradient reaches logvar"),
    ],
)
def test_reparameterize_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_reparameterize(wrong)


# ----- Exercise 5.3 ----------------------------------------------------------------------------------------


def bce_sum(logits, x):
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def good_neg_elbo(logits, x, mu, logvar):
    return (bce_sum(logits, x) + good_kl(mu, logvar)).mean()


def test_negative_elbo_accepts_correct_solutions(capsys):
    check_negative_elbo(good_neg_elbo)
    check_negative_elbo(
        lambda lg, x, mu, lv: (
            (F.binary_cross_entropy_with_logits(lg, x, reduction="sum") + gaussian_kl(mu, lv).sum()) / len(x)
        )
    )
    assert "Correct" in capsys.readouterr().out


def sigmoid_then_bce(logits, x, mu, logvar):
    recon = F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="none").flatten(1).sum(1)
    return (recon + good_kl(mu, logvar)).mean()


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda *a: None, "write your solution"),
        (lambda lg, x, mu, lv: bce_sum(lg, x) + good_kl(mu, lv), "return one number"),
        (lambda lg, x, mu, lv: -good_neg_elbo(lg, x, mu, lv), "returned the ELBO itself"),
        (lambda lg, x, mu, lv: (bce_sum(lg, x) - good_kl(mu, lv)).mean(), "KL term has the wrong sign"),
        (
            lambda lg, x, mu, lv: F.binary_cross_entropy_with_logits(lg, x) + good_kl(mu, lv).mean(),
            "multiplies the KL weight by the number of pixels",
        ),
        (
            lambda lg, x, mu, lv: F.binary_cross_entropy_with_logits(lg, x) + good_kl(mu, lv).mean() / mu.shape[1],
            "averaged both terms",
        ),
        (lambda lg, x, mu, lv: (bce_sum(lg, x) + good_kl(mu, lv) / mu.shape[1]).mean(), "averaged the KL"),
        (lambda lg, x, mu, lv: (bce_sum(lg, x) + good_kl(mu, lv)).sum(), "summed over the batch"),
        (lambda lg, x, mu, lv: bce_sum(lg, x).mean(), "KL term is missing"),
        (lambda lg, x, mu, lv: (bce_sum(lg, x) + 2 * good_kl(mu, lv)).mean(), "twice too big"),
        (sigmoid_then_bce, "binary_cross_entropy_with_logits"),
        (lambda lg, x, mu, lv: 1.01 * good_neg_elbo(lg, x, mu, lv), "largest difference"),
    ],
)
def test_negative_elbo_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_negative_elbo(wrong)


# ----- The stored answers ----------------------------------------------------------------------------------


def test_reference_solutions_pass_the_checks(capsys):
    # The grader's reference solutions computed the stored answers: they must pass the checks that read them.
    from assignments.references import ch05 as ref

    check_gaussian_kl(ref.gaussian_kl)
    check_negative_elbo(ref.negative_elbo)
    assert capsys.readouterr().out.count("Correct") == 2
