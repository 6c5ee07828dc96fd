"""The judge of chapter 19's generated notes: a small CNN on mel images for instrument and loudness, and YIN
(de Cheveigné & Kawahara, 2002) for pitch and register.

It shares no weights with the generative models. The CNN is trained once, on real notes of its own seed (so it
never hears the notes a generator trained on or is evaluated against) from all 12 (instrument, register) pairs,
the held-out low bell and high reed included, and cached. Pitch needs no network: YIN reads it off the wave, and
the register follows from the nearest MIDI note. Caption accuracy is then the share of notes whose judged
instrument, register and loudness equal the ones their caption asked for (`genai_lib.metrics.caption_accuracy`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch

from genai_lib.data.sounds import INSTRUMENTS, LOUDNESS, SoundData, load_sounds, register_of
from genai_lib.models.cached import trained_once
from genai_lib.models.judge_cnn import JudgeCNN, fit_heads
from genai_lib.pitch import yin_batch
from genai_lib.spectrogram import MelSpec, mel_image_to_audio, to_mel_image

JUDGE_SEED = 1234  # the seed of the judge's own real notes: no generator in the book trains or is evaluated on it
CAPTION_ATTRIBUTES = ("instrument", "register", "loudness")  # what a caption asks for; 'pitch' is judged besides


@dataclass
class SoundJudgeConfig:
    """The mel images the judge reads and the width of its CNN."""

    mel: MelSpec = field(default_factory=MelSpec)  # notes are judged as the mel images the diffusion model draws
    width: int = 16  # channels of the first conv stage

    def __post_init__(self) -> None:
        if self.mel.n_mels % 8 or self.mel.n_frames % 8:
            raise ValueError(
                f"The judge halves its mel images three times, so n_mels and the frame count must be multiples of 8; "
                f"got {self.mel.n_mels} x {self.mel.n_frames}."
            )


class SoundJudge(JudgeCNN):
    """Conv features of a mel image, then logits per attribute: {'instrument': (B, 4), 'loudness': (B, 2)}."""

    def __init__(self, config: SoundJudgeConfig) -> None:
        mel = config.mel
        super().__init__(
            1, mel.n_mels, mel.n_frames, {"instrument": INSTRUMENTS, "loudness": LOUDNESS}, channels=config.width
        )
        self.config = config

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        shape = (1, self.config.mel.n_mels, self.config.mel.n_frames)
        if x.dim() != 4 or tuple(x.shape[1:]) != shape:
            raise ValueError(
                f"The sound judge expects mel images (B, {', '.join(map(str, shape))}) from "
                f"genai_lib.spectrogram.to_mel_image, got {tuple(x.shape)}."
            )
        return super().forward(x)


def nearest_midi(f0: torch.Tensor) -> torch.Tensor:
    """Frequencies (N,) in Hz -> the nearest MIDI notes (N,) int64, round(69 + 12 log2(f0 / 440)); -1 for NaN."""
    f0 = torch.as_tensor(f0, dtype=torch.float64)
    midi = torch.round(69 + 12 * torch.log2(f0 / 440))
    return torch.where(torch.isfinite(midi), midi, torch.full_like(midi, -1)).long()


def judge_notes(waves: torch.Tensor, sample_rate: int, judge: SoundJudge) -> dict[str, torch.Tensor]:
    """Judged labels (N,) int64 of notes (N, L) in [-1, 1]: 'instrument' and 'loudness' (indices into INSTRUMENTS and
    LOUDNESS) from the CNN, 'pitch' (MIDI) and 'register' (index into REGISTERS) from YIN's f0.

    A note in which YIN finds no pitch (silence, noise) gets pitch and register -1, which no caption asks for, so it
    counts as wrong. For `caption_accuracy`, pass the caption's attributes only:
    ``{a: judged[a] for a in CAPTION_ATTRIBUTES}``.
    """
    mel = judge.config.mel
    if sample_rate != mel.sample_rate:
        raise ValueError(
            f"The judge hears notes at {mel.sample_rate} Hz (its mel images are made for that rate), got notes at "
            f"{sample_rate} Hz; resample them first."
        )
    judged = judge.predict(to_mel_image(waves, mel))  # to_mel_image checks the waves' shape and range
    pitch = nearest_midi(yin_batch(waves, sample_rate))
    judged["pitch"] = pitch
    judged["register"] = torch.where(pitch >= 0, register_of(pitch), pitch)
    return judged


def _real_notes(n: int, mel: MelSpec) -> SoundData:
    """All 12 (instrument, register) pairs, held-out ones included: the judge must know a low bell when it hears one."""
    seen = load_sounds("train", n, seed=JUDGE_SEED, sample_rate=mel.sample_rate, seconds=mel.seconds)
    held = load_sounds("heldout", max(1, n // 4), seed=JUDGE_SEED, sample_rate=mel.sample_rate, seconds=mel.seconds)
    return SoundData(
        torch.cat([seen.waves, held.waves]),
        torch.cat([seen.instrument, held.instrument]),
        torch.cat([seen.pitch, held.pitch]),
        torch.cat([seen.loudness, held.loudness]),
        seen.captions + held.captions,
        mel.sample_rate,
        "judge",
    )


def sound_judge(*, mel: MelSpec | None = None, n: int = 1000, steps: int = 200, verbose: bool = True) -> SoundJudge:
    """The judge of chapter 19's notes, read as `mel` images (default `MelSpec()`): trained once and cached.

    It learns from the mel images of n + n // 4 real notes and of every third one of them sent through
    `mel_image_to_audio` (Griffin-Lim), because that is how it will hear the diffusion model's notes. Trained on
    real notes alone, it judged every real note right but its loudness was fragile after the round trip (Griffin-Lim
    fills in the quiet background of the image, perhaps the cue it leant on): with 8 channels instead of 16 it
    called 9% of held-out round trips wrong. With round trips among its lessons it scores 99-100% on both
    (tests/test_sound_judge.py).
    """
    config = SoundJudgeConfig(mel=MelSpec() if mel is None else mel)
    recipe = {"config": asdict(config), "n": n, "steps": steps, "seed": JUDGE_SEED, "version": 1}

    def train(model: SoundJudge) -> None:
        data = _real_notes(n, config.mel)
        if verbose:
            print(
                f"Training the sound judge on {len(data):,} real notes and a third of them through Griffin-Lim (once)."
            )
        real = to_mel_image(data.waves, config.mel)  # (N, 1, n_mels, T)
        heard = to_mel_image(
            mel_image_to_audio(real[::3], config.mel, generator=torch.Generator().manual_seed(0)), config.mel
        )
        images = torch.cat([real, heard])  # (N + N/3, 1, n_mels, T)
        labels = {a: torch.cat([v, v[::3]]) for a, v in (("instrument", data.instrument), ("loudness", data.loudness))}
        fit_heads(model, images, labels, steps=steps, batch_size=32)

    with torch.random.fork_rng(devices=[]):  # the same judge everywhere, and the caller's random stream untouched
        torch.manual_seed(0)
        return trained_once(SoundJudge(config), recipe, name="sound-judge", train=train)
