"""Chorales as token sequences for a GPT: four voices interleaved on the time grid, one token per voice per step.

The sequence is `<bos>` then, for each sixteenth-note step, the tokens of soprano, alto, tenor and bass: the
pitch where a note starts, `<rest>` where a rest starts, `<hold>` where the voice goes on sounding (or
staying silent). Token i >= 1 belongs to voice (i - 1) % 4, so a model always knows whose turn it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch

from genai_lib.data.chorales import PITCH_HIGH, PITCH_LOW, REST, Chorale, transpose

SPECIALS = ("<bos>", "<rest>", "<hold>")
BOS, REST_TOKEN, HOLD = 0, 1, 2
PITCH_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def pitch_name(midi: int) -> str:
    """Scientific pitch notation of a MIDI number: 60 -> 'C4', 61 -> 'C#4'."""
    return f"{PITCH_NAMES[midi % 12]}{midi // 12 - 1}"


@dataclass(frozen=True)
class ChoraleTokenizer:
    """Vocabulary: <bos>, <rest>, <hold>, then one token per MIDI pitch low..high (default C2..A5)."""

    low: int = PITCH_LOW
    high: int = PITCH_HIGH

    def __post_init__(self) -> None:
        if not 0 <= self.low <= self.high <= 127:
            raise ValueError(f"The pitch range needs 0 <= low <= high <= 127 (MIDI), got {self.low}..{self.high}.")

    @property
    def vocab_size(self) -> int:
        return len(SPECIALS) + self.high - self.low + 1

    def name(self, token: int) -> str:
        """A token's readable name: '<hold>', 'C4', ..."""
        if not 0 <= token < self.vocab_size:
            raise ValueError(f"Token {token} is outside the vocabulary of {self.vocab_size} tokens.")
        return SPECIALS[token] if token < len(SPECIALS) else pitch_name(token - len(SPECIALS) + self.low)

    def encode(self, chorale: Chorale) -> torch.Tensor:
        """The grid encoding, a LongTensor (1 + 4T,): <bos>, then S, A, T, B at each step."""
        pitches, onsets = chorale.pitches, chorale.onsets  # (4, T) each
        notes = onsets & (pitches != REST)
        if notes.any() and (pitches[notes].min() < self.low or pitches[notes].max() > self.high):
            lo, hi = int(pitches[notes].min()), int(pitches[notes].max())
            raise ValueError(
                f"{chorale.name} has pitches {pitch_name(lo)}..{pitch_name(hi)} (MIDI {lo}..{hi}), outside the "
                f"tokenizer's range {self.low}..{self.high}. Widen it with ChoraleTokenizer(low=..., high=...), or "
                "leave out this transposition (transpose returns None when a pitch leaves the range)."
            )
        tokens = torch.full_like(pitches, HOLD)  # (4, T)
        tokens[notes] = pitches[notes] - self.low + len(SPECIALS)
        tokens[onsets & (pitches == REST)] = REST_TOKEN
        steps = tokens.T.reshape(-1)  # (T, 4) -> (4T,): the four voices of step 0, then of step 1, ...
        return torch.cat([torch.tensor([BOS]), steps])

    def decode(self, tokens: torch.Tensor | Iterable[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """(pitches (4, T), onsets (4, T)) from a grid encoding; a trailing partial step is ignored."""
        ids = torch.as_tensor(list(tokens) if not isinstance(tokens, torch.Tensor) else tokens, dtype=torch.long)
        if ids.numel() and ids[0] == BOS:
            ids = ids[1:]
        if ((ids < 0) | (ids >= self.vocab_size)).any():
            raise ValueError(f"Token ids outside the vocabulary of {self.vocab_size} tokens: {ids.min()}..{ids.max()}.")
        if (ids == BOS).any():
            raise ValueError(
                "<bos> may only open a sequence, but it appears inside it; when sampling, set its logit to -inf "
                "after the first position (or cut the sequence there)."
            )
        T = ids.numel() // 4
        grid = ids[: 4 * T].reshape(T, 4).T  # (4, T): row v is voice v, soprano first
        onsets = grid != HOLD
        onsets[:, :1] = True  # <hold> at the very start of a voice has nothing to hold: it is a rest
        starts = torch.where(grid >= len(SPECIALS), grid - len(SPECIALS) + self.low, REST)  # pitch where set
        # A held step repeats the pitch of the last onset: the index of that onset by a running maximum.
        last = torch.where(onsets, torch.arange(T), 0).cummax(dim=1).values  # (4, T)
        pitches = starts.gather(1, last)
        return pitches, onsets


def event_length(chorale: Chorale) -> int:
    """Length of the event encoding: <bos>, then per voice a pitch (or rest) and a duration each, and a separator."""
    return 1 + sum(2 * int(chorale.onsets[v].sum()) + 1 for v in range(4))


def chorale_token_stream(
    chorales: Iterable[Chorale], tokenizer: ChoraleTokenizer, *, transpositions: Iterable[int] = range(-5, 7)
) -> list[torch.Tensor]:
    """Each chorale encoded in every transposition (semitones) that stays in the tokenizer's range."""
    keys = list(transpositions)
    out = []
    for chorale in chorales:
        for k in keys:
            shifted = transpose(chorale, k, low=tokenizer.low, high=tokenizer.high)
            if shifted is not None:
                out.append(tokenizer.encode(shifted))
    return out
