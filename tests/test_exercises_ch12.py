"""The checks of chapter 12's exercises accept correct solutions and name each common mistake."""

import pytest
import torch

from assignments.wrong_answers import ch12 as wrong
from genai_checks import CheckError, check_drop_labels, check_drop_labels_small_batches, check_guided_eps

# ----- Exercise 12.1 ----------------------------------------------------------------------------------------


def test_guided_eps_accepts_correct_solutions(capsys):
    check_guided_eps(lambda c, u, w: u + w * (c - u))
    check_guided_eps(lambda c, u, w: w * c + (1 - w) * u)
    check_guided_eps(lambda c, u, w: torch.lerp(u, c, w))
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda c, u, w: ..., "write your solution"),
        (lambda c, u, w: None, "write your solution"),
        (lambda c, u, w: c + w * (u - c), "swapped"),
        (lambda c, u, w: c + w * (c - u), r"\(1 \+ w\).*Ho & Salimans"),
        (lambda c, u, w: u + w * c, "forgot to subtract"),
        (lambda c, u, w: c + w * u - u, "wrong term"),
        (lambda c, u, w: u + (w - 1) * (c - u), "expected"),
        (lambda c, u, w: torch.stack([c, u]), "shape"),
        (lambda c, u, w: u + w * torch.tanh(c - u), "linear combination"),
    ],
)
def test_guided_eps_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_guided_eps(wrong)


# ----- Exercise 12.2 ----------------------------------------------------------------------------------------


def good_drop(y, p, null_class, *, generator=None):
    drop = torch.rand(y.shape, generator=generator) < p
    return torch.where(drop, torch.full_like(y, null_class), y)


def _inplace(y, p, null_class, *, generator=None):
    y[torch.rand(y.shape, generator=generator) < p] = null_class
    return y


def _inverted(y, p, null_class, *, generator=None):
    return torch.where(torch.rand(y.shape, generator=generator) < p, y, torch.full_like(y, null_class))


def _to_zero(y, p, null_class, *, generator=None):
    return torch.where(torch.rand(y.shape, generator=generator) < p, torch.zeros_like(y), y)


def _unseeded(y, p, null_class, *, generator=None):
    return good_drop(y, p, null_class)


def _float(y, p, null_class, *, generator=None):
    return good_drop(y, p, null_class, generator=generator).float()


def _half_rate(y, p, null_class, *, generator=None):
    return good_drop(y, p / 2, null_class, generator=generator)


def test_drop_labels_accepts_a_correct_solution(capsys):
    check_drop_labels(good_drop)
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda y, p, n, *, generator=None: ..., "write your solution"),
        (_inplace, "in place"),
        (_inverted, "about 1 - p"),
        (_to_zero, "other than the null class"),
        (_unseeded, "generator"),
        (_float, "integers"),
        (_half_rate, "expected 20%"),
    ],
)
def test_drop_labels_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_drop_labels(wrong)


def _bernoulli(y, p, null_class, *, generator=None):
    drop = torch.bernoulli(torch.full(y.shape, p), generator=generator).bool()
    return y.masked_fill(drop, null_class)


def test_drop_labels_hidden_check_wants_independent_drops_in_small_batches(capsys):
    check_drop_labels_small_batches(good_drop)
    check_drop_labels_small_batches(_bernoulli)
    assert capsys.readouterr().out.count("Correct") == 2
    with pytest.raises(CheckError, match=r"exactly 0 label\(s\) in every batch.*int\(p \* len\(y\)\)"):
        check_drop_labels_small_batches(wrong.drop_labels)
