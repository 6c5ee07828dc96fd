"""The analytic pitch judge of chapter 19: YIN (de Cheveigné & Kawahara, 2002), cents, and a per-note verdict.

A generated note is judged by no network: YIN reads its fundamental frequency from the waveform alone, and the
note is correct when that frequency lies within a tolerance (50 cents, a quarter tone) of the pitch it was asked
for. The judge's own accuracy on the real notes of `genai_lib.data.sounds` is its ceiling (tests/test_pitch.py).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from numpy.typing import ArrayLike

from genai_lib.audio import midi_to_hz

SILENCE = 1e-5  # peak |x| below this (-100 dBFS, under one step of 16-bit audio) has no pitch: YIN returns NaN


def yin_batch(
    waves: torch.Tensor | np.ndarray,
    sample_rate: int,
    *,
    fmin: float = 60.0,
    fmax: float = 1200.0,
    threshold: float = 0.1,
    voicing: float = 0.2,
    frame_length: int | None = None,
) -> torch.Tensor:
    """The pitch (N,) float64 in Hz of each wave (N, L): the median of its YIN track (`yin_track`) over its voiced
    frames, those whose aperiodicity is below `voicing`; NaN for a wave with none (silence, or noise).

    The median ignores a frame or two that went wrong, typically the noisy attack of a plucked string or the strike
    of a bell. The voicing gate drops frames where a note has died away below the noise: there YIN still returns
    a lag, but a random one. On the notes of `genai_lib.data.sounds` with white noise added 20 dB below them the
    gate at 0.2 lifts the share of string notes within 50 cents from about 85% to 98%, and pure noise never passes.
    """
    if not voicing > 0:
        raise ValueError(f"voicing must be positive (aperiodicity 0 is a perfectly periodic frame), got {voicing}.")
    f0, aperiodicity = yin_track(
        waves, sample_rate, fmin=fmin, fmax=fmax, threshold=threshold, frame_length=frame_length
    )
    voiced = torch.where(aperiodicity < voicing, f0, torch.full_like(f0, math.nan))  # NaN < voicing is False
    return voiced.nanmedian(dim=1).values  # no voiced frame -> NaN


def yin_track(
    waves: torch.Tensor | np.ndarray,
    sample_rate: int,
    *,
    fmin: float = 60.0,
    fmax: float = 1200.0,
    threshold: float = 0.1,
    frame_length: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """YIN (de Cheveigné & Kawahara, 2002) in frames of `frame_length` samples (default 100 ms, or the whole wave if
    shorter) with a hop of half a frame: the fundamental frequency f0 (N, F) in Hz and the aperiodicity (N, F),
    d' at the chosen lag (near 0 for a periodic frame, near 1 for noise); both NaN in silent frames.

    A periodic x with period T satisfies x_j = x_{j+T}, so the difference d(tau) = sum_j (x_j - x_{j+tau})^2 dips
    to zero at tau = T. Dividing by its running mean, d'(tau) = d(tau) / ((1/tau) sum_{k<=tau} d(k)), makes the
    dips comparable to 1; the period is the first dip of d' below `threshold` (else d''s lowest point) between
    sample_rate/fmax and sample_rate/fmin, refined by a parabola through its neighbours.
    """
    x = _as_batch(waves)  # (N, L) float64
    N, L = x.shape
    tau_min, tau_max = _lag_range(sample_rate, fmin, fmax, threshold)
    if frame_length is None:
        frame_length = max(int(0.1 * sample_rate), 2 * tau_max + 2)
    frame_length = min(frame_length, L)
    if frame_length < 2 * tau_max + 2:
        raise ValueError(
            f"A frame of {frame_length} samples is too short to find pitches down to fmin = {fmin} Hz: that needs "
            f"two periods, {2 * tau_max + 2} samples. Pass a longer wave or frame_length, or raise fmin."
        )
    frames = x.unfold(1, frame_length, max(frame_length // 2, 1))  # (N, F, frame_length)
    F = frames.shape[1]
    f0, aperiodicity = _yin_frames(frames.reshape(N * F, frame_length), sample_rate, tau_min, tau_max, threshold)
    return f0.reshape(N, F), aperiodicity.reshape(N, F)


def _yin_frames(
    x: torch.Tensor, sample_rate: int, tau_min: int, tau_max: int, threshold: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """YIN on each row of x (B, L) as one analysis frame, integrating over its first L - tau_max - 1 samples:
    f0 (B,) in Hz (NaN if silent) and the aperiodicity d'(tau) at the chosen lag (B,)."""
    d = _difference(x, tau_max + 1)  # (B, T) for lags 0..tau_max+1: a neighbour on each side of every candidate
    lags = torch.arange(d.shape[1], dtype=torch.float64)
    # Cumulative-mean normalisation. d itself is 0 at tau = 0 and small at short lags, where neighbouring samples
    # are alike, so "the lowest d" would choose a tiny lag (a pitch far too high). d' starts at 1 and only dips
    # where the wave really repeats; and because it is measured against the average, one threshold serves loud
    # and soft, bright and dull notes alike.
    running = torch.cumsum(d[:, 1:], dim=1)  # (B, T-1)
    d_prime = torch.ones_like(d)
    d_prime[:, 1:] = d[:, 1:] * lags[1:] / running.clamp_min(torch.finfo(torch.float64).tiny)

    window = d_prime[:, tau_min : tau_max + 1]  # (B, K) the candidate lags
    below = window < threshold
    # The *first* dip under the threshold, not the deepest: a wave that repeats after T also repeats after 2T, 3T,
    # and with noise or a changing amplitude the dip at 2T can come out deeper (a sub-octave error). Then walk
    # down to the bottom of that dip.
    first = below.to(torch.uint8).argmax(dim=1)  # (B,) index of the first lag under the threshold
    rising = torch.ones_like(below)
    rising[:, :-1] = window[:, 1:] >= window[:, :-1]
    bottom = ((torch.arange(window.shape[1]) >= first[:, None]) & rising).to(torch.uint8).argmax(dim=1)
    k = torch.where(below.any(dim=1), bottom, window.argmin(dim=1))  # no dip under the threshold: the lowest
    tau = (k + tau_min)[:, None]  # (B, 1) lag in samples

    # Parabolic interpolation on the raw d, whose minimum (unlike d''s) the normalisation does not bias: the
    # vertex of the parabola through (tau-1, tau, tau+1) moves the estimate by less than one sample.
    a, b, c = (d.gather(1, tau + s).squeeze(1) for s in (-1, 0, 1))
    curvature = a - 2 * b + c
    shift = torch.where(curvature > 0, 0.5 * (a - c) / curvature.clamp_min(1e-300), torch.zeros_like(b))
    f0 = sample_rate / (tau.squeeze(1).double() + shift.clamp(-1.0, 1.0))  # (B,) Hz
    silent = (x.abs().amax(dim=1) < SILENCE) | ~torch.isfinite(f0)
    nan = torch.full_like(f0, math.nan)
    return torch.where(silent, nan, f0), torch.where(silent, nan, window.gather(1, k[:, None]).squeeze(1))


def yin(
    wave: torch.Tensor | np.ndarray,
    sample_rate: int,
    *,
    fmin: float = 60.0,
    fmax: float = 1200.0,
    threshold: float = 0.1,
    voicing: float = 0.2,
    frame_length: int | None = None,
) -> float:
    """The pitch in Hz of one wave (L,): YIN's median over its voiced frames (see `yin_batch`); NaN if it has none."""
    if np.ndim(wave) != 1:
        raise ValueError(f"yin takes one mono wave (L,), got shape {tuple(np.shape(wave))}; use yin_batch for (N, L).")
    w = wave if isinstance(wave, torch.Tensor) else torch.as_tensor(np.asarray(wave))
    kwargs = dict(fmin=fmin, fmax=fmax, threshold=threshold, voicing=voicing)
    return float(yin_batch(w[None], sample_rate, **kwargs, frame_length=frame_length)[0])


def cents(f: ArrayLike | torch.Tensor, f_ref: ArrayLike | torch.Tensor) -> torch.Tensor | np.ndarray | float:
    """The interval from f_ref up to f in cents, 1200 log2(f / f_ref): 100 per semitone, 1200 per octave."""
    if isinstance(f, torch.Tensor) or isinstance(f_ref, torch.Tensor):
        f_t, ref_t = (torch.as_tensor(v, dtype=torch.float64) for v in (f, f_ref))
        return 1200 * torch.log2(f_t / ref_t)
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero or NaN frequency gives -inf or NaN, not a warning
        out = 1200 * np.log2(np.asarray(f, dtype=np.float64) / np.asarray(f_ref, dtype=np.float64))
    return float(out) if out.ndim == 0 else out


def pitch_error_cents(
    waves: torch.Tensor | np.ndarray,
    midi: ArrayLike | torch.Tensor,
    sample_rate: int,
    *,
    fmin: float = 60.0,
    fmax: float = 1200.0,
    threshold: float = 0.1,
    voicing: float = 0.2,
) -> torch.Tensor:
    """(N,) float64: how far YIN's pitch of each wave (N, L) lies from its MIDI pitch, in cents (NaN: no pitch)."""
    f0 = yin_batch(waves, sample_rate, fmin=fmin, fmax=fmax, threshold=threshold, voicing=voicing)
    target = torch.from_numpy(midi_to_hz(torch.as_tensor(midi).cpu().numpy())).reshape(-1)
    if target.shape != f0.shape:
        raise ValueError(f"Need one MIDI pitch per wave: {len(f0)} waves, midi of shape {tuple(target.shape)}.")
    return 1200 * torch.log2(f0 / target)  # cents(f0, target)


def pitch_correct(
    waves: torch.Tensor | np.ndarray,
    midi: ArrayLike | torch.Tensor,
    sample_rate: int,
    *,
    tolerance_cents: float = 50.0,
    fmin: float = 60.0,
    fmax: float = 1200.0,
    threshold: float = 0.1,
    voicing: float = 0.2,
) -> torch.Tensor:
    """The judge's verdict (N,) bool: YIN's pitch lies within `tolerance_cents` of the MIDI pitch (no pitch: False).

    50 cents is half a semitone, so a note is correct when it rounds to the pitch it was asked for; an octave
    error is 1200 cents off and always wrong.
    """
    if not tolerance_cents > 0:
        raise ValueError(f"tolerance_cents must be positive, got {tolerance_cents}.")
    error = pitch_error_cents(waves, midi, sample_rate, fmin=fmin, fmax=fmax, threshold=threshold, voicing=voicing)
    return error.abs() <= tolerance_cents  # NaN (silence, noise) compares False


def _as_batch(waves: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Waves (N, L) as a float64 CPU tensor, with a message a person can act on when they are not."""
    x = waves.detach() if isinstance(waves, torch.Tensor) else torch.as_tensor(np.asarray(waves))
    if x.ndim != 2:
        raise ValueError(f"yin_batch takes waves (N, L), got shape {tuple(x.shape)}; for one wave (L,) use yin.")
    if x.is_complex() or x.dtype == torch.bool or not (x.is_floating_point() or x.dtype in _INTEGER):
        raise ValueError(f"Waves must be real numbers, got dtype {x.dtype}.")
    x = x.cpu().double()
    if not torch.isfinite(x).all():
        raise ValueError("The waves contain NaN or infinite samples; YIN needs finite audio.")
    return x


_INTEGER = (torch.int16, torch.int32, torch.int64)


def _lag_range(sample_rate: int, fmin: float, fmax: float, threshold: float) -> tuple[int, int]:
    """The candidate periods in samples, [floor(sr / fmax), ceil(sr / fmin)], after checking the arguments."""
    if not sample_rate > 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}.")
    if not 0 < fmin < fmax <= sample_rate / 2:
        raise ValueError(
            f"Need 0 < fmin < fmax <= sample_rate / 2 = {sample_rate / 2:g} Hz (Nyquist), got fmin={fmin}, fmax={fmax}."
        )
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must lie in (0, 1) (the paper uses 0.1), got {threshold}.")
    return int(sample_rate // fmax), int(math.ceil(sample_rate / fmin))


def _difference(x: torch.Tensor, T_max: int) -> torch.Tensor:
    """d(tau) = sum_{j<W} (x_j - x_{j+tau})^2 for tau = 0..T_max, (N, T_max + 1), with W = L - T_max.

    Expanded, d(tau) = e(0) + e(tau) - 2 r(tau): energies e(tau) = sum_{j<W} x_{j+tau}^2 from one cumulative sum,
    and the correlation r(tau) = sum_{j<W} x_j x_{j+tau} for every lag at once by the FFT, O(L log L) per wave
    instead of O(L T_max).
    """
    N, L = x.shape
    W = L - T_max
    n_fft = 1 << (L - 1).bit_length()  # >= L: j + tau <= L - 1, so the circular correlation never wraps
    head = torch.fft.rfft(x[:, :W], n=n_fft)  # (N, n_fft // 2 + 1)
    whole = torch.fft.rfft(x, n=n_fft)
    r = torch.fft.irfft(head.conj() * whole, n=n_fft)[:, : T_max + 1]  # (N, T)
    energy = torch.nn.functional.pad(torch.cumsum(x * x, dim=1), (1, 0))  # (N, L + 1): sum of x_j^2 for j < k
    lags = torch.arange(T_max + 1)
    e = energy[:, lags + W] - energy[:, lags]  # (N, T)
    d = (e[:, :1] + e - 2 * r).clamp_min(0.0)  # rounding can leave -1e-16 where d is 0
    d[:, 0] = 0.0
    return d
