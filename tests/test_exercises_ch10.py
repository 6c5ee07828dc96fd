"""The checks of chapter 10's exercises accept correct solutions and name each common mistake."""

import math

import pytest
import torch

from assignments.wrong_answers import ch10 as wrong
from genai_checks import (
    CheckError,
    check_apply_temperature,
    check_apply_temperature_rows,
    check_loss_per_char,
    check_top_p_probs,
)
from genai_lib.sample import filtered_probs

# ----- Exercise 10.1 ----------------------------------------------------------------------------------------


def test_apply_temperature_accepts_correct_solutions(capsys):
    check_apply_temperature(lambda z, T: torch.softmax(z / T, dim=-1))
    check_apply_temperature(lambda z, T: filtered_probs(z, temperature=T))  # the library's, in float32
    check_apply_temperature(lambda z, T: torch.log_softmax(z / T, dim=-1).exp())
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda z, T: None, "write your solution"),
        (lambda z, T: ..., "write your solution"),
        (lambda z, T: torch.softmax(z * T, dim=-1), "multiplied the logits by the temperature"),
        (lambda z, T: z / T, "scaled logits z / τ, not probabilities"),
        (lambda z, T: torch.softmax(z, dim=-1) / T, "before\\* the softmax"),
        (lambda z, T: torch.softmax(z, dim=-1), "the temperature was ignored"),
        (lambda z, T: torch.softmax(z / T, dim=0), "dim=-1"),
        (lambda z, T: (z / T).exp() / (z / T).exp().sum(-1, keepdim=True), "overflows"),
        (lambda z, T: torch.softmax(z / T, dim=-1).sum(-1), "returned shape"),
    ],
)
def test_apply_temperature_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_apply_temperature(wrong)


def stable_softmax(z, T):
    z = z / T
    e = (z - z.max(dim=-1, keepdim=True).values).exp()  # each row's own maximum
    return e / e.sum(dim=-1, keepdim=True)


def test_apply_temperature_hidden_check_normalises_each_row_on_its_own(capsys):
    check_apply_temperature_rows(lambda z, T: torch.softmax(z / T, dim=-1))
    check_apply_temperature_rows(stable_softmax)
    check_apply_temperature_rows(lambda z, T: filtered_probs(z, temperature=T))  # the library's, in float32
    check_apply_temperature_rows(lambda z, T: torch.log_softmax(z.double() / T, dim=-1).exp())  # float64 is fine
    assert capsys.readouterr().out.count("Correct") == 4
    with pytest.raises(CheckError, match=r"each row's own, z.max\(dim=-1, keepdim=True\).values"):
        check_apply_temperature_rows(wrong.apply_temperature)


# ----- Exercise 10.2 ----------------------------------------------------------------------------------------


def good_top_p(probs, p):
    sorted_probs, order = probs.sort(descending=True)
    keep_sorted = (sorted_probs.cumsum(0) - sorted_probs) < p
    keep = torch.zeros_like(keep_sorted).scatter(0, order, keep_sorted)
    kept = torch.where(keep, probs, torch.zeros_like(probs))
    return kept / kept.sum()


def off_by_one(probs, p):
    sorted_probs, order = probs.sort(descending=True)
    keep_sorted = sorted_probs.cumsum(0) < p
    keep_sorted[0] = True
    keep = torch.zeros_like(keep_sorted).scatter(0, order, keep_sorted)
    kept = torch.where(keep, probs, torch.zeros_like(probs))
    return kept / kept.sum()


def unsorted_indexing(probs, p):
    sorted_probs, _ = probs.sort(descending=True)
    keep = (sorted_probs.cumsum(0) - sorted_probs) < p  # sorted order, applied to the original order
    kept = torch.where(keep, probs, torch.zeros_like(probs))
    return kept / kept.sum()


def no_renormalise(probs, p):
    out = good_top_p(probs, p)
    return out * probs[out > 0].sum()


def in_place(probs, p):
    result = good_top_p(probs, p)
    probs[result == 0] = 0.0
    return result


def tail(probs, p):
    sorted_probs, order = probs.sort(descending=False)
    keep_sorted = (sorted_probs.cumsum(0) - sorted_probs) < 1 - p
    keep = torch.zeros_like(keep_sorted).scatter(0, order, keep_sorted)
    kept = torch.where(keep, probs, torch.zeros_like(probs))
    return kept / kept.sum()


def test_top_p_accepts_correct_solutions(capsys):
    check_top_p_probs(good_top_p)
    check_top_p_probs(lambda probs, p: filtered_probs(probs.log(), top_p=p))  # the library's filter
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda probs, p: None, "write your solution"),
        (lambda probs, p: ..., "write your solution"),
        (off_by_one, "dropped the token that takes the running sum past p"),
        (unsorted_indexing, "mask was computed in sorted order"),
        (no_renormalise, "forgot to renormalise"),
        (in_place, "changed its input"),
        (lambda probs, p: good_top_p(probs, p)[:2], "returned shape"),
        (lambda probs, p: probs / probs.sum(), "top_p_probs on"),
    ],
)
def test_top_p_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_top_p_probs(wrong)


def test_top_p_names_the_kept_tail():
    with pytest.raises(CheckError, match="kept the tail|top_p_probs on"):
        check_top_p_probs(tail)


# ----- Exercise 10.3 ----------------------------------------------------------------------------------------


def test_loss_per_char_accepts_correct_solutions(capsys):
    check_loss_per_char(lambda losses, texts: losses.sum() / sum(len(s) for s in texts))
    check_loss_per_char(lambda losses, texts: float(losses.mean()) * len(texts) / len("".join(texts)))
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda losses, texts: None, "write your solution"),
        (lambda losses, texts: ..., "write your solution"),
        (lambda losses, texts: losses.mean(), "mean loss per \\*token\\*"),
        (lambda losses, texts: losses.sum() / sum(len(s) for s in texts) / math.log(2), "in bits"),
        (
            lambda losses, texts: sum(l / len(s) for l, s in zip(losses.tolist(), texts, strict=True)) / len(texts),
            "weights short tokens too much",
        ),
        (lambda losses, texts: losses.sum() / sum(len(s.encode()) for s in texts), "counted UTF-8 bytes"),
        (lambda losses, texts: losses.mean() / sum(len(s) for s in texts), "divided the mean loss per token"),
        (lambda losses, texts: losses.sum() + 1, "expected"),
        (lambda losses, texts: "x", "should return a number"),
    ],
)
def test_loss_per_char_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_loss_per_char(wrong)
