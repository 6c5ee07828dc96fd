"""genai_lib.spectrogram: the mel filterbank, the STFT against a by-hand reference, Griffin-Lim's convergence, and
the round trip wave -> mel image -> audio keeping pitch, register and loudness."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from genai_lib.data.sounds import INSTRUMENTS, load_sounds, register_of
from genai_lib.models.sound_judge import nearest_midi
from genai_lib.pitch import pitch_correct, pitch_error_cents, yin_batch
from genai_lib.spectrogram import (
    MelSpec,
    griffin_lim,
    hz_to_mel,
    inconsistency,
    mel_filterbank,
    mel_image_to_audio,
    mel_image_to_linear,
    mel_to_hz,
    stft_magnitude,
    to_mel_image,
)

CFG = MelSpec()


@pytest.fixture(scope="module")
def round_trip():
    """200 test notes of the evaluation seed and their round trips through the mel image (about 3 s)."""
    data = load_sounds("test", 200, seed=0)
    with torch.random.fork_rng(devices=[]):
        audio = mel_image_to_audio(to_mel_image(data.waves, CFG), CFG, generator=torch.Generator().manual_seed(0))
    return data, audio


def test_a_half_second_note_is_a_64_by_32_image_in_the_unit_interval():
    assert (CFG.n_samples, CFG.n_frames, CFG.n_freq) == (4000, 32, 257)
    images = to_mel_image(load_sounds("test", 8, seed=0).waves, CFG)
    assert images.shape == (8, 1, 64, 32) and images.min() >= 0 and images.max() <= 1
    assert dataclasses.replace(CFG, hop=125).n_frames == 33, "the hop of 128 is what makes 32 frames"


def test_the_htk_mel_scale_puts_1000_hz_at_1000_mels_and_inverts():
    assert float(hz_to_mel(torch.tensor(1000.0))) == pytest.approx(1000.0, abs=0.1)
    f = torch.tensor([0.0, 60.0, 440.0, 4000.0], dtype=torch.float64)
    assert torch.allclose(mel_to_hz(hz_to_mel(f)), f)


def test_every_mel_filter_is_a_triangle_peaking_at_1_at_centres_evenly_spaced_in_mels():
    M = mel_filterbank(8000, 512, 64, fmin=CFG.fmin)
    assert M.shape == (64, 257) and M.min() >= 0 and M.max() <= 1
    # On a fine grid of bins (n_fft 2^14, 0.5 Hz apart) every peak is reached: peak 1, not unit area.
    fine = mel_filterbank(8000, 1 << 14, 64, fmin=CFG.fmin).double()
    assert torch.allclose(fine.amax(dim=1), torch.ones(64, dtype=torch.float64), atol=0.02)
    hz = torch.linspace(0, 4000, fine.shape[1], dtype=torch.float64)
    centres = hz[fine.argmax(dim=1)]
    assert (centres.diff() > 0).all()
    mels = torch.linspace(float(hz_to_mel(torch.tensor(CFG.fmin))), float(hz_to_mel(torch.tensor(4000.0))), 66)
    assert torch.allclose(centres, mel_to_hz(mels.double())[1:-1], atol=0.5)
    assert fine[:, hz < CFG.fmin].max() == 0 and fine[0, hz > CFG.fmin].max() > 0  # nothing below fmin
    for row in fine:  # unimodal: rises to its peak, then falls
        k = int(row.argmax())
        assert (row[: k + 1].diff() >= 0).all() and (row[k:].diff() <= 0).all()
    inside = (hz > centres[0] + 1) & (hz < centres[-1] - 1)  # the filters share out every bin between the outer centres
    assert torch.allclose(fine[:, inside].sum(dim=0), torch.ones(int(inside.sum()), dtype=torch.float64), atol=1e-5)


def test_stft_magnitude_matches_a_frame_windowed_and_transformed_by_hand():
    wave = load_sounds("test", 1, seed=0).waves
    S = stft_magnitude(wave, CFG)
    assert S.shape == (1, 257, 32)
    padded = np.pad(wave[0].double().numpy(), CFG.n_fft // 2)  # frames centred on samples 0, hop, 2 hop, ...
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(CFG.n_fft) / CFG.n_fft)  # periodic Hann
    for m in (0, 13, 31):
        frame = padded[m * CFG.hop : m * CFG.hop + CFG.n_fft] * hann
        np.testing.assert_allclose(S[0, :, m].numpy(), np.abs(np.fft.rfft(frame)), atol=1e-3)


def test_loudness_is_kept_against_a_fixed_full_scale_not_each_notes_maximum():
    t = torch.arange(CFG.n_samples) / CFG.sample_rate
    sines = torch.sin(2 * math.pi * torch.tensor([100.0, 261.6, 523.3, 1000.0, 2000.0, 3500.0])[:, None] * t)
    peak = to_mel_image(sines, CFG).amax(dim=(1, 2, 3))
    assert peak.min() > 0.92 and peak.max() <= 1, peak  # full scale is 0 dB, a little less in the narrow low bands
    # A quarter of the amplitude is 20 log10(4) = 12.04 dB down: 12.04 / 80 of the image darker, everywhere above
    # the floor.
    loud, soft = to_mel_image(sines[3:4], CFG), to_mel_image(0.25 * sines[3:4], CFG)
    above = soft > 0
    assert torch.allclose((loud - soft)[above], torch.full_like(soft[above], 20 * math.log10(4) / 80), atol=1e-4)


def test_griffin_lim_lowers_the_inconsistency_and_momentum_gets_further():
    S = stft_magnitude(load_sounds("test", 16, seed=0).waves, CFG)

    def after(n_iter: int, momentum: float = 0.99) -> float:
        x = griffin_lim(S, CFG, n_iter=n_iter, momentum=momentum, generator=torch.Generator().manual_seed(0))
        return float(inconsistency(x, S, CFG).mean())

    # Measured: 0.66 from the random phase, then 0.27, 0.11 and 0.06 after 4, 16 and 32 rounds of the fast
    # algorithm; plain Griffin-Lim (momentum 0) is at 0.13 after 32.
    start, fast = after(0), [after(n) for n in (4, 16, 32)]
    assert fast[0] < start / 2 and fast[0] > fast[1] > fast[2]
    assert fast[2] < 0.08 and fast[2] < 0.6 * after(32, momentum=0.0)
    x = griffin_lim(S, CFG, n_iter=2, generator=torch.Generator().manual_seed(1))
    assert torch.equal(x, griffin_lim(S, CFG, n_iter=2, generator=torch.Generator().manual_seed(1)))


def test_mel_inversion_is_non_negative_and_fits_the_mel_bands():
    images = to_mel_image(load_sounds("test", 8, seed=0).waves, CFG)
    S = mel_image_to_linear(images, CFG)
    assert S.shape == (8, 257, 32) and S.min() >= 0
    mel = torch.einsum("mf,nft->nmt", mel_filterbank(CFG.sample_rate, CFG.n_fft, CFG.n_mels, CFG.fmin, CFG.fmax), S)
    floor = 10 ** (-CFG.top_db / 20)  # the floor of the image stands for 0
    y = CFG.full_scale * (10 ** ((images.squeeze(1) - 1) * CFG.top_db / 20) - floor) / (1 - floor)
    assert float((mel - y).norm() / y.norm()) < 0.02  # measured 0.006 on these notes; the pseudo-inverse alone, 0.044


def test_the_round_trip_keeps_the_pitch_and_the_register(round_trip):
    data, audio = round_trip
    assert audio.shape == data.waves.shape and audio.abs().max() <= 1
    # Measured on these 200 notes: every one within 50 cents (the worst 27 cents off), every register right.
    assert float(pitch_correct(audio, data.pitch, CFG.sample_rate).float().mean()) >= 0.98
    assert float(pitch_error_cents(audio, data.pitch, CFG.sample_rate).abs().median()) < 12  # measured 4 cents
    register = register_of(nearest_midi(yin_batch(audio, CFG.sample_rate)))
    assert float((register == data.register).float().mean()) >= 0.98


def test_the_round_trip_keeps_the_loudness(round_trip):
    data, audio = round_trip
    rms, rms_real = audio.pow(2).mean(1).sqrt(), data.waves.pow(2).mean(1).sqrt()
    ratio = rms / rms_real
    assert ratio.min() > 0.85 and ratio.max() < 1.02  # measured 0.90 to 1.00: Griffin-Lim loses a little energy
    for k, name in enumerate(INSTRUMENTS):
        soft, loud = (rms[(data.instrument == k) & (data.loudness == v)] for v in (0, 1))
        # Peaks 0.25 and 0.8, a ratio of 3.2 (measured 3.0 to 3.4); a string's RMS varies with its pitch and its
        # random pluck, so compare the means.
        assert loud.mean() > 2.5 * soft.mean(), name


def test_bad_input_is_a_clear_error():
    waves = load_sounds("test", 2, seed=0).waves
    images = to_mel_image(waves, CFG)
    with pytest.raises(ValueError, match=r"mel images \(N, 1, 64, 32\).*unsqueeze\(1\)"):
        mel_image_to_audio(images.squeeze(1), CFG)
    with pytest.raises(ValueError, match=r"mel images \(N, 1, 64, 32\), got \(2, 1, 80, 32\)"):
        mel_image_to_linear(torch.rand(2, 1, 80, 32), CFG)
    with pytest.raises(ValueError, match=r"outside \[0, 1\] or NaN.*clamp\(0, 1\)"):
        mel_image_to_audio(images * 1.5, CFG)
    with pytest.raises(ValueError, match="outside"):
        mel_image_to_audio(torch.where(images > 0.5, math.nan, images), CFG)
    with pytest.raises(ValueError, match=r"outside \[-1, 1\] or NaN"):
        to_mel_image(1.5 * waves / waves.abs().max(), CFG)
    with pytest.raises(ValueError, match=r"outside \[-1, 1\] or NaN"):
        to_mel_image(torch.full_like(waves, math.nan), CFG)
    with pytest.raises(ValueError, match=r"waves \(N, 4000\).*seconds="):
        to_mel_image(waves[:, :3000], CFG)
    with pytest.raises(ValueError, match=r"magnitude spectrogram \(N, 257, 32\).*mel_image_to_linear"):
        griffin_lim(images.squeeze(1), CFG)
    with pytest.raises(ValueError, match="momentum"):
        griffin_lim(stft_magnitude(waves, CFG), CFG, momentum=1.0)
    with pytest.raises(ValueError, match="fmax"):
        MelSpec(sample_rate=4000)
    with pytest.raises(ValueError, match="too many"):
        mel_filterbank(8000, 64, 64)


def test_a_4_khz_note_with_a_quarter_size_fft_is_the_same_picture_and_keeps_its_pitch():
    mel = MelSpec(sample_rate=4000, n_fft=256, hop=64, fmax=2000.0)  # 64 ms windows, 16 ms apart, as at 8 kHz
    data = load_sounds("test", 100, seed=0, sample_rate=4000)
    images = to_mel_image(data.waves, mel)
    assert images.shape == (100, 1, 64, 32)
    audio = mel_image_to_audio(images, mel, generator=torch.Generator().manual_seed(0))
    # Measured on 500 notes: every one within 50 cents (the worst 41 cents off); before the floor of the image
    # meant 0 and fmin rose to 60 Hz, high plucked strings lost their pitch to the noise (96%).
    assert float(pitch_correct(audio, data.pitch, 4000).float().mean()) >= 0.98
