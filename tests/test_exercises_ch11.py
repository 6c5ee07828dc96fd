"""The checks of chapter 11's exercises accept correct solutions and name each common mistake."""

import math

import pytest
import torch

from assignments.wrong_answers import ch11 as wrong
from genai_checks import CheckError, check_add_noise, check_add_noise_training_batch, check_ddim_step


def good_add_noise(x_0, eps, t, betas):
    ab = torch.cumprod(1 - betas, 0)[t].reshape(-1, *[1] * (x_0.dim() - 1))
    return ab.sqrt() * x_0 + (1 - ab).sqrt() * eps


def _with(coef_fn, sqrt=True):
    def f(x_0, eps, t, betas):
        c = coef_fn(betas)[t].reshape(-1, 1, 1, 1)
        return c.sqrt() * x_0 + (1 - c).sqrt() * eps if sqrt else c * x_0 + (1 - c) * eps

    return f


def test_add_noise_accepts_correct_solutions(capsys):
    check_add_noise(good_add_noise)
    check_add_noise(lambda x_0, eps, t, betas: good_add_noise(x_0.float(), eps.float(), t, betas.float()))
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda *a: None, "write your solution"),
        (lambda *a: ..., "write your solution"),
        (_with(lambda b: torch.cumprod(1 - b, 0), sqrt=False), "Take square roots"),
        (_with(lambda b: 1 - b), "the product over all steps"),
        (_with(lambda b: torch.cat([torch.ones(1, dtype=b.dtype), torch.cumprod(1 - b, 0)[:-1]])), "off by one"),
        (_with(lambda b: torch.cumprod(b, 0)), "cumulative product of β"),
        (lambda x_0, eps, t, b: good_add_noise(eps, x_0, t, b), "swapped x_0 and ε"),
        (
            lambda x_0, eps, t, b: (
                torch.cumprod(1 - b, 0)[t].reshape(-1, 1, 1, 1).sqrt() * x_0
                + (1 - torch.cumprod(1 - b, 0)[t].reshape(-1, 1, 1, 1)) * eps
            ),
            "missing its square root",
        ),
        (
            lambda x_0, eps, t, b: (
                torch.cumprod(1 - b, 0)[t].sqrt() * x_0 + (1 - torch.cumprod(1 - b, 0)[t]).sqrt() * eps
            ),
            "broadcasts over each image",
        ),
        (lambda x_0, eps, t, b: good_add_noise(x_0, eps, t, b) + 0.1, "sqrt"),
    ],
)
def test_add_noise_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_add_noise(wrong)


def add_noise_per_image(x_0, eps, t, betas):
    """ᾱ through a sum of logs, and one image at a time into a fresh tensor."""
    alpha_bar = (1 - betas).log().cumsum(0).exp()
    x_t = torch.empty_like(x_0)
    for i, s in enumerate(t):
        x_t[i] = alpha_bar[s].sqrt() * x_0[i] + (1 - alpha_bar[s]).sqrt() * eps[i]
    return x_t


def test_add_noise_hidden_check_leaves_the_inputs_unchanged(capsys):
    check_add_noise_training_batch(good_add_noise)
    check_add_noise_training_batch(lambda x_0, eps, t, b: good_add_noise(x_0.double(), eps.double(), t, b.double()))
    check_add_noise_training_batch(add_noise_per_image)
    assert capsys.readouterr().out.count("Correct") == 3
    with pytest.raises(CheckError, match="changed its argument eps in place"):
        check_add_noise_training_batch(wrong.add_noise)


def good_ddim(x_t, eps, ab, ab_prev):
    x0 = (x_t - math.sqrt(1 - ab) * eps) / math.sqrt(ab)
    return math.sqrt(ab_prev) * x0 + math.sqrt(1 - ab_prev) * eps


def test_ddim_step_accepts_correct_solutions(capsys):
    check_ddim_step(good_ddim)
    check_ddim_step(lambda x, e, a, ap: ap**0.5 * (x - (1 - a) ** 0.5 * e) / a**0.5 + (1 - ap) ** 0.5 * e)
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda *a: None, "write your solution"),
        (lambda *a: ..., "write your solution"),
        (lambda x, e, a, ap: good_ddim(x, e, a, a), "used ᾱ_t where ᾱ_prev belongs"),
        (lambda x, e, a, ap: (x - math.sqrt(1 - a) * e) / math.sqrt(a), "returned x̂_0"),
        (lambda x, e, a, ap: ap * (x - math.sqrt(1 - a) * e) / math.sqrt(a) + (1 - ap) * e, "missing square roots"),
        (lambda x, e, a, ap: math.sqrt(ap) * x + math.sqrt(1 - ap) * e, "scaled x_t where x̂_0 belongs"),
        (lambda x, e, a, ap: math.sqrt(ap) * (x - (1 - a) * e) / a + math.sqrt(1 - ap) * e, "x̂_0 is missing"),
        (lambda x, e, a, ap: good_ddim(x, e, ap, a), "swapped ᾱ_t and ᾱ_prev"),
        (lambda x, e, a, ap: good_ddim(x, e, a, ap) * 1.1, "expected"),
    ],
)
def test_ddim_step_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_ddim_step(wrong)
