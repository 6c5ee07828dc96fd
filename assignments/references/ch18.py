"""Reference solutions for chapter 18's checks (the grid tokens of a voice, parallel fifths), with the common
mistakes."""

import torch

from genai_checks.ch18 import (
    FIFTHS_CASES,
    FIFTHS_COMPOUND_CASES,
    FIFTHS_MISTAKES,
    VOICE_MISTAKES,
    voice_cases,
    voice_cases_other_low,
)

REST_TOKEN, HOLD, SPECIALS = 1, 2, 3  # <bos> = 0, <rest> = 1, <hold> = 2, then the pitches


def voice_tokens(pitches: torch.Tensor, onsets: torch.Tensor, low: int) -> torch.Tensor:
    """The grid tokens of one voice: 3 + pitch - low where a note starts, 1 where a rest starts, else 2."""
    starts = torch.where(pitches >= 0, SPECIALS + pitches - low, REST_TOKEN)
    return torch.where(onsets, starts, HOLD).long()


def _restruck_as_hold(pitches: torch.Tensor, onsets: torch.Tensor, low: int) -> torch.Tensor:
    """The mistake: an onset wherever the pitch differs from the step before, whatever onsets says."""
    changed = torch.cat([torch.tensor([True]), pitches[1:] != pitches[:-1]])
    return voice_tokens(pitches, changed, low)


VOICE = {  # each wrong encoding named in VOICE_MISTAKES
    "ignore_onsets": lambda p, o, low: torch.where(p >= 0, SPECIALS + p - low, REST_TOKEN),
    "notes_ignore_onsets": lambda p, o, low: torch.where(p >= 0, SPECIALS + p - low, torch.where(o, REST_TOKEN, HOLD)),
    "no_offset": lambda p, o, low: torch.where(o, torch.where(p >= 0, p - low, REST_TOKEN), HOLD),
    "no_low": lambda p, o, low: torch.where(o, torch.where(p >= 0, SPECIALS + p, REST_TOKEN), HOLD),
    "rest_continuation": lambda p, o, low: torch.where(p < 0, REST_TOKEN, voice_tokens(p, o, low)),
    "same_pitch": _restruck_as_hold,
    "swapped_specials": lambda p, o, low: torch.where(o, torch.where(p >= 0, SPECIALS + p - low, HOLD), REST_TOKEN),
}


def _moves(upper: list[int], lower: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """For each move i-1 -> i: the upper and lower voices' directions, and the intervals (mod 12) before and after."""
    u, lo = torch.tensor(upper), torch.tensor(lower)
    interval = (u - lo) % 12
    return (u[1:] - u[:-1]).sign(), (lo[1:] - lo[:-1]).sign(), interval[:-1], interval[1:]


def count_parallel_fifths(upper: list[int], lower: list[int]) -> int:
    """The moves in which both voices change pitch the same way and the interval is a fifth (mod 12) both times."""
    up, down, before, after = _moves(upper, lower)
    return int(((up != 0) & (up == down) & (before == 7) & (after == 7)).sum())


def _parallel_mask(upper: list[int], lower: list[int]) -> torch.Tensor:
    up, down, before, after = _moves(upper, lower)
    return (up != 0) & (up == down) & (before == 7) & (after == 7)


def _sonorities(upper: list[int], lower: list[int]) -> int:
    """The mistake: the sonorities that take part in a parallel fifth, instead of the moves."""
    mask = _parallel_mask(upper, lower)
    no = torch.tensor([False])
    return int((torch.cat([mask, no]) | torch.cat([no, mask])).sum())


def _moves_rule(upper: list[int], lower: list[int], rule) -> int:
    up, down, before, after = _moves(upper, lower)
    return int(rule(up, down, before, after).sum())


FIFTHS = {  # each wrong count named in FIFTHS_MISTAKES
    "held": lambda u, lo: _moves_rule(u, lo, lambda up, dn, b, a: (b == 7) & (a == 7)),
    "contrary": lambda u, lo: _moves_rule(u, lo, lambda up, dn, b, a: (up != 0) & (dn != 0) & (a == 7)),
    "direct": lambda u, lo: _moves_rule(u, lo, lambda up, dn, b, a: (up != 0) & (up == dn) & (a == 7)),
    "from_fifth": lambda u, lo: _moves_rule(u, lo, lambda up, dn, b, a: (up != 0) & (up == dn) & (b == 7)),
    "octaves": lambda u, lo: _moves_rule(
        u, lo, lambda up, dn, b, a: (up != 0) & (up == dn) & (((b == 7) & (a == 7)) | ((b == 0) & (a == 0)))
    ),
    "sonorities": _sonorities,
    "fifths_anywhere": lambda u, lo: sum((x - y) % 12 == 7 for x, y in zip(u, lo, strict=True)),
    "missed_last": lambda u, lo: int(_parallel_mask(u, lo)[:-1].sum()),
    "wrap": lambda u, lo: count_parallel_fifths(u[-1:] + u, lo[-1:] + lo),
}


def answers() -> dict[str, object]:
    assert [name for name, _ in VOICE_MISTAKES] == list(VOICE), "the mistakes of the check and here differ"
    assert [name for name, _ in FIFTHS_MISTAKES] == list(FIFTHS), "the mistakes of the check and here differ"
    assert {n for *_, catches in FIFTHS_CASES for n in catches} == set(FIFTHS), "a mistake no case was built to catch"
    out: dict[str, object] = {}
    for i, (_, pitches, onsets, low) in enumerate(voice_cases()):
        key = f"voice_tokens/case={i}"
        out[key] = voice_tokens(pitches, onsets, low)
        for name, encode in VOICE.items():
            out[f"{key}/mistake/{name}"] = encode(pitches, onsets, low).long()
    for i, (_, pitches, onsets, low) in enumerate(voice_cases_other_low()):
        out[f"voice_tokens/hidden/other_low/case={i}"] = voice_tokens(pitches, onsets, low)
    out["parallel_fifths"] = [count_parallel_fifths(u, lo) for _, u, lo, _ in FIFTHS_CASES]
    for name, count in FIFTHS.items():
        out[f"parallel_fifths/mistake/{name}"] = [int(count(u, lo)) for _, u, lo, _ in FIFTHS_CASES]
    out["parallel_fifths/hidden/compound"] = [count_parallel_fifths(u, lo) for _, u, lo in FIFTHS_COMPOUND_CASES]
    return out
