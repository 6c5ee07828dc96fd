"""The checks of chapter 18's exercises accept correct solutions and name each common mistake."""

import pytest
import torch

from assignments.wrong_answers import ch18 as wrong_ch18
from genai_checks import (
    CheckError,
    check_parallel_fifths,
    check_parallel_fifths_compound,
    check_voice_tokens,
    check_voice_tokens_other_low,
)
from genai_lib.data.chorale_tokens import ChoraleTokenizer
from genai_lib.data.chorales import Chorale
from genai_lib.music_metrics import parallel_perfects

# ----- Exercise 18.1 ----------------------------------------------------------------------------------------


def good_tokens(pitches, onsets, low):
    starts = torch.where(pitches >= 0, 3 + pitches - low, 1)
    return torch.where(onsets, starts, 2).long()


def masked_tokens(pitches, onsets, low):  # another correct way: start from <hold> and fill in the onsets
    tokens = torch.full_like(pitches, 2)
    notes = onsets & (pitches >= 0)
    tokens[notes] = 3 + pitches[notes] - low
    tokens[onsets & (pitches < 0)] = 1
    return tokens


def loop_tokens(pitches, onsets, low):  # a slow but correct version, one step at a time, returning a list
    out = []
    for p, starts in zip(pitches.tolist(), onsets.tolist(), strict=True):
        out.append(2 if not starts else 1 if p < 0 else 3 + p - low)
    return out


def library_tokens(pitches, onsets, low):  # the chapter's tokenizer on a chorale of four copies of the voice
    chorale = Chorale("voice", pitches.repeat(4, 1), onsets.repeat(4, 1))
    return ChoraleTokenizer(low=low, high=127).encode(chorale)[1::4]


def test_voice_tokens_accepts_correct_solutions(capsys):
    for solution in (good_tokens, masked_tokens, loop_tokens, library_tokens):
        check_voice_tokens(solution)
    assert capsys.readouterr().out.count("Correct") == 4


def _where(note, rest, hold):
    """Tokens built from note(p, low), with rest where a rest starts and hold elsewhere."""
    return lambda p, o, low: torch.where(o, torch.where(p >= 0, note(p, low), rest), hold).long()


def same_pitch(pitches, onsets, low):
    changed = torch.cat([torch.tensor([True]), pitches[1:] != pitches[:-1]])
    return good_tokens(pitches, changed, low)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda p, o, low: None, "write your solution"),
        (lambda p, o, low: ..., "write your solution"),
        (lambda p, o, low: torch.where(p >= 0, 3 + p - low, 1), "at every step it sounds"),
        (lambda p, o, low: torch.where(p >= 0, 3 + p - low, torch.where(o, 1, 2)), "at every step it sounds"),
        (_where(lambda p, low: p - low, 1, 2), "pitch - low.*3 \\+ pitch - low"),
        (_where(lambda p, low: 3 + p, 1, 2), "subtract low"),
        (lambda p, o, low: torch.where(p < 0, 1, good_tokens(p, o, low)), "every silent step"),
        (same_pitch, "struck again at the same pitch"),
        (_where(lambda p, low: 3 + p - low, 2, 1), "swapped <rest> and <hold>"),
        (lambda p, o, low: good_tokens(p, o, low).float(), "float32 tokens.*int64"),
        (lambda p, o, low: good_tokens(p, o, low).int(), "int32 tokens.*int64"),
        (lambda p, o, low: good_tokens(p, o, low)[None], r"shape \(1, \d+\), expected \(\d+,\)"),
        (lambda p, o, low: torch.cat([torch.tensor([0]), good_tokens(p, o, low)]), "<bos> first"),
        (lambda p, o, low: good_tokens(p, o, low) + (p == 81), "at step 5 .*expected 48"),
    ],
)
def test_voice_tokens_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_voice_tokens(wrong)


def test_voice_tokens_hidden_check_on_another_lowest_pitch(capsys):
    for solution in (good_tokens, masked_tokens, loop_tokens, library_tokens):
        check_voice_tokens_other_low(solution)
    assert capsys.readouterr().out.count("Correct") == 4
    check_voice_tokens(wrong_ch18.voice_tokens)  # the wrong answer passes the public check ...
    with pytest.raises(CheckError, match="off by 4, the distance from 36 to low.*not a fixed 36"):
        check_voice_tokens_other_low(wrong_ch18.voice_tokens)  # ... and fails the hidden one


# ----- Exercise 18.2 ----------------------------------------------------------------------------------------


def good_fifths(upper, lower):
    up, down = (upper[1:] - upper[:-1]).sign(), (lower[1:] - lower[:-1]).sign()
    fifth = (upper - lower) % 12 == 7
    return int(((up != 0) & (up == down) & fifth[:-1] & fifth[1:]).sum())


def loop_fifths(upper, lower):  # a loop over the moves, with plain ints
    u, lo, count = upper.tolist(), lower.tolist(), 0
    for i in range(1, len(u)):
        du, dl = u[i] - u[i - 1], lo[i] - lo[i - 1]
        if du * dl > 0 and (u[i - 1] - lo[i - 1]) % 12 == 7 and (u[i] - lo[i]) % 12 == 7:
            count += 1
    return count


def library_fifths(upper, lower):  # the chapter's metric on a two-voice piece in which every sonority is new
    pitches = torch.stack([upper, lower])
    return parallel_perfects(pitches, torch.ones_like(pitches, dtype=torch.bool))["fifths"]


def tensor_fifths(upper, lower):  # a 0-d tensor is fine
    up, down = (upper[1:] - upper[:-1]).sign(), (lower[1:] - lower[:-1]).sign()
    fifth = (upper - lower).remainder(12) == 7
    return ((up * down > 0) & fifth[:-1] & fifth[1:]).sum()


def diff_fifths(upper, lower):  # the product of the steps is positive where both move the same way
    fifth = (upper - lower) % 12 == 7
    return int(((upper.diff() * lower.diff() > 0) & fifth[:-1] & fifth[1:]).sum())


def test_parallel_fifths_accepts_correct_solutions(capsys):
    for solution in (good_fifths, loop_fifths, library_fifths, tensor_fifths, diff_fifths):
        check_parallel_fifths(solution)
    check_parallel_fifths(lambda u, lo: float(good_fifths(u, lo)))  # a whole float is a count too
    assert capsys.readouterr().out.count("Correct") == 6


def _rule(rule):
    """A count of the moves for which rule(up, down, before, after) holds (directions, intervals mod 12)."""

    def count(upper, lower):
        interval = (upper - lower) % 12
        up, down = (upper[1:] - upper[:-1]).sign(), (lower[1:] - lower[:-1]).sign()
        return int(rule(up, down, interval[:-1], interval[1:]).sum())

    return count


def _parallel(up, down, before, after):
    return (up != 0) & (up == down) & (before == 7) & (after == 7)


def sonorities(upper, lower):
    interval = (upper - lower) % 12
    up, down = (upper[1:] - upper[:-1]).sign(), (lower[1:] - lower[:-1]).sign()
    mask = _parallel(up, down, interval[:-1], interval[1:])
    no = torch.tensor([False])
    return int((torch.cat([mask, no]) | torch.cat([no, mask])).sum())


def missed_last(upper, lower):
    return good_fifths(upper[:-1], lower[:-1])


def wrap(upper, lower):
    return good_fifths(torch.cat([upper[-1:], upper]), torch.cat([lower[-1:], lower]))


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda u, lo: None, "write your solution"),
        (lambda u, lo: ..., "write your solution"),
        (_rule(lambda up, dn, b, a: (b == 7) & (a == 7)), "held or repeated"),
        (_rule(lambda up, dn, b, a: (up != 0) & (dn != 0) & (a == 7)), "contrary motion"),
        (_rule(lambda up, dn, b, a: (up != 0) & (up == dn) & (a == 7)), "direct \\(or hidden\\) fifth"),
        (_rule(lambda up, dn, b, a: (up != 0) & (up == dn) & (b == 7)), "fifth left in similar motion"),
        (_rule(lambda up, dn, b, a: _parallel(up, dn, b, a) | (up != 0) & (up == dn) & (b == 0) & (a == 0)), "octaves"),
        (
            _rule(lambda up, dn, b, a: (b == 7) & (a == 7) | (up != 0) & (up == dn) & (b == 0) & (a == 0)),
            "held or repeated",  # two mistakes at once: the first case that fails names its own
        ),
        (sonorities, "Off by one: you counted the sonorities"),
        (lambda u, lo: int(((u - lo) % 12 == 7).sum()), "counted the sonorities that are fifths"),
        (missed_last, "missed the move into the last sonority"),
        (wrap, "compared the last sonority with the first"),
        (lambda u, lo: good_fifths(u, lo) + 1, "expected 2"),
        (lambda u, lo: torch.tensor([good_fifths(u, lo)] * 2), "one count"),
        (lambda u, lo: good_fifths(u, lo) > 0, "bool"),
        (lambda u, lo: torch.tensor(good_fifths(u, lo) > 0), "bool"),
        (lambda u, lo: good_fifths(u, lo) / 2, "whole number"),
        (lambda u, lo: str(good_fifths(u, lo)), "should return an int"),
    ],
)
def test_parallel_fifths_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_parallel_fifths(wrong)


def test_parallel_fifths_hidden_check_on_compound_fifths(capsys):
    for solution in (good_fifths, loop_fifths, library_fifths, tensor_fifths, diff_fifths):
        check_parallel_fifths_compound(solution)
    assert capsys.readouterr().out.count("Correct") == 5
    check_parallel_fifths(wrong_ch18.count_parallel_fifths)  # the wrong answer passes the public check ...
    with pytest.raises(CheckError, match="twelfth.*% 12 == 7, not upper - lower == 7"):
        check_parallel_fifths_compound(wrong_ch18.count_parallel_fifths)  # ... and fails the hidden one
    with pytest.raises(CheckError, match="same direction"):  # contrary motion from a fifth to a twelfth
        check_parallel_fifths_compound(_rule(lambda up, dn, b, a: (up != 0) & (dn != 0) & (b == 7) & (a == 7)))
