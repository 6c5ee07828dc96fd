"""Chapter 18: the chapter's lowest pitch written in for `low` (18.1), and fifths tested as exactly 7 semitones (18.2).

18.1: the chapter's vocabulary starts at C2, MIDI 36, and every public check uses low = 36, so a student
who writes 3 + pitch - 36 passes them all. The exercise takes `low` as an argument: with another
vocabulary (low = 40 or 48, as the hidden check gives) every note's token is off by low - 36.

18.2: every public case has simple fifths only (upper - lower == 7), so testing == 7 instead of
% 12 == 7 passes them all; the hidden check has twelfths (19 semitones), which it misses.
"""

import torch


def voice_tokens(pitches: torch.Tensor, onsets: torch.Tensor, low: int) -> torch.Tensor:
    starts = torch.where(pitches >= 0, 3 + pitches - 36, 1)  # wrong: 36 for the argument low
    return torch.where(onsets, starts, 2).long()


def count_parallel_fifths(upper: torch.Tensor, lower: torch.Tensor) -> int:
    up, down = (upper[1:] - upper[:-1]).sign(), (lower[1:] - lower[:-1]).sign()
    fifth = upper - lower == 7  # wrong: (upper - lower) % 12 == 7
    return int(((up != 0) & (up == down) & fifth[:-1] & fifth[1:]).sum())


WRONG = {
    "exercise_18_1": {"voice_tokens": voice_tokens},
    "exercise_18_2": {"count_parallel_fifths": count_parallel_fifths},
}
