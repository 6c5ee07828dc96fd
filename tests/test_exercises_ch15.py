"""The checks of chapter 15's exercises accept correct solutions and name each common mistake."""

import math

import pytest
import torch

from assignments.wrong_answers import ch15 as wrong_ch15
from genai_checks import CheckError, check_exact_match, check_exact_match_reordered, check_wilson_interval
from genai_lib.metrics import caption_accuracy

# ----- Exercise 15.1 ---------------------------------------------------------------------------------------


def good_exact(predicted, asked):
    return torch.stack([predicted[a] == asked[a] for a in asked]).all(dim=0).float().mean().item()


def test_exact_match_accepts_correct_solutions(capsys):
    check_exact_match(good_exact)
    check_exact_match(lambda p, q: caption_accuracy(p, q)["exact"])
    check_exact_match(lambda p, q: torch.stack([p[a] == q[a] for a in q]).all(0).double().mean())  # a tensor is fine
    assert "Correct" in capsys.readouterr().out


def _hits(p, q):
    return torch.stack([p[a] == q[a] for a in q]).float()


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda p, q: None, "write your solution"),
        (lambda p, q: ..., "write your solution"),
        (lambda p, q: _hits(p, q).all(0).sum().item(), "divide by the number of images"),
        (lambda p, q: _hits(p, q).mean(1).prod().item(), "multiplied the per-attribute accuracies"),
        (lambda p, q: _hits(p, q).mean().item(), "averaged the per-attribute accuracies"),
        (lambda p, q: _hits(p, q).amax(0).mean().item(), "at least one attribute right"),
        (lambda p, q: 0.5, "exact_match on"),
    ],
)
def test_exact_match_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_exact_match(wrong)


def test_exact_match_hidden_check_on_reordered_attributes(capsys):
    check_exact_match_reordered(good_exact)
    check_exact_match_reordered(lambda p, q: caption_accuracy(p, q)["exact"])
    assert "Correct" in capsys.readouterr().out
    with pytest.raises(CheckError, match="by attribute name"):
        check_exact_match_reordered(wrong_ch15.exact_match)


# ----- Exercise 15.2 ---------------------------------------------------------------------------------------


def good_wilson(k, n, z=1.96):
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return centre - half, centre + half


def _wald(k, n, z):
    p = k / n
    s = z * math.sqrt(p * (1 - p) / n)
    return p - s, p + s


def _centred_on_p(k, n, z):
    lo, hi = good_wilson(k, n, z)
    return k / n - (hi - lo) / 2, k / n + (hi - lo) / 2


def _no_factor(k, n, z):
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return centre - half, centre + half


def test_wilson_accepts_correct_solutions(capsys):
    check_wilson_interval(good_wilson)
    check_wilson_interval(lambda k, n, z: [torch.tensor(v) for v in good_wilson(k, n, z)])
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda k, n, z: None, "write your solution"),
        (lambda k, n, z: ..., "write your solution"),
        (lambda k, n, z: good_wilson(k, n, z)[0], "should return a pair"),
        (lambda k, n, z: good_wilson(k, n, z)[::-1], "low=.* > high"),
        (_wald, "Wald interval"),
        (_centred_on_p, "centred on p"),
        (_no_factor, r"misses the factor 1 / \(1 \+ z²/n\)"),
        (lambda k, n, z: good_wilson(k, n, 1.96), "the interval for k=3, n=20, z=1.0"),
    ],
)
def test_wilson_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_wilson_interval(wrong)
