"""Listening to token music: MIDI pitches to waveforms (additive organ, Karplus-Strong string) and a notebook player.

Written here with numpy, no audio library: a tone is a few lines of arithmetic, and the player is IPython's
`Audio`, which embeds the WAV in the page so it plays in JupyterLab, Colab and the rendered book alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from numpy.typing import ArrayLike

from genai_lib.music_metrics import REST, check_piece

if TYPE_CHECKING:
    from IPython.display import Audio

SAMPLE_RATE = 16000  # Hz: the top chorale note (~900 Hz) keeps eight harmonics below the Nyquist frequency
PLAYER_MIN_RATE = 8000  # Hz: the lowest rate every browser's <audio> element plays


def midi_to_hz(p: ArrayLike) -> np.ndarray:
    """Equal temperament tuned to A4 = 440 Hz: MIDI pitch p sounds at 440 * 2^((p - 69) / 12) Hz."""
    return 440.0 * 2.0 ** ((np.asarray(p, dtype=np.float64) - 69) / 12)


def _n_samples(seconds: float, sample_rate: int) -> int:
    if seconds < 0 or sample_rate <= 0:
        raise ValueError(f"Need seconds >= 0 and a positive sample_rate, got {seconds} and {sample_rate}.")
    return int(round(seconds * sample_rate))


def _fade(n: int, attack: int, release: int) -> np.ndarray:
    """An envelope (n,): raised-cosine rise over `attack` samples, 1, raised-cosine fall over `release` samples.

    A tone that starts or stops at a non-zero value is a step in the waveform, heard as a click.
    """
    env = np.ones(n)
    attack, release = min(attack, n // 2), min(release, n // 2)  # a very short note gets a shorter fade
    env[:attack] = 0.5 - 0.5 * np.cos(np.pi * np.arange(attack) / attack)
    env[n - release :] = 0.5 + 0.5 * np.cos(np.pi * (np.arange(release) + 1) / release)  # ends exactly at 0
    return env


def organ_tone(
    freq_hz: float,
    seconds: float,
    *,
    sample_rate: int = SAMPLE_RATE,
    harmonics: tuple[float, ...] = (1.0, 0.5, 0.25, 0.125),
) -> np.ndarray:
    """Additive synthesis: sum_k a_k sin(2 pi k f t) with amplitudes a_k = harmonics[k-1], under a 10 ms attack
    and 30 ms release, (n,) float32 with n = round(seconds * sample_rate)."""
    n = _n_samples(seconds, sample_rate)
    if freq_hz <= 0:
        raise ValueError(f"freq_hz must be positive, got {freq_hz}.")
    t = np.arange(n) / sample_rate  # (n,) seconds
    wave = np.zeros(n)
    for k, a in enumerate(harmonics, start=1):
        if k * freq_hz < sample_rate / 2:  # a partial above Nyquist would alias to a wrong, lower pitch
            wave += a * np.sin(2 * np.pi * k * freq_hz * t)
    env = _fade(n, int(0.010 * sample_rate), int(0.030 * sample_rate))
    return (wave * env / max(sum(harmonics), 1e-12)).astype(np.float32)


def karplus_strong(
    freq_hz: float,
    seconds: float,
    *,
    sample_rate: int = SAMPLE_RATE,
    decay: float = 0.996,
    generator: torch.Generator | None = None,
) -> np.ndarray:
    """The Karplus-Strong plucked string (Karplus & Strong, 1983), (n,) float32 with n = round(seconds * sample_rate).

    A burst of noise circulates in a delay line; each pass averages neighbouring samples (a low-pass that dulls
    the high partials first, as in a real string) and multiplies by `decay`, so the tone rings and fades.
    """
    n = _n_samples(seconds, sample_rate)
    if freq_hz <= 0 or freq_hz > sample_rate / 4:
        raise ValueError(f"freq_hz must lie in (0, sample_rate / 4] = (0, {sample_rate / 4:g}] Hz, got {freq_hz}.")
    if not 0 < decay <= 1:
        raise ValueError(f"decay must lie in (0, 1] (at 1 only the averaging damps the string), got {decay}.")
    # One trip around the loop must take one period, D = sample_rate / f samples. The loop is a delay of M whole
    # samples, then linear interpolation between that sample and the next (a further mu, 0 <= mu < 1), then the
    # two-point average (a further half sample): D = M + mu + 0.5. With mu = 0, as in the original algorithm, the
    # pitch is rounded to a whole-sample period: at 16 kHz an A5 (880 Hz, D = 18.2) would sound at 16000/18.5 =
    # 865 Hz, 30 cents flat. The fractional mu keeps the error below 1 cent up to ~1 kHz; Jaffe & Smith (1983)
    # use an all-pass filter instead, which does not damp the partials, but interpolation vectorises.
    M = int(np.floor(sample_rate / freq_hz - 0.5))
    mu = sample_rate / freq_hz - 0.5 - M
    y = np.zeros(max(n, M + 2))
    burst = torch.rand(M + 2, generator=generator, dtype=torch.float64).numpy() * 2 - 1
    y[: M + 2] = burst - burst.mean()  # no DC offset: it would be heard as a thump
    # y[t] = decay * 0.5 * (z[t - M] + z[t - M - 1]), z[s] = (1 - mu) y[s] + mu y[s - 1] the interpolated line.
    # Every term is at least M samples old, so a whole block of M samples is computed from the block before it.
    for start in range(M + 2, n, M):
        stop = min(start + M, n)
        a = y[start - M : stop - M]
        b = y[start - M - 1 : stop - M - 1]
        c = y[start - M - 2 : stop - M - 2]
        y[start:stop] = decay * 0.5 * ((1 - mu) * a + b + mu * c)
    y = y[:n] * _fade(n, 0, int(0.010 * sample_rate))  # damp the string at the end of the note: no click
    return y.astype(np.float32)


def render(
    pitches,
    onsets,
    *,
    steps_per_quarter: int = 4,
    tempo_bpm: float = 72,
    sample_rate: int = SAMPLE_RATE,
    instrument: str = "organ",
    generator: torch.Generator | None = None,
) -> np.ndarray:
    """Synthesise a piece, pitches and onsets (V, T), as one waveform (n,) float32 with n = round(T * step seconds
    * sample_rate), the voices summed and scaled to a peak of 0.9.

    A note lasts from its onset to the step before the next onset or rest of its voice (a sounding step whose
    pitch differs from the step before also starts a note). Rests are silent. `instrument` is "organ"
    (`organ_tone`) or "string" (`karplus_strong`, which draws its noise from `generator`).
    """
    pitches, onsets = check_piece(pitches, onsets)
    if instrument not in ("organ", "string"):
        raise ValueError(f"instrument must be 'organ' or 'string', got {instrument!r}.")
    if steps_per_quarter < 1 or tempo_bpm <= 0:
        raise ValueError(f"Need steps_per_quarter >= 1 and tempo_bpm > 0, got {steps_per_quarter} and {tempo_bpm}.")
    P, on = pitches.numpy(), onsets.numpy()  # (V, T) each
    V, T = P.shape
    samples_per_step = 60.0 / (tempo_bpm * steps_per_quarter) * sample_rate  # not a whole number in general

    def at(step: int) -> int:  # first sample of a step, rounded from the exact time so no drift accumulates
        return int(round(step * samples_per_step))

    out = np.zeros(at(T))
    for v in range(V):
        t = 0
        while t < T:
            if P[v, t] == REST:
                t += 1
                continue
            end = t + 1  # the note holds while the next step is the same pitch with no new onset
            while end < T and not on[v, end] and P[v, end] == P[v, t]:
                end += 1
            seconds = (at(end) - at(t)) / sample_rate
            f = float(midi_to_hz(P[v, t]))
            if instrument == "organ":
                tone = organ_tone(f, seconds, sample_rate=sample_rate)
            else:
                tone = karplus_strong(f, seconds, sample_rate=sample_rate, generator=generator)
            out[at(t) : at(end)] += tone
            t = end
    peak = np.abs(out).max(initial=0.0)
    if peak > 0:
        out *= 0.9 / peak  # headroom below full scale, and every piece at one loudness
    return out.astype(np.float32)


def player(wave: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Audio:
    """A notebook audio player: an HTML <audio> element with the WAV embedded as base64 (IPython's Audio).

    It needs no server, so it plays in JupyterLab, Colab and the static pages of the book. Values must lie in
    [-1, 1], as `render` returns them; they are not rescaled, so quiet stays quiet. A wave sampled below
    PLAYER_MIN_RATE is first resampled up to it (`upsample`): some browsers refuse WAV files at 4 kHz.
    """
    from IPython.display import Audio  # imported here: genai_lib itself does not need IPython

    wave = np.asarray(wave, dtype=np.float32)
    if wave.ndim != 1:
        raise ValueError(f"player needs a mono waveform (n,), got shape {wave.shape}.")
    if wave.size and np.abs(wave).max() > 1:
        raise ValueError(f"The waveform peaks at {np.abs(wave).max():.3g}, above 1: scale it into [-1, 1] first.")
    if sample_rate < PLAYER_MIN_RATE:
        factor = -(-PLAYER_MIN_RATE // sample_rate)
        wave, sample_rate = np.clip(upsample(wave, factor), -1, 1), sample_rate * factor
    return Audio(data=wave, rate=sample_rate, normalize=False)


def upsample(wave: np.ndarray, factor: int) -> np.ndarray:
    """Band-limited resampling to `factor` times the rate: the spectrum zero-padded, nothing above the old Nyquist.

    Linear interpolation would add images of every partial above the old Nyquist frequency, heard as a buzz.
    """
    n = len(wave)
    X = np.fft.rfft(wave)  # (n // 2 + 1,)
    if n % 2 == 0:
        X[-1] /= 2  # the Nyquist bin stands for a cosine that the longer signal must split between +-f
    return (np.fft.irfft(X, factor * n) * factor).astype(np.float32)  # the zero-padded spectrum, (factor n,)
