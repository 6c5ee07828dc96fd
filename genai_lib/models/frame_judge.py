"""The per-frame judge of chapter 20: the book's judge CNN, trained on single frames of real clips.

Chapter 15's attribute classifier learned the shapes data set's stills (two sizes, four quadrants); on the frames
of clips, whose shapes sit anywhere and have a size of their own, it names the shape of fewer than half of them
correctly (chapter 20 measures it). The same network trained on frames of real clips, from a seed of its own and
with the held-out combinations included, reads a frame's shape and colour. Motion is not its business: a single
frame has none (`genai_lib.motion` reads it analytically).
"""

from __future__ import annotations

import torch

from genai_lib.data.clips import CLIP_GRAMMAR, make_clips
from genai_lib.models.cached import trained_once
from genai_lib.models.judge_cnn import JudgeCNN, fit_heads

JUDGE_SEED = 1234  # the seed of the judge's own clips: no generator in the book trains on it
ATTRIBUTES = ("shape", "colour")  # what one frame shows


def frame_judge(*, n: int = 1000, steps: int = 1000, verbose: bool = True) -> JudgeCNN:
    """A JudgeCNN reading 'shape' and 'colour' from frames (B, 3, 32, 32), trained once on real clips and cached."""
    recipe = {"n": n, "steps": steps, "seed": JUDGE_SEED, "attributes": ATTRIBUTES, "version": 2}

    def train(model: JudgeCNN) -> None:
        seen, held = make_clips("train", n, seed=JUDGE_SEED), make_clips("heldout", max(1, n // 4), seed=JUDGE_SEED)
        frames = torch.cat([seen.clips.flatten(0, 1), held.clips.flatten(0, 1)])  # (8 n', 3, 32, 32)
        T = seen.clips.size(1)
        labels = {a: torch.cat([seen.labels[a], held.labels[a]]).repeat_interleave(T) for a in ATTRIBUTES}
        if verbose:
            print(f"Training the frame judge on {len(frames):,} frames of real clips (once; cached).")
        fit_heads(model, frames, labels, steps=steps, batch_size=64)

    with torch.random.fork_rng(devices=[]):  # the same judge everywhere, and the caller's random stream untouched
        torch.manual_seed(0)
        model = JudgeCNN(3, 32, 32, {a: CLIP_GRAMMAR.values[a] for a in ATTRIBUTES})
        return trained_once(model, recipe, name="frame-judge", train=train)


def judge_frames(clips: torch.Tensor, judge: JudgeCNN) -> dict[str, torch.Tensor]:
    """The judge's reading of every frame of clips (N, T, 3, 32, 32): {attribute: (N, T) value indices}."""
    if clips.dim() != 5 or tuple(clips.shape[2:]) != (3, 32, 32):
        raise ValueError(f"Expected clips (N, T, 3, 32, 32), got shape {tuple(clips.shape)}.")
    N, T = clips.shape[:2]
    return {a: v.view(N, T) for a, v in judge.predict(clips.flatten(0, 1)).items()}
