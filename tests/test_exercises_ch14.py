"""The checks of chapter 14's exercises accept correct solutions and name each common mistake."""

import pytest
import torch

from assignments.wrong_answers import ch14 as wrong_ch14
from genai_checks import (
    CheckError,
    check_ar_sequences,
    check_guided_logits,
    check_guided_logits_masked,
    check_positions_processed,
)

# ----- Exercise 14.1 ----------------------------------------------------------------------------------------


def good_sequences(ids, tokens, offset, ignore_index):
    S = ids.size(1)
    seq = torch.cat([ids, tokens.flatten(1) + offset], dim=1)
    targets = seq[:, 1:].clone()
    targets[:, : S - 1] = ignore_index
    return seq[:, :-1], targets


def test_ar_sequences_accepts_correct_solutions(capsys):
    check_ar_sequences(good_sequences)
    check_ar_sequences(lambda i, t, o, ig: [x.int() for x in good_sequences(i, t, o, ig)])
    assert "Correct" in capsys.readouterr().out


def _no_offset(ids, tokens, offset, ig):
    return good_sequences(ids, tokens, 0, ig)


def _column_order(ids, tokens, offset, ig):
    return good_sequences(ids, tokens.transpose(1, 2), offset, ig)


def _full_length(ids, tokens, offset, ig):
    seq = torch.cat([ids, tokens.flatten(1) + offset], 1)
    return seq, seq


def _targets_are_inputs(ids, tokens, offset, ig):
    x, _ = good_sequences(ids, tokens, offset, ig)
    return x, x.clone()


def _captions_kept(ids, tokens, offset, ig):
    seq = torch.cat([ids, tokens.flatten(1) + offset], 1)
    return seq[:, :-1], seq[:, 1:]


def _raw_targets(ids, tokens, offset, ig):
    x, y = good_sequences(ids, tokens, offset, ig)
    return x, torch.where(y == ig, y, y - offset)


def _one_too_many(ids, tokens, offset, ig):
    x, y = good_sequences(ids, tokens, offset, ig)
    y[:, ids.size(1) - 1] = ig
    return x, y


def _one_too_few(ids, tokens, offset, ig):
    seq = torch.cat([ids, tokens.flatten(1) + offset], 1)
    y = seq[:, 1:].clone()
    y[:, : ids.size(1) - 2] = ig
    return seq[:, :-1], y


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda *a: None, "write your solution"),
        (lambda *a: ..., "write your solution"),
        (lambda i, t, o, ig: good_sequences(i, t, o, ig)[0], "should return a pair"),
        (_no_offset, "add the offset"),
        (_column_order, "column order"),
        (_full_length, r"drop the last token"),
        (_targets_are_inputs, "targets equal your inputs"),
        (_captions_kept, "include the caption's words"),
        (_raw_targets, "raw code ids"),
        (_one_too_many, "one too many"),
        (_one_too_few, "ignored only"),
    ],
)
def test_ar_sequences_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_ar_sequences(wrong)


# ----- Exercise 14.2 ----------------------------------------------------------------------------------------


def test_guided_logits_accepts_correct_solutions(capsys):
    check_guided_logits(lambda c, u, w: u + w * (c - u))
    check_guided_logits(lambda c, u, w: (1 - w) * u + w * c)
    check_guided_logits(lambda c, u, w: u.log_softmax(-1) + w * (c.log_softmax(-1) - u.log_softmax(-1)))
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda c, u, w: None, "write your solution"),
        (lambda c, u, w: ..., "write your solution"),
        (lambda c, u, w: c + w * (u - c), "swap them"),
        (lambda c, u, w: u + (1 + w) * (c - u), r"\(1 \+ w\)"),
        (lambda c, u, w: u.softmax(-1) + w * (c.softmax(-1) - u.softmax(-1)), "combined probabilities"),
        (lambda c, u, w: w * c, "temperature 1/w"),
        (lambda c, u, w: (u + w * (c - u))[:1], "returned shape"),
        (lambda c, u, w: u + w * (c - u) ** 2, "guided logits"),
    ],
)
def test_guided_logits_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_guided_logits(wrong)


def test_guided_logits_hidden_check_on_masked_logits(capsys):
    check_guided_logits_masked(lambda c, u, w: u + w * (c - u))
    check_guided_logits_masked(lambda c, u, w: u.log_softmax(-1) + w * (c.log_softmax(-1) - u.log_softmax(-1)))
    assert "Correct" in capsys.readouterr().out
    with pytest.raises(CheckError, match=r"NaN or infinity\. Did you take the log of softmax"):
        check_guided_logits_masked(wrong_ch14.guided_logits)


# ----- Exercise 14.3 ----------------------------------------------------------------------------------------


def good_positions(S, n, kv_cache):
    return S + n - 1 if kv_cache else n * S + n * (n - 1) // 2


def test_positions_processed_accepts_correct_solutions(capsys):
    check_positions_processed(good_positions)
    check_positions_processed(lambda S, n, c: sum(S + t for t in range(n)) if not c else S + n - 1)
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda S, n, c: None, "write your solution"),
        (lambda S, n, c: ..., "write your solution"),
        (lambda S, n, c: S + n - 1 if c else sum(S + t + 1 for t in range(n)), "one position too many"),
        (lambda S, n, c: S + n - 1 if c else n * (n - 1) // 2, "forgot the caption"),
        (lambda S, n, c: S + n - 1 if c else n * (S + n - 1), "triangle, not a rectangle"),
        (lambda S, n, c: S + n if c else good_positions(S, n, c), "never fed back"),
        (lambda S, n, c: n if c else good_positions(S, n, c), "forgot the first pass"),
        (lambda S, n, c: 2 * good_positions(S, n, c), "expected"),
    ],
)
def test_positions_processed_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_positions_processed(wrong)
