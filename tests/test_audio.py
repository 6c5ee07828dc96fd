"""genai_lib.audio: tones at the right pitch, notes at the right times, and a player that embeds its audio."""

import math

import numpy as np
import pytest
import torch

from genai_lib.audio import karplus_strong, midi_to_hz, organ_tone, player, render, upsample

SR = 16000
REST = -1


def peak_hz(wave: np.ndarray, lo: float, hi: float, sample_rate: int = SR) -> float:
    """Frequency of the strongest spectral peak in [lo, hi] Hz: Hann window, 16x zero padding, and a parabola
    through the log magnitudes of the top bin and its neighbours (the Gaussian-window interpolation of Smith)."""
    n = len(wave)
    spec = np.abs(np.fft.rfft(wave * np.hanning(n), n=16 * n))
    freqs = np.fft.rfftfreq(16 * n, 1 / sample_rate)
    band = np.flatnonzero((freqs >= lo) & (freqs <= hi))
    k = band[np.argmax(spec[band])]
    a, b, c = np.log(spec[k - 1 : k + 2] + 1e-30)
    offset = 0.5 * (a - c) / (a - 2 * b + c)  # in bins, within (-0.5, 0.5)
    return float(freqs[k] + offset * (freqs[1] - freqs[0]))


def cents(f: float, ref: float) -> float:
    return 1200 * math.log2(f / ref)


def one_voice(pitch_row, onset_row, voices=4, voice=0):
    """A (voices, T) piece in which only `voice` plays; the others rest."""
    T = len(pitch_row)
    pitches = torch.full((voices, T), REST, dtype=torch.long)
    onsets = torch.zeros(voices, T, dtype=torch.bool)
    pitches[voice] = torch.tensor(pitch_row)
    onsets[voice] = torch.tensor(onset_row)
    return pitches, onsets


def frame_rms(wave: np.ndarray, frame: int) -> np.ndarray:
    n = len(wave) // frame
    return np.sqrt((wave[: n * frame].reshape(n, frame).astype(np.float64) ** 2).mean(axis=1))


def test_midi_to_hz_is_equal_temperament_at_a440():
    assert midi_to_hz(69) == pytest.approx(440.0)
    assert midi_to_hz(81) == pytest.approx(880.0)
    assert midi_to_hz(60) == pytest.approx(261.6256, abs=1e-3)
    np.testing.assert_allclose(midi_to_hz(np.array([57, 69])), [220.0, 440.0])


def test_organ_tone_peaks_at_its_pitch_and_starts_and_ends_silent():
    wave = organ_tone(440.0, 1.0)
    assert wave.dtype == np.float32 and wave.shape == (SR,)
    err = cents(peak_hz(wave, 20, SR / 2), 440.0)  # the whole spectrum: the fundamental is the loudest partial
    assert abs(err) < 5, f"organ A4 is {err:+.2f} cents off"
    assert abs(wave[0]) < 1e-6 and abs(wave[-1]) < 1e-3  # the envelope: no click at either end
    assert np.abs(wave).max() <= 1.0


@pytest.mark.parametrize("midi", [43, 55, 69, 76, 81])  # G2 (bass) ... A5 (soprano's top)
def test_karplus_strong_fundamental_within_20_cents(midi):
    f = float(midi_to_hz(midi))
    wave = karplus_strong(f, 1.0, generator=torch.Generator().manual_seed(0))
    assert wave.dtype == np.float32 and wave.shape == (SR,) and np.isfinite(wave).all()
    err = cents(peak_hz(wave, f / math.sqrt(2), f * math.sqrt(2)), f)  # the partial nearest f: the fundamental
    assert abs(err) < 20, f"Karplus-Strong MIDI {midi} ({f:.1f} Hz) is {err:+.2f} cents off"
    assert frame_rms(wave, 1600)[-2] < frame_rms(wave, 1600)[0]  # a pluck decays


def test_karplus_strong_is_reproducible_with_a_generator():
    a = karplus_strong(220.0, 0.2, generator=torch.Generator().manual_seed(3))
    b = karplus_strong(220.0, 0.2, generator=torch.Generator().manual_seed(3))
    assert np.array_equal(a, b)


@pytest.mark.parametrize("instrument", ["organ", "string"])
def test_render_of_a_held_a4_has_the_right_length_and_pitch(instrument):
    T = 20  # 20 sixteenths = 5 quarters at 72 bpm: 60 / 72 * 5 = 4.1667 s
    pitches, onsets = one_voice([69] * T, [True] + [False] * (T - 1))
    wave = render(pitches, onsets, instrument=instrument, generator=torch.Generator().manual_seed(0))
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert len(wave) == round(T * 60 / (72 * 4) * SR)
    assert np.abs(wave).max() == pytest.approx(0.9, abs=1e-6)  # normalised to peak 0.9
    lo, hi = (20, SR / 2) if instrument == "organ" else (440 / math.sqrt(2), 440 * math.sqrt(2))
    err = cents(peak_hz(wave, lo, hi), 440.0)
    assert abs(err) < (5 if instrument == "organ" else 20), f"rendered A4 ({instrument}) is {err:+.2f} cents off"


def test_render_length_follows_tempo_and_grid():
    pitches, onsets = one_voice([60] * 7, [True] * 7)
    assert len(render(pitches, onsets, tempo_bpm=100, steps_per_quarter=2)) == round(7 * 60 / (100 * 2) * SR)
    assert len(render(pitches, onsets, sample_rate=8000)) == round(7 * 60 / (72 * 4) * 8000)


def test_a_rest_is_silent_and_an_all_rest_piece_is_zeros():
    step = 60 / (72 * 4) * SR  # samples per step
    pitches, onsets = one_voice([60] * 4 + [REST] * 4 + [64] * 4, [True, False, False, False] * 3)
    onsets[0, 4:8] = False
    wave = render(pitches, onsets)
    assert np.abs(wave[round(4 * step) : round(8 * step)]).max() == 0.0
    assert np.abs(wave[: round(4 * step)]).max() > 0.1 and np.abs(wave[round(8 * step) :]).max() > 0.1
    silent = render(torch.full((4, 8), REST), torch.zeros(4, 8, dtype=torch.bool))
    assert silent.shape == (round(8 * step),) and not silent.any()


@pytest.mark.parametrize("instrument", ["organ", "string"])
def test_a_repeated_note_is_struck_twice_and_a_held_note_is_not(instrument):
    step = 60 / (72 * 4) * SR
    gen = torch.Generator().manual_seed(0)
    repeated = render(*one_voice([67] * 8, [True, False, False, False] * 2), instrument=instrument, generator=gen)
    held = render(*one_voice([67] * 8, [True] + [False] * 7), instrument=instrument, generator=gen)
    frame = 40  # 2.5 ms frames: finer than the 10 ms fades
    b = round(4 * step) // frame  # the frame where the second note starts
    for wave, struck in ((repeated, True), (held, False)):
        rms = frame_rms(wave, frame)
        join = rms[b - 2 : b + 1].min()  # the join of the two notes
        before = rms[b - 48 : b - 24].mean()  # 60-120 ms earlier: the first note sounding
        after = rms[b + 4 : b + 8].mean()  # 10-20 ms after the second onset
        if struck:  # the first note fades out and the second attacks: a dip, then a jump
            assert join < 0.2 * before, f"{instrument}: no dip between two onsets ({join:.4f} vs {before:.4f})"
            assert after > 5 * join, f"{instrument}: no attack at the second onset ({after:.4f} vs {join:.4f})"
        else:  # one note: an organ holds steady, a string decays smoothly, neither jumps
            assert join > (0.8 if instrument == "organ" else 0.2) * before, f"{instrument}: a held note dipped"
            assert after < 1.05 * rms[b - 8 : b - 4].mean(), f"{instrument}: a held note was struck again"


def test_player_embeds_the_wav_in_an_audio_element():
    pitches, onsets = one_voice([60, 62, 64, 65], [True] * 4)
    audio = player(render(pitches, onsets))
    html = audio._repr_html_()
    assert "<audio" in html and "data:audio/wav;base64" in html
    assert audio.data[:4] == b"RIFF"  # the WAV itself, not a link to a file
    with pytest.raises(ValueError, match="above 1"):
        player(np.array([0.0, 2.0], dtype=np.float32))
    with pytest.raises(ValueError, match="mono"):
        player(np.zeros((2, 10), dtype=np.float32))


def test_a_wave_below_8_khz_is_played_band_limited_at_8_khz():
    import struct

    t = np.arange(2000) / 4000
    x = 0.5 * np.sin(2 * np.pi * 330 * t) + 0.3 * np.sin(2 * np.pi * 1650 * t + 1.0)  # both periodic in 0.5 s
    y = upsample(x, 2)
    t2 = np.arange(4000) / 8000
    want = 0.5 * np.sin(2 * np.pi * 330 * t2) + 0.3 * np.sin(2 * np.pi * 1650 * t2 + 1.0)
    assert y.shape == (4000,) and np.abs(y - want).max() < 1e-5  # the same tones, no images above 2 kHz
    assert np.allclose(y[::2], x, atol=1e-5)  # and the old samples where they were
    wav = player(x, 4000).data
    assert struct.unpack("<I", wav[24:28])[0] == 8000  # the WAV header's sample rate
    assert struct.unpack("<I", player(x, 16000).data[24:28])[0] == 16000  # a rate at or above 8 kHz is kept


def test_bad_pieces_are_clear_errors():
    p = torch.full((4, 8), 60)
    with pytest.raises(ValueError, match="same shape"):
        render(p, torch.ones(4, 7, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"\(V, T\)"):
        render(p[0], torch.ones(8, dtype=torch.bool))
    with pytest.raises(ValueError, match="bool"):
        render(p, torch.ones(4, 8))
    with pytest.raises(ValueError, match="integer"):
        render(p.float(), torch.ones(4, 8, dtype=torch.bool))
    with pytest.raises(ValueError, match="0..127"):
        render(p - 100, torch.ones(4, 8, dtype=torch.bool))
    with pytest.raises(ValueError, match="instrument"):
        render(p, torch.ones(4, 8, dtype=torch.bool), instrument="piano")
    with pytest.raises(ValueError, match="decay"):
        karplus_strong(440.0, 0.1, decay=1.5)
