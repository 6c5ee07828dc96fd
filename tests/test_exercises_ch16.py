"""The checks of chapter 16's exercises accept correct solutions and name each common mistake."""

import pytest
import torch

from assignments.wrong_answers import ch16 as wrong_ch16
from genai_checks import CheckError, check_longest_verbatim, check_longest_verbatim_inside, check_memorisation_rate

# ----- Exercise 16.2 ---------------------------------------------------------------------------------------


def good_rate(d_samples, d_held, quantile):
    return (d_samples < torch.quantile(d_held, quantile)).float().mean().item()


def test_memorisation_rate_accepts_correct_solutions(capsys):
    check_memorisation_rate(good_rate)
    check_memorisation_rate(lambda s, h, q: (s <= torch.quantile(h, q)).double().mean())  # a 0-d tensor is fine
    check_memorisation_rate(lambda s, h, q: sum(float(d) < torch.quantile(h, q).item() for d in s) / len(s))
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda s, h, q: None, "write your solution"),
        (lambda s, h, q: ..., "write your solution"),
        (lambda s, h, q: (s > torch.quantile(h, q)).float().mean().item(), "farther"),
        (lambda s, h, q: good_rate(s, h, 1 - q), "upper tail"),
        (lambda s, h, q: good_rate(s, s, q), "samples' own distances"),
        (lambda s, h, q: (s < torch.quantile(h, q)).sum().item(), "returned a count"),
        (lambda s, h, q: (s < h.median()).float().mean().item(), "median"),
        (lambda s, h, q: (s < h.mean()).float().mean().item(), "mean of the held-out"),
        (lambda s, h, q: (s < q).float().mean().item(), "compared the distances with the number q"),
        (lambda s, h, q: (s < torch.quantile(h, q)).float(), "one number"),
    ],
)
def test_memorisation_rate_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_memorisation_rate(wrong)


# ----- Exercise 16.3 ---------------------------------------------------------------------------------------


def good_longest(sample, reference):
    best = 0
    for i in range(len(sample)):
        for j in range(i + best + 1, len(sample) + 1):
            if sample[i:j] in reference:
                best = j - i
            else:
                break
    return best


def test_longest_verbatim_accepts_correct_solutions(capsys):
    check_longest_verbatim(good_longest)
    # brute force over all substrings is fine too
    check_longest_verbatim(
        lambda s, r: max([j - i for i in range(len(s)) for j in range(i + 1, len(s) + 1) if s[i:j] in r], default=0)
    )
    assert "Correct" in capsys.readouterr().out


def prefix_only(sample, reference):
    n = 0
    while n < len(sample) and sample[: n + 1] in reference:
        n += 1
    return n


def longest_string(sample, reference):
    best = ""
    for i in range(len(sample)):
        for j in range(i + 1, len(sample) + 1):
            if sample[i:j] in reference and j - i > len(best):
                best = sample[i:j]
    return best


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda s, r: None, "write your solution"),
        (lambda s, r: ..., "write your solution"),
        (prefix_only, "starts at the first character"),
        (lambda s, r: good_longest(s, r) + 1, "off by one"),
        (lambda s, r: max(good_longest(s, r) - 1, 0), "off by one"),
        (longest_string, "return its length"),
        (lambda s, r: len(s) if s in r else 0, "expected"),
    ],
)
def test_longest_verbatim_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_longest_verbatim(wrong)


def test_longest_verbatim_hidden_check_on_a_match_inside_a_match(capsys):
    check_longest_verbatim_inside(good_longest)
    check_longest_verbatim_inside(
        lambda s, r: max([j - i for i in range(len(s)) for j in range(i + 1, len(s) + 1) if s[i:j] in r], default=0)
    )
    assert "Correct" in capsys.readouterr().out
    with pytest.raises(CheckError, match="returned 8, expected 11.*every start position"):
        check_longest_verbatim_inside(wrong_ch16.longest_verbatim)
