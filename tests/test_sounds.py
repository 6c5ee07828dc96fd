"""genai_lib.data.sounds: captioned instrument notes, deterministic per note, with held-out (instrument, register)
pairs that only the 'heldout' split contains."""

import numpy as np
import pytest
import torch

from genai_lib.data import SoundData, load_sounds
from genai_lib.data.caption_grammar import CaptionTokenizer
from genai_lib.data.sounds import (
    HELD_OUT,
    INSTRUMENTS,
    LOUDNESS,
    PEAKS,
    REGISTER_PITCHES,
    REGISTERS,
    SEEN,
    SOUND_GRAMMAR,
    register_of,
    render_notes,
)

SR = 8000


@pytest.fixture(scope="module")
def splits() -> dict[str, SoundData]:
    return {
        "train": load_sounds("train", 300),
        "test": load_sounds("test", 200),
        "heldout": load_sounds("heldout", 100),
    }


def pairs(data: SoundData) -> set[tuple[str, str]]:
    return {
        (INSTRUMENTS[i], REGISTERS[r]) for i, r in zip(data.instrument.tolist(), data.register.tolist(), strict=True)
    }


def amplitude_at(wave: np.ndarray, freq: float, sample_rate: int = SR) -> float:
    """The amplitude of the component at `freq`: twice the magnitude of the wave's projection on exp(-2 pi i f t)."""
    t = np.arange(len(wave)) / sample_rate
    return float(2 * abs(np.mean(wave * np.exp(-2j * np.pi * freq * t))))


def test_shapes_dtypes_and_ranges(splits):
    for split, data in splits.items():
        N = len(data)
        assert data.split == split and data.sample_rate == SR and data.seconds == pytest.approx(0.5)
        assert data.waves.shape == (N, 4000) and data.waves.dtype == torch.float32
        assert data.waves.abs().max() <= 1.0 and torch.isfinite(data.waves).all()
        for labels in (data.instrument, data.pitch, data.loudness, data.register):
            assert labels.shape == (N,) and labels.dtype == torch.int64
        assert 0 <= data.instrument.min() and data.instrument.max() < len(INSTRUMENTS)
        assert 48 <= data.pitch.min() and data.pitch.max() <= 72
        assert set(data.loudness.tolist()) <= {0, 1} and len(data.captions) == N
    train = splits["train"]
    assert set(train.instrument.tolist()) == set(range(4)) and set(train.loudness.tolist()) == {0, 1}
    assert set(train.pitch.tolist()) == set(range(48, 73))  # C3..C5, every one in 300 notes
    short = load_sounds("train", 3, sample_rate=16000, seconds=0.25)
    assert short.waves.shape == (3, 4000) and short.sample_rate == 16000


def test_captions_say_the_labels_and_the_grammar_reads_them_back(splits):
    for data in splits.values():
        for i, text in enumerate(data.captions):
            names = data.label_names(i)
            assert text == f"a {names['loudness']} {names['register']} {names['instrument']} note"
            assert SOUND_GRAMMAR.parse(text) == names
            low, high = REGISTER_PITCHES[names["register"]]
            assert low <= int(data.pitch[i]) <= high
    assert register_of(torch.tensor([48, 55, 56, 63, 64, 72])).tolist() == [0, 0, 1, 1, 2, 2]
    ids = CaptionTokenizer(SOUND_GRAMMAR).encode(splits["train"].captions[:4])  # chapter 13's tokenizer reads them
    assert ids.shape == (4, 6)


def test_held_out_pairs_are_never_in_train_or_test_and_always_in_heldout(splits):
    assert set(HELD_OUT) == {("bell", "low"), ("reed", "high")} and len(SEEN) == 10
    assert pairs(splits["train"]) == set(SEEN)  # all ten seen pairs occur in 300 notes
    assert not pairs(splits["test"]) & set(HELD_OUT)
    assert pairs(splits["heldout"]) == set(HELD_OUT)
    for data in splits.values():
        held = [SOUND_GRAMMAR.is_held_out(data.label_names(i)) for i in range(len(data))]
        assert all(held) if data.split == "heldout" else not any(held)


def test_every_note_peaks_at_its_loudness_and_ends_silent(splits):
    for data in splits.values():
        peak = data.waves.abs().amax(dim=1)
        expected = torch.tensor([PEAKS[LOUDNESS[v]] for v in data.loudness.tolist()])
        torch.testing.assert_close(peak, expected, rtol=0, atol=1e-6)
        assert data.waves[:, -1].abs().max() < 1e-3  # every envelope closes: no click at the end


def test_a_seed_fixes_every_note_whatever_n_and_seeds_and_splits_differ():
    a = load_sounds("train", 24, seed=3)
    b = load_sounds("train", 24, seed=3)
    assert torch.equal(a.waves, b.waves) and a.captions == b.captions and torch.equal(a.pitch, b.pitch)
    prefix = load_sounds("train", 5, seed=3)  # note i is a function of (split, i, seed) alone
    assert torch.equal(prefix.waves, a.waves[:5]) and prefix.captions == a.captions[:5]
    other = load_sounds("train", 24, seed=4)
    test = load_sounds("test", 24, seed=3)
    for c in (other, test):
        assert not torch.equal(c.pitch, a.pitch) and not torch.allclose(c.waves, a.waves)
    torch.manual_seed(0)  # the global stream plays no part
    assert torch.equal(load_sounds("train", 5, seed=3).waves, prefix.waves)


def test_each_instrument_sounds_as_described():
    f = 440.0  # A4, MIDI 69
    waves = render_notes([0, 1, 2, 3], [69] * 4, [1] * 4, generator=torch.Generator().manual_seed(0)).double().numpy()
    sine, string, bell, reed = waves
    assert amplitude_at(sine, 2 * f) < 0.01 * amplitude_at(sine, f)  # a pure tone
    assert amplitude_at(reed, 2 * f) < 0.1 * amplitude_at(reed, 3 * f)  # odd harmonics only
    assert amplitude_at(reed, 3 * f) == pytest.approx(amplitude_at(reed, f) / 3, rel=0.15)  # at 1/k
    strike = bell[:400]  # the first 50 ms: the inharmonic partial at 2.76 f sounds, none at 2 f
    assert amplitude_at(strike, 2.76 * f) > 5 * amplitude_at(strike, 2 * f)

    def rms(w, a, b):
        return np.sqrt(np.mean(w[int(a * SR) : int(b * SR)] ** 2))

    for decaying in (string, bell):  # plucked and struck notes die away; the sine and the reed sustain
        assert rms(decaying, 0.35, 0.45) < 0.6 * rms(decaying, 0.05, 0.15)
    for sustained in (sine, reed):
        assert rms(sustained, 0.35, 0.45) == pytest.approx(rms(sustained, 0.05, 0.15), rel=0.05)


def test_bad_requests_say_what_to_do():
    with pytest.raises(ValueError, match="heldout"):
        load_sounds("validation", 4)
    for n in (0, -3, 2.5):
        with pytest.raises(ValueError, match="n must be a positive"):
            load_sounds("train", n)
    with pytest.raises(ValueError, match="seed"):
        load_sounds("train", 4, seed=-1)
    with pytest.raises(ValueError, match="sample_rate"):
        load_sounds("train", 4, sample_rate=2000)
    with pytest.raises(ValueError, match="seconds"):
        load_sounds("train", 4, seconds=0.01)
    with pytest.raises(ValueError, match="one entry per note"):
        render_notes([0, 1], [60], [0, 1])
    with pytest.raises(ValueError, match="out of range"):
        render_notes([4], [60], [0])
    with pytest.raises(ValueError, match="MIDI"):
        render_notes([0], [200], [0])
    with pytest.raises(ValueError, match="one per note"):
        render_notes([0, 0], [60, 62], [0, 1], generator=[torch.Generator()])
