"""The log-mel spectrogram as a picture and back to sound: STFT magnitude, a mel filterbank (the HTK mel scale, after
Stevens, Volkmann & Newman, 1937) and Griffin-Lim phase retrieval (Griffin & Lim, 1984) with the momentum of the
fast Griffin-Lim algorithm (Perraudin, Balazs & Søndergaard, 2013).

A 0.5 s note at 8 kHz becomes a (1, 64, 32) image in [0, 1]: 64 mel bands by 32 frames, brightness its level in
decibels against a fixed full scale, so a soft note is darker than a loud one. A text-to-image diffusion model can
then learn notes as it learnt pictures, and `mel_image_to_audio` plays what it draws.

The filterbank is written here rather than imported from librosa or torchaudio: it is twenty lines, the book gains
no dependency, and the reader sees every step from hertz to mels to triangles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class MelSpec:
    """How a note becomes a mel image: its length, the STFT, the mel bands, and the decibel range of [0, 1]."""

    sample_rate: int = 8000  # Hz
    seconds: float = 0.5  # every wave has round(seconds * sample_rate) samples (4000)
    n_fft: int = 512  # a 64 ms Hann window: FFT bins 15.6 Hz apart, finer than the lowest mel bands (20 Hz apart)
    # Frames are centred on samples 0, hop, 2 hop, ... (the wave is padded by n_fft / 2 at both ends), so there are
    # 1 + L // hop of them: 1 + 4000 // 128 = 32, which a U-Net of three levels halves twice. A hop of 125 would
    # give 33. A hop of a quarter window also keeps the overlapped Hann windows summing to a constant.
    hop: int = 128
    n_mels: int = 64  # a power of two as well: the image is (1, 64, 32)
    # Hz, the lower edge of the lowest band. Below YIN's lowest pitch (60 Hz) the notes hold only the DC offset that a
    # plucked string's noise burst leaves: silent, but Griffin-Lim turns it into a rumble that buries a high string's
    # quiet tail (at 4 kHz, fmin = 0 let 8% of strings lose their pitch in the round trip; 60 Hz, none).
    fmin: float = 60.0
    fmax: float = 4000.0  # Hz, the upper edge of the highest band: at most the Nyquist frequency sample_rate / 2
    top_db: float = 80.0  # the image spans [full scale - top_db, full scale] dB: 0 is the floor, 1 full scale

    def __post_init__(self) -> None:
        if self.n_fft < 2 or not 0 < self.hop <= self.n_fft:
            raise ValueError(f"Need n_fft >= 2 and 0 < hop <= n_fft, got n_fft={self.n_fft}, hop={self.hop}.")
        if not 0 <= self.fmin < self.fmax <= self.sample_rate / 2:
            raise ValueError(
                f"Need 0 <= fmin < fmax <= sample_rate / 2 = {self.sample_rate / 2:g} Hz (Nyquist), got "
                f"fmin={self.fmin}, fmax={self.fmax}; with another sample_rate, set fmax too."
            )
        if not self.top_db > 0:
            raise ValueError(f"top_db must be positive (80 dB is the usual range), got {self.top_db}.")
        if self.n_samples < 1:
            raise ValueError(f"A note of {self.seconds} s at {self.sample_rate} Hz has no samples.")

    @property
    def n_samples(self) -> int:
        return round(self.seconds * self.sample_rate)

    @property
    def n_frames(self) -> int:
        return 1 + self.n_samples // self.hop

    @property
    def n_freq(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def full_scale(self) -> float:
        """The mel magnitude of 0 dB, sum(window) = n_fft / 2: a sine of amplitude 1 puts half of it into its own bin
        and a quarter into each neighbour (the Hann main lobe), and a mel band wider than the lobe adds them up.
        A low band, narrower than the lobe, catches less: a full-scale sine reads -6 to 0 dB (0.93 to 1 in the
        image); the loud notes of `genai_lib.data.sounds` (peak 0.8) reach 0.79 (string) to 0.92 (sine) on average."""
        return self.n_fft / 2


def hz_to_mel(f: torch.Tensor) -> torch.Tensor:
    """The HTK mel scale, mel = 2595 log10(1 + f / 700): about linear below 700 Hz, logarithmic above."""
    return 2595 * torch.log10(1 + f / 700)


def mel_to_hz(m: torch.Tensor) -> torch.Tensor:
    """The inverse of `hz_to_mel`: f = 700 (10^(mel / 2595) - 1)."""
    return 700 * (10 ** (m / 2595) - 1)


def mel_filterbank(
    sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None
) -> torch.Tensor:
    """M (n_mels, n_fft // 2 + 1) float32: row k is a triangle over the FFT bins, rising from the edge f_k to 1 at
    the centre f_{k+1} and falling to f_{k+2}, where f_0 < ... < f_{n_mels+1} are evenly spaced in mels between
    fmin and fmax (default: the Nyquist frequency).

    The triangles peak at 1 rather than having equal area, so a partial reads the same level in a wide high band as
    in a narrow low one. Each overlaps its neighbours up to their centres, so from the first centre to the last
    the filters sum to 1.
    """
    fmax = sample_rate / 2 if fmax is None else fmax
    if not 0 <= fmin < fmax <= sample_rate / 2:
        raise ValueError(f"Need 0 <= fmin < fmax <= {sample_rate / 2:g} Hz (Nyquist), got fmin={fmin}, fmax={fmax}.")
    if n_mels < 1 or n_fft < 2:
        raise ValueError(f"Need n_mels >= 1 and n_fft >= 2, got n_mels={n_mels}, n_fft={n_fft}.")
    # float64: edges a few hertz apart are differences of numbers in the thousands
    m = torch.linspace(float(hz_to_mel(torch.tensor(fmin))), float(hz_to_mel(torch.tensor(fmax))), n_mels + 2)
    edges = mel_to_hz(m.double())  # (n_mels + 2,) Hz
    bins = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)  # (F,) Hz of each FFT bin
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]  # (n_mels, 1) each
    rise = (bins - lower) / (centre - lower)  # (n_mels, F)
    fall = (upper - bins) / (upper - centre)
    M = torch.minimum(rise, fall).clamp_min(0.0)
    empty = (M.amax(dim=1) == 0).nonzero().flatten().tolist()
    if empty:
        raise ValueError(
            f"Mel bands {empty} fall between two FFT bins and would always read 0: {n_mels} bands are too many "
            f"for n_fft={n_fft} at {sample_rate} Hz. Use fewer mel bands, a larger n_fft, or a higher fmin."
        )
    return M.float()


def stft_magnitude(waves: torch.Tensor, cfg: MelSpec) -> torch.Tensor:
    """abs(STFT) (N, n_fft // 2 + 1, n_frames) of waves (N, n_samples) in [-1, 1], Hann window, frames centred."""
    return _stft(_check_waves(waves, cfg), cfg).abs()


def to_mel_image(waves: torch.Tensor, cfg: MelSpec) -> torch.Tensor:
    """Waves (N, n_samples) in [-1, 1] -> mel images (N, 1, n_mels, n_frames) in [0, 1].

    The image is 1 + dB / top_db, clipped to [0, 1], with dB = 20 log10(M abs(STFT) / full_scale): the reference is
    fixed, not each note's own maximum, so loudness survives (a note at a quarter of full scale is 12 dB darker).
    """
    S = stft_magnitude(waves, cfg)  # (N, F, T)
    mel = torch.einsum("mf,nft->nmt", _filterbank(cfg, S.device), S)  # (N, n_mels, T)
    floor = cfg.full_scale * 10 ** (-cfg.top_db / 20)
    dB = 20 * torch.log10(mel.clamp_min(floor) / cfg.full_scale)
    return (1 + dB / cfg.top_db).clamp(0.0, 1.0).unsqueeze(1)  # (N, 1, n_mels, T)


@torch.no_grad()
def mel_image_to_linear(images: torch.Tensor, cfg: MelSpec, *, n_iter: int = 50) -> torch.Tensor:
    """Mel images (N, 1, n_mels, n_frames) in [0, 1] -> a magnitude spectrogram S >= 0 (N, n_fft // 2 + 1, n_frames)
    whose mel bands M S match the image's in the least-squares sense.

    M is wide (64 bands, 257 bins), so many S fit. The pseudo-inverse picks the smallest, which swings negative
    beside every peak; clamped at 0, it adds energy that was never there. Non-negative least squares by the
    multiplicative updates of Lee & Seung (2001), S <- S (M^T y) / (M^T M S) elementwise, keeps S >= 0 at every
    step. Started from the clamped pseudo-inverse, 50 steps (on 500 test notes at 8 kHz, through Griffin-Lim after)
    bring S closer to the true magnitudes (relative error 0.24 -> 0.15), halve the median pitch error (8 -> 4
    cents) and keep the loudness `genai_lib.models.sound_judge` hears: after the pseudo-inverse alone it calls 2.6%
    of test notes and 10% of held-out ones by the wrong loudness, after the 50 steps 0.2% and none.
    """
    if n_iter < 0:
        raise ValueError(
            f"n_iter counts non-negative least-squares steps (0: the clamped pseudo-inverse), got {n_iter}."
        )
    # The floor, where to_mel_image clipped, means "nothing here": mapped to 0, not to -top_db in every bin, which
    # summed over the bins is a noise as loud as the tail of a soft high string (at 4 kHz it took 4% of all pitches).
    floor = 10 ** (-cfg.top_db / 20)
    gain = 10 ** ((_check_images(images, cfg).squeeze(1) - 1) * cfg.top_db / 20)  # (N, n_mels, T) in [floor, 1]
    y = cfg.full_scale * (gain - floor) / (1 - floor)
    N, n_mels, T = y.shape
    y = y.transpose(1, 2).reshape(N * T, n_mels)  # (N T, n_mels): every frame is its own problem
    M = _filterbank(cfg, y.device)  # (n_mels, F)
    S = (y @ torch.linalg.pinv(M).T).clamp_min(0.0)  # (N T, F)
    MTy = y @ M
    tiny = torch.finfo(S.dtype).tiny
    for _ in range(n_iter):
        S = S * MTy / ((S @ M.T) @ M + tiny)  # (S M^T) M: two thin products instead of one (F, F) one
    return S.reshape(N, T, -1).transpose(1, 2)  # (N, F, T)


@torch.no_grad()
def griffin_lim(
    magnitude: torch.Tensor,
    cfg: MelSpec,
    *,
    n_iter: int = 32,
    momentum: float = 0.99,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Waves (N, n_samples) whose STFT magnitude is close to `magnitude` S (N, n_fft // 2 + 1, n_frames).

    Griffin & Lim alternate two projections from a random phase: onto the spectrograms of magnitude S, P_S(X) =
    S X / abs(X), and onto the consistent ones (the STFTs of some wave), P_C(X) = STFT(iSTFT(X)); no round of
    theirs raises the inconsistency (`inconsistency`). The fast variant (Perraudin et al.) pushes on along the last
    step, c_n = P_C(P_S(t_{n-1})), t_n = c_n + momentum (c_n - c_{n-1}). It may overshoot at first, but on 16 real
    notes it is at 0.06 after 32 rounds where plain Griffin-Lim (momentum 0) is at 0.13, from 0.66 for the random
    phase. 32 rounds turn 500 notes into audio in about 4 s on one CPU core. The result is not clipped (see
    `mel_image_to_audio`).
    """
    S = _check_magnitude(magnitude, cfg)
    if not 0 <= momentum < 1 or n_iter < 0:
        raise ValueError(f"Need n_iter >= 0 and momentum in [0, 1) (0 is plain Griffin-Lim), got {n_iter}, {momentum}.")
    phase = 2 * math.pi * torch.rand(S.shape, generator=generator).to(S.device)  # (N, F, T) radians
    t = c_prev = torch.polar(S, phase)
    for _ in range(n_iter):
        c = _stft(_istft(S * t.sgn(), cfg), cfg)  # P_C(P_S(t)); sgn(t) = t / abs(t), 3x faster than polar(angle)
        t = torch.lerp(c_prev, c, 1 + momentum)  # c + momentum (c - c_prev)
        c_prev = c
    return _istft(S * t.sgn(), cfg)


def inconsistency(waves: torch.Tensor, magnitude: torch.Tensor, cfg: MelSpec) -> torch.Tensor:
    """(N,): the relative distance norm(abs(STFT(x)) - S) / norm(S) (Frobenius norms) from each wave's STFT
    magnitude to its target S, called spectral convergence in the literature: 0 when x has exactly the magnitude S.
    """
    S = _check_magnitude(magnitude, cfg)
    x = torch.as_tensor(waves)
    if x.shape != (len(S), cfg.n_samples) or not torch.isfinite(x).all():
        raise ValueError(f"Need finite waves ({len(S)}, {cfg.n_samples}), one per magnitude, got {tuple(x.shape)}.")
    return (_stft(x.float(), cfg).abs() - S).flatten(1).norm(dim=1) / S.flatten(1).norm(dim=1).clamp_min(1e-12)


def mel_image_to_audio(
    images: torch.Tensor,
    cfg: MelSpec,
    *,
    n_iter: int = 32,
    momentum: float = 0.99,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Mel images (N, 1, n_mels, n_frames) in [0, 1] -> waves (N, n_samples) in [-1, 1]: `mel_image_to_linear`, then
    `griffin_lim`, then clipped, since a phase that no note had can add partials into a peak above full scale."""
    S = mel_image_to_linear(images, cfg)
    return griffin_lim(S, cfg, n_iter=n_iter, momentum=momentum, generator=generator).clamp(-1.0, 1.0)


def _filterbank(cfg: MelSpec, device: torch.device) -> torch.Tensor:
    return mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax).to(device)


def _stft(x: torch.Tensor, cfg: MelSpec) -> torch.Tensor:
    """(N, L) -> complex (N, F, T). Zero padding at the ends: outside a note is silence."""
    window = torch.hann_window(cfg.n_fft, device=x.device)
    return torch.stft(x, cfg.n_fft, cfg.hop, window=window, center=True, pad_mode="constant", return_complex=True)


def _istft(X: torch.Tensor, cfg: MelSpec) -> torch.Tensor:
    """complex (N, F, T) -> (N, n_samples): overlap-add of the windowed inverse FFTs, divided by the summed window^2."""
    window = torch.hann_window(cfg.n_fft, device=X.device)
    return torch.istft(X, cfg.n_fft, cfg.hop, window=window, center=True, length=cfg.n_samples)


def _check_waves(waves: torch.Tensor, cfg: MelSpec) -> torch.Tensor:
    x = torch.as_tensor(waves)
    if x.dim() != 2 or x.shape[1] != cfg.n_samples:
        raise ValueError(
            f"Expected waves (N, {cfg.n_samples}): {cfg.seconds} s at {cfg.sample_rate} Hz, got shape "
            f"{tuple(x.shape)}. For other lengths use dataclasses.replace(cfg, seconds=...)."
        )
    if x.is_complex() or not x.is_floating_point():
        raise ValueError(f"Waves must be real floating-point samples in [-1, 1], got dtype {x.dtype}.")
    if not bool(((x >= -1) & (x <= 1)).all()):  # NaN fails this too
        raise ValueError(
            "The waves hold samples outside [-1, 1] or NaN. Normalise them (x / x.abs().max()), or clip on purpose "
            "with x.clamp(-1, 1): the mel image's 0 dB is full scale, so louder samples would not fit it."
        )
    return x.float()


def _check_images(images: torch.Tensor, cfg: MelSpec) -> torch.Tensor:
    x = torch.as_tensor(images)
    shape = (1, cfg.n_mels, cfg.n_frames)
    if x.dim() != 4 or tuple(x.shape[1:]) != shape:
        hint = " (add the channel with images.unsqueeze(1))" if tuple(x.shape[1:]) == shape[1:] else ""
        raise ValueError(f"Expected mel images (N, {', '.join(map(str, shape))}), got {tuple(x.shape)}{hint}.")
    if not x.is_floating_point() or not bool(((x >= 0) & (x <= 1)).all()):  # NaN fails this too
        raise ValueError(
            "Mel images hold values outside [0, 1] or NaN: 0 is the floor, 1 full scale. Clip a generated image "
            "with images.clamp(0, 1) first; NaN means the generator itself failed."
        )
    return x.float()


def _check_magnitude(magnitude: torch.Tensor, cfg: MelSpec) -> torch.Tensor:
    S = torch.as_tensor(magnitude)
    if S.dim() != 3 or tuple(S.shape[1:]) != (cfg.n_freq, cfg.n_frames):
        raise ValueError(
            f"Expected a magnitude spectrogram (N, {cfg.n_freq}, {cfg.n_frames}), got {tuple(S.shape)}; a mel image "
            "goes through mel_image_to_linear first."
        )
    if S.is_complex() or not bool((S >= 0).all() & torch.isfinite(S).all()):
        raise ValueError("A magnitude spectrogram is real, finite and >= 0; pass abs(X) of a complex STFT X.")
    return S.float()
