"""Captioned instrument notes generated from a seed: the `sounds` data set of chapter 19.

Every note is half a second (by default) of one instrument at one MIDI pitch and one loudness, captioned
"a soft low bell note". Like `shapes`, the split 'heldout' holds only the (instrument, register) combinations
the grammar keeps out of training (a low bell and a high reed), so a text-to-sound model that plays them has
composed "bell" and "low", each heard only with other partners. Each note is synthesised in a few lines of
arithmetic and draws its randomness (which combination, pitch, loudness, phases, the string's noise burst)
from its own `torch.Generator` seeded by (seed, split, index): note i is the same whatever n is asked for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from genai_lib.audio import _fade, karplus_strong, midi_to_hz
from genai_lib.data.caption_grammar import CaptionGrammar

INSTRUMENTS = ("sine", "string", "bell", "reed")
REGISTERS = ("low", "middle", "high")
LOUDNESS = ("soft", "loud")
SPLITS = ("train", "test", "heldout")
REGISTER_PITCHES = {"low": (48, 55), "middle": (56, 63), "high": (64, 72)}  # MIDI, inclusive: C3..C5 in all
PEAKS = {"soft": 0.25, "loud": 0.8}  # every note is scaled to exactly this peak |x|

SOUND_GRAMMAR = CaptionGrammar(
    name="sounds",
    values={"loudness": LOUDNESS, "register": REGISTERS, "instrument": INSTRUMENTS},
    words={
        "loudness": {v: (v,) for v in LOUDNESS},
        "register": {v: (v,) for v in REGISTERS},
        "instrument": {v: (v,) for v in INSTRUMENTS},
    },
    templates=("a {loudness} {register} {instrument} note",),
    # Two of the 12 (instrument, register) pairs, at opposite corners: the bell and the reed are each heard in
    # two other registers, and the low and high registers each with three other instruments.
    held_out=({"instrument": "bell", "register": "low"}, {"instrument": "reed", "register": "high"}),
)
HELD_OUT = tuple((c["instrument"], c["register"]) for c in SOUND_GRAMMAR.held_out)
SEEN = tuple((i, r) for i in INSTRUMENTS for r in REGISTERS if (i, r) not in HELD_OUT)

BELL_RATIOS = (1.0, 2.76, 5.40, 8.93)  # the modes of a free bar (a glockenspiel's): inharmonic
BELL_AMPLITUDES = (1.0, 0.6, 0.4, 0.25)
# Time constant of the fundamental in seconds; partial k decays BELL_RATIOS[k] ** 2 times faster, as damping grows
# with frequency in a struck bar: a bright strike that fades to an almost pure fundamental within ~0.1 s.
BELL_DECAY = 0.4
REED_HARMONICS = (1, 3, 5, 7, 9, 11, 13, 15)  # odd only, as a clarinet's closed pipe; amplitude 1/k
N_PHASES = 2 + len(REED_HARMONICS)  # uniforms per note for the synthesis (phases, vibrato rate and phase)


@dataclass
class SoundData:
    """Notes (N, L) in [-1, 1] at `sample_rate`, their captions, and integer labels (index into the tuples)."""

    waves: torch.Tensor  # (N, L) float32
    instrument: torch.Tensor  # (N,) int64, index into INSTRUMENTS
    pitch: torch.Tensor  # (N,) int64, MIDI pitch
    loudness: torch.Tensor  # (N,) int64, index into LOUDNESS: 0 soft, 1 loud
    captions: list[str]
    sample_rate: int
    split: str

    def __len__(self) -> int:
        return len(self.captions)

    @property
    def register(self) -> torch.Tensor:
        """(N,) int64, index into REGISTERS, read from the pitch."""
        return register_of(self.pitch)

    @property
    def seconds(self) -> float:
        return self.waves.shape[1] / self.sample_rate

    def label_names(self, i: int) -> dict[str, str]:
        """The labels of note i by name, e.g. {'instrument': 'bell', 'register': 'low', 'loudness': 'soft'}."""
        return {
            "instrument": INSTRUMENTS[int(self.instrument[i])],
            "register": REGISTERS[int(self.register[i])],
            "loudness": LOUDNESS[int(self.loudness[i])],
        }


def register_of(pitch: torch.Tensor) -> torch.Tensor:
    """MIDI pitches -> register index: 0 low (48-55), 1 middle (56-63), 2 high (64-72)."""
    pitch = torch.as_tensor(pitch)
    return (pitch >= REGISTER_PITCHES["middle"][0]).long() + (pitch >= REGISTER_PITCHES["high"][0]).long()


def caption(instrument: str, register: str, loudness: str) -> str:
    """The caption of a note: 'a soft low bell note' (SOUND_GRAMMAR's one template)."""
    return SOUND_GRAMMAR.templates[0].format(instrument=instrument, register=register, loudness=loudness)


def _note_generator(seed: int, split: str, index: int) -> torch.Generator:
    """Note `index`'s own random stream, a pure function of (seed, split, index); 'test' and 'train' differ."""
    state = np.random.SeedSequence([seed, SPLITS.index(split), index]).generate_state(1, np.uint64)[0]
    return torch.Generator().manual_seed(int(state))


def load_sounds(
    split: str = "train", n: int = 2000, *, seed: int = 0, sample_rate: int = 8000, seconds: float = 0.5
) -> SoundData:
    """`n` captioned notes, (n, round(seconds * sample_rate)); deterministic for (split, index, seed).

    'train' and 'test' draw uniformly from the 10 seen (instrument, register) pairs with different streams;
    'heldout' draws only the 2 held-out pairs (HELD_OUT). Pitch is uniform within the register, loudness
    uniform over soft and loud.
    """
    _check_split(split, n, seed)
    _check_signal(sample_rate, seconds)
    pairs = HELD_OUT if split == "heldout" else SEEN
    generators = [_note_generator(seed, split, i) for i in range(n)]
    u = torch.stack([torch.rand(3, generator=g, dtype=torch.float64) for g in generators])  # (n, 3) labels
    pair = [pairs[k] for k in (u[:, 0] * len(pairs)).long().tolist()]
    instrument = torch.tensor([INSTRUMENTS.index(p[0]) for p in pair], dtype=torch.long)
    low = torch.tensor([REGISTER_PITCHES[p[1]][0] for p in pair])
    high = torch.tensor([REGISTER_PITCHES[p[1]][1] for p in pair])
    pitch = low + (u[:, 1] * (high - low + 1)).long()
    loudness = (u[:, 2] * len(LOUDNESS)).long()
    waves = render_notes(instrument, pitch, loudness, sample_rate=sample_rate, seconds=seconds, generator=generators)
    captions = [
        caption(instrument=p[0], register=p[1], loudness=LOUDNESS[v])
        for p, v in zip(pair, loudness.tolist(), strict=True)
    ]
    return SoundData(waves, instrument, pitch, loudness, captions, sample_rate, split)


def render_notes(
    instrument: Sequence[int] | torch.Tensor,
    pitch: Sequence[int] | torch.Tensor,
    loudness: Sequence[int] | torch.Tensor,
    *,
    sample_rate: int = 8000,
    seconds: float = 0.5,
    generator: torch.Generator | Sequence[torch.Generator] | None = None,
) -> torch.Tensor:
    """Synthesise notes (N, L) float32, each scaled to the peak of its loudness (PEAKS).

    `instrument` and `loudness` index INSTRUMENTS and LOUDNESS, `pitch` is MIDI; `generator` is one
    torch.Generator for all the notes, or one per note (as `load_sounds` passes them).
    """
    instrument, pitch, loudness = (
        torch.as_tensor(v, dtype=torch.long).reshape(-1) for v in (instrument, pitch, loudness)
    )
    N = len(pitch)
    if N == 0 or not len(instrument) == len(loudness) == N:
        raise ValueError(
            f"instrument, pitch and loudness need one entry per note, got {len(instrument)}, {N} and {len(loudness)}."
        )
    if ((instrument < 0) | (instrument >= len(INSTRUMENTS))).any() or ((loudness < 0) | (loudness > 1)).any():
        raise ValueError(f"instrument indexes {INSTRUMENTS} and loudness {LOUDNESS}; got values out of range.")
    if ((pitch < 21) | (pitch > 108)).any():
        raise ValueError(f"pitch is a MIDI number in 21..108 (A0..C8), got values from {pitch.min()} to {pitch.max()}.")
    _check_signal(sample_rate, seconds)
    generators = _one_per_note(generator, N)
    L = int(round(seconds * sample_rate))
    t = torch.arange(L, dtype=torch.float64) / sample_rate  # (L,) seconds
    f = torch.from_numpy(midi_to_hz(pitch.numpy())).reshape(-1)  # (N,) Hz
    u = torch.stack([torch.rand(N_PHASES, generator=g, dtype=torch.float64) for g in generators])  # (N, N_PHASES)
    peak = torch.tensor([PEAKS[name] for name in LOUDNESS], dtype=torch.float64)[loudness]  # (N,)
    waves = torch.empty(N, L)
    for k, synth in enumerate((_sine, _string, _bell, _reed)):  # in the order of INSTRUMENTS
        # In chunks: a few (512, L) float64 temporaries stay in memory that is already mapped, which is faster.
        for rows in (instrument == k).nonzero().squeeze(1).split(512):
            if len(rows) == 0:
                continue
            x = synth(f[rows], t, u[rows], [generators[i] for i in rows.tolist()], sample_rate)  # (n, L)
            waves[rows] = (x * (peak[rows] / x.abs().amax(dim=1))[:, None]).float()
    return waves


def _envelope(L: int, sample_rate: int, attack: float, release: float) -> torch.Tensor:
    """(L,) raised-cosine rise and fall of `attack` and `release` seconds: no click at either end."""
    return torch.from_numpy(_fade(L, int(attack * sample_rate), int(release * sample_rate)))


def _partial(f: torch.Tensor, t: torch.Tensor, phase: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """sin(2 pi f t + phase) for f (n, 1), t (L,) -> (n, L), silenced where f would alias (above 0.45 sr)."""
    return torch.sin(2 * math.pi * f * t + phase) * (f < 0.45 * sample_rate)


def _sine(f: torch.Tensor, t: torch.Tensor, u: torch.Tensor, generators: list, sample_rate: int) -> torch.Tensor:
    """A pure tone of random phase under a 10 ms attack and 30 ms release."""
    wave = _partial(f[:, None], t, 2 * math.pi * u[:, :1], sample_rate)  # (n, L)
    return wave * _envelope(len(t), sample_rate, 0.010, 0.030)


def _string(f: torch.Tensor, t: torch.Tensor, u: torch.Tensor, generators: list, sample_rate: int) -> torch.Tensor:
    """The Karplus-Strong plucked string of genai_lib.audio, its noise burst drawn from the note's generator."""
    seconds = len(t) / sample_rate
    notes = [_pluck(float(fi), seconds, sample_rate, g) for fi, g in zip(f, generators, strict=True)]
    return torch.from_numpy(np.stack(notes)).double()  # (n, L)


def _pluck(freq: float, seconds: float, sample_rate: int, generator: torch.Generator) -> np.ndarray:
    """`karplus_strong`, redrawn (from the same generator) while its fundamental carries under 2% of the energy.

    The random burst sets the partials' strengths at random. About one pluck in 1,500 (at 8 kHz) gets almost no
    fundamental and weak odd harmonics; it then repeats every half period and is heard an octave up, so its label
    would be wrong. A threshold of 2% redraws about 5% of plucks; those heard wrongly had under 1%.
    """
    probe = np.exp(-2j * np.pi * freq * np.arange(round(seconds * sample_rate)) / sample_rate)  # (L,)
    for _ in range(20):
        y = karplus_strong(freq, seconds, sample_rate=sample_rate, generator=generator).astype(np.float64)
        share = 2 * abs(np.mean(y * probe)) ** 2 / np.mean(y**2)  # (amplitude^2 / 2) / power, the amplitude at f
        if share >= 0.02:
            break
    return y


def _bell(f: torch.Tensor, t: torch.Tensor, u: torch.Tensor, generators: list, sample_rate: int) -> torch.Tensor:
    """Struck-bar partials f * BELL_RATIOS, each decaying exponentially, the higher ones much faster (a 2 ms strike)."""
    wave = torch.zeros(len(f), len(t), dtype=torch.float64)
    for k, (ratio, a) in enumerate(zip(BELL_RATIOS, BELL_AMPLITUDES, strict=True)):
        decay = torch.exp(-t * ratio**2 / BELL_DECAY)  # (L,)
        wave += a * decay * _partial(ratio * f[:, None], t, 2 * math.pi * u[:, k : k + 1], sample_rate)
    return wave * _envelope(len(t), sample_rate, 0.002, 0.020)


def _reed(f: torch.Tensor, t: torch.Tensor, u: torch.Tensor, generators: list, sample_rate: int) -> torch.Tensor:
    """Odd harmonics at 1/k under a 40 ms attack, with a vibrato of +-0.3% (5 cents) at 4.5-6.5 Hz."""
    rate = 4.5 + 2.0 * u[:, :1]  # (n, 1) Hz
    psi = 2 * math.pi * u[:, 1:2]
    depth = 0.003
    # The phase is the integral of the instantaneous frequency f (1 + depth sin(2 pi rate t + psi)), so the pitch
    # swings by +-depth around f. The tempting sin(2 pi f(t) t) would make the swing grow with t.
    phi = 2 * math.pi * f[:, None] * t - f[:, None] * depth / rate * (
        torch.cos(2 * math.pi * rate * t + psi) - torch.cos(psi)
    )
    wave = torch.zeros(len(f), len(t), dtype=torch.float64)
    for j, k in enumerate(REED_HARMONICS):
        audible = k * f[:, None] < 0.45 * sample_rate  # (n, 1)
        wave += audible * torch.sin(k * phi + 2 * math.pi * u[:, 2 + j : 3 + j]) / k
    return wave * _envelope(len(t), sample_rate, 0.040, 0.030)


def _one_per_note(generator: torch.Generator | Sequence[torch.Generator] | None, N: int) -> list[torch.Generator]:
    if isinstance(generator, Sequence):
        if len(generator) != N:
            raise ValueError(f"Pass one generator, or one per note ({N}), got {len(generator)}.")
        return list(generator)
    return [generator if generator is not None else torch.default_generator] * N


def _check_split(split: str, n: int, seed: int) -> None:
    if split not in SPLITS:
        raise ValueError(
            f"Unknown split {split!r}; use one of {SPLITS} ('heldout' has only the held-out pairs {HELD_OUT})."
        )
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive number of notes, got {n!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")


def _check_signal(sample_rate: int, seconds: float) -> None:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate < 4000:
        raise ValueError(
            f"sample_rate must be an integer of at least 4000 Hz (a Nyquist frequency of 2 kHz leaves C5, 523 Hz, "
            f"a few harmonics), got {sample_rate!r}."
        )
    if not 0.1 <= seconds <= 10:
        raise ValueError(f"seconds must lie in [0.1, 10] (room for the attack and the release), got {seconds!r}.")
