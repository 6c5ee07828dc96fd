"""Captioned clips of a moving shape, generated from a seed: the `clips` data set of chapter 20.

Each clip is T frames (8 by default) of one coloured shape gliding in a straight line through the middle of a
black square (its path centred to within JITTER pixels), captioned "a fast red circle moving left". As in
`shapes`, the split 'heldout' holds only the attribute combinations the grammar keeps out of training (a
triangle moving left, a green shape moving down), so a text-to-video model that makes them has composed a
motion with a look it never saw it with. Clip i draws its randomness (labels, size, the path's midpoint) from
its own generator, seeded by (seed, split, i): it is the same whatever n is asked for. The true centre of the
shape in every frame is kept beside the pixels, so that a judge of motion can be checked against the truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from genai_lib.data.caption_grammar import COLOURS, CaptionGrammar, CaptionTokenizer
from genai_lib.data.captions import SPLITS, draw_shape

DIRECTIONS = {"left": (0, -1), "right": (0, 1), "up": (-1, 0), "down": (1, 0)}  # (rows, columns) per step
SPEEDS = {"slow": 1.0, "fast": 2.0}  # pixels per frame
RADIUS = 0.16  # circumradius as a share of the image side, jittered by +-10%
MARGIN = 1.0  # pixels kept between the shape and the border in every frame
JITTER = 2.0  # pixels by which a path's midpoint may move from the image's centre, along each axis

CLIP_GRAMMAR = CaptionGrammar(
    name="clips",
    values={
        "speed": tuple(SPEEDS),
        "colour": tuple(COLOURS),
        "shape": ("circle", "square", "triangle"),
        "direction": tuple(DIRECTIONS),
    },
    words={
        "speed": {s: (s,) for s in SPEEDS},
        "colour": {c: (c,) for c in COLOURS},
        "shape": {"circle": ("circle",), "square": ("square",), "triangle": ("triangle",)},
        "direction": {d: (d,) for d in DIRECTIONS},
    },
    templates=("a {speed} {colour} {shape} moving {direction}",),
    # Motion paired with a look: each held-out direction is seen with the other shapes (or colours), and each
    # held-out shape (colour) moves the other three ways in training.
    held_out=({"shape": "triangle", "direction": "left"}, {"colour": "green", "direction": "down"}),
)


@dataclass
class CaptionedClips:
    """Clips (N, T, 3, S, S) in [0, 1], captions, labels per attribute (index into CLIP_GRAMMAR.values), and the
    shape's true centre in every frame, centres (N, T, 2) as (row, column) in pixels."""

    clips: torch.Tensor
    captions: list[str]
    labels: dict[str, torch.Tensor]
    centres: torch.Tensor
    split: str

    def __len__(self) -> int:
        return len(self.captions)

    @property
    def grammar(self) -> CaptionGrammar:
        return CLIP_GRAMMAR

    @property
    def tokenizer(self) -> CaptionTokenizer:
        return CaptionTokenizer(CLIP_GRAMMAR)

    def label_names(self, i: int) -> dict[str, str]:
        """The attribute values of clip i by name, e.g. {'speed': 'fast', 'colour': 'red', ...}."""
        return {a: CLIP_GRAMMAR.values[a][int(self.labels[a][i])] for a in CLIP_GRAMMAR.attributes}


def _labels(split: str, rng: np.random.Generator) -> dict[str, str]:
    """One clip's attributes: uniform over what the split allows (held-out combinations only in 'heldout')."""
    g = CLIP_GRAMMAR
    while True:
        if split == "heldout":
            labels = dict(g.held_out[rng.integers(len(g.held_out))])
            for a in g.attributes:
                labels.setdefault(a, g.values[a][rng.integers(len(g.values[a]))])
            return labels
        labels = {a: vs[rng.integers(len(vs))] for a, vs in g.values.items()}
        if not g.is_held_out(labels):
            return labels


def clip_path(
    direction: str, speed: str, r: float, frames: int, image_size: int, rng: np.random.Generator
) -> np.ndarray:
    """The centres (T, 2) of a straight glide through the middle of the image, keeping a shape of circumradius r
    inside it in every frame.

    The path's midpoint is the image's centre moved by up to JITTER pixels along each axis (less where the path
    needs the room), so the caption and the frame's index fix where the shape is to within a few pixels.
    """
    step = np.array(DIRECTIONS[direction], dtype=np.float64) * SPEEDS[speed]  # (2,) pixels per frame
    travel = np.abs(step) * (frames - 1)  # (2,) how far the path runs along each axis
    low = r * 1.2 + MARGIN  # 1.2 r: the triangle's circumradius, the largest of the three shapes
    room = image_size / 2 - low - travel / 2  # (2,) how far the midpoint may move from the centre
    if (room < 0).any():
        raise ValueError(
            f"A {speed} shape cannot stay inside {image_size}x{image_size} pixels for {frames} frames; use fewer "
            "frames or a larger image."
        )
    jitter = np.minimum(room, JITTER)
    mid = image_size / 2 + rng.uniform(-jitter, jitter)  # (2,)
    return mid[None] + (np.arange(frames) - (frames - 1) / 2)[:, None] * step[None]  # (T, 2)


def make_clips(
    split: str = "train", n: int = 1000, *, seed: int = 0, frames: int = 8, image_size: int = 32
) -> CaptionedClips:
    """`n` captioned clips (n, frames, 3, S, S); clip i is the same for a given (seed, split, i) whatever n is."""
    _check(split, n, seed, frames, image_size)
    clips = np.zeros((n, frames, 3, image_size, image_size), dtype=np.float32)
    centres = np.zeros((n, frames, 2), dtype=np.float32)
    all_labels, captions = [], []
    for i in range(n):
        rng = np.random.default_rng([seed, SPLITS.index(split), i])
        labels = _labels(split, rng)
        r = image_size * RADIUS * rng.uniform(0.9, 1.1)
        path = clip_path(labels["direction"], labels["speed"], r, frames, image_size, rng)
        for t, centre in enumerate(path):
            clips[i, t] = draw_shape(labels["shape"], labels["colour"], r, tuple(centre), image_size=image_size)
        centres[i] = path
        all_labels.append(labels)
        captions.append(CLIP_GRAMMAR.caption(labels, rng))
    index = {
        a: torch.tensor([CLIP_GRAMMAR.values[a].index(lab[a]) for lab in all_labels]) for a in CLIP_GRAMMAR.attributes
    }
    return CaptionedClips(torch.from_numpy(clips), captions, index, torch.from_numpy(centres), split)


def _check(split: str, n: int, seed: int, frames: int, image_size: int) -> None:
    if split not in SPLITS:
        raise ValueError(
            f"Unknown split {split!r}; use one of {SPLITS} ('heldout' has only the held-out combinations "
            f"{[dict(c) for c in CLIP_GRAMMAR.held_out]})."
        )
    for name, value, least in (("n", n, 1), ("seed", seed, 0), ("frames", frames, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} must be an integer >= {least}, got {value!r}.")
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 16 or image_size % 4:
        raise ValueError(f"image_size must be a multiple of 4, at least 16, got {image_size!r}.")
