"""Captioned images generated from a seed: `shapes` (rendered shapes) and `captioned_mnist` (coloured digits).

Each example keeps its attribute labels beside its caption. The split 'heldout' contains only the attribute
combinations the grammar holds out (a blue triangle, say), which never appear in 'train' or 'test': a model
that draws them has composed "blue" and "triangle", each seen only with other partners.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from genai_lib.data.caption_grammar import COLOURS, GRAMMARS, CaptionGrammar, CaptionTokenizer

SPLITS = ("train", "test", "heldout")


@dataclass
class CaptionedImages:
    """Images (N, 3, H, W) in [0, 1], their captions, and integer labels per attribute (index into grammar.values)."""

    images: torch.Tensor
    captions: list[str]
    labels: dict[str, torch.Tensor]
    grammar: CaptionGrammar
    split: str

    def __len__(self) -> int:
        return len(self.captions)

    @property
    def tokenizer(self) -> CaptionTokenizer:
        return CaptionTokenizer(self.grammar)

    def label_names(self, i: int) -> dict[str, str]:
        """The attribute values of example i by name, e.g. {'shape': 'circle', 'colour': 'red', ...}."""
        return {a: self.grammar.values[a][int(self.labels[a][i])] for a in self.grammar.attributes}


def _draw_labels(grammar: CaptionGrammar, split: str, n: int, rng: np.random.Generator) -> list[dict[str, str]]:
    """Attribute values for n examples: uniform over the combinations the split allows."""
    out: list[dict[str, str]] = []
    while len(out) < n:
        if split == "heldout":  # a held-out combination, the other attributes uniform
            labels = dict(grammar.held_out[rng.integers(len(grammar.held_out))])
            for a in grammar.attributes:
                labels.setdefault(a, grammar.values[a][rng.integers(len(grammar.values[a]))])
        else:
            labels = {a: vs[rng.integers(len(vs))] for a, vs in grammar.values.items()}
            if grammar.is_held_out(labels):
                continue
        out.append(labels)
    return out


def _centre(position: str, size: int, rng: np.random.Generator) -> tuple[float, float]:
    """(row, column) of an object's centre: the middle of its quadrant, jittered by up to size/16 pixels."""
    vertical, horizontal = position.split()
    jitter = rng.uniform(-size / 16, size / 16, 2)
    return (
        size * (0.25 if vertical == "top" else 0.75) + jitter[0],
        size * (0.25 if horizontal == "left" else 0.75) + jitter[1],
    )


def render_shape(
    shape: str,
    colour: str,
    size: str,
    position: str,
    *,
    image_size: int,
    rng: np.random.Generator,
    supersample: int = 4,
) -> np.ndarray:
    """One RGB image (3, S, S) in [0, 1]: the shape drawn on black, anti-aliased by averaging a finer grid."""
    r = image_size * (0.13 if size == "small" else 0.22) * rng.uniform(0.9, 1.1)  # circumradius in pixels
    return draw_shape(
        shape, colour, r, _centre(position, image_size, rng), image_size=image_size, supersample=supersample
    )


def draw_shape(
    shape: str, colour: str, r: float, centre: tuple[float, float], *, image_size: int, supersample: int = 4
) -> np.ndarray:
    """A shape of circumradius r pixels centred at (row, column) on black, (3, S, S) in [0, 1], anti-aliased by
    averaging a grid `supersample` times finer; the part outside the image is cut off."""
    S, k = image_size, supersample
    cy, cx = centre
    grid = (np.arange(S * k) + 0.5) / k  # pixel-centre coordinates
    y, x = np.meshgrid(grid, grid, indexing="ij")  # (Sk, Sk)
    dy, dx = y - cy, x - cx
    if shape == "circle":
        inside = dy**2 + dx**2 <= r**2
    elif shape == "square":
        h = r / np.sqrt(2) * 1.15  # half side, similar area
        inside = (np.abs(dy) <= h) & (np.abs(dx) <= h)
    elif shape == "triangle":  # equilateral, pointing up, circumradius 1.2 r
        R = 1.2 * r
        inside = (dy <= R / 2) & (np.sqrt(3) * dx - dy <= R) & (-np.sqrt(3) * dx - dy <= R)
    else:
        raise ValueError(f"Unknown shape {shape!r}; use circle, square or triangle.")
    coverage = inside.reshape(S, k, S, k).mean(axis=(1, 3))  # (S, S)
    return np.asarray(COLOURS[colour])[:, None, None] * coverage[None]  # (3, S, S)


def make_shapes(split: str = "train", n: int = 5000, *, seed: int = 0, image_size: int = 32) -> CaptionedImages:
    """`n` captioned images of one coloured shape of some size in one quadrant; deterministic for a seed."""
    grammar = GRAMMARS["shapes"]
    _check(split, n, image_size)
    rng = np.random.default_rng([seed, SPLITS.index(split), 0])
    labels = _draw_labels(grammar, split, n, rng)
    images = np.stack(
        [
            render_shape(lab["shape"], lab["colour"], lab["size"], lab["position"], image_size=image_size, rng=rng)
            for lab in labels
        ]
    )
    return _assemble(grammar, split, images, labels, rng)


def make_captioned_mnist(
    split: str = "train", n: int = 5000, *, seed: int = 0, image_size: int = 32, download: bool = True
) -> CaptionedImages:
    """`n` MNIST digits, coloured and placed in a quadrant of a black canvas, captioned; deterministic for a seed.

    'train' draws digits from MNIST's training images, 'test' and 'heldout' from its test images.
    """
    from genai_lib.data.images import load_mnist

    grammar = GRAMMARS["captioned_mnist"]
    _check(split, n, image_size)
    rng = np.random.default_rng([seed, SPLITS.index(split), 1])
    mnist = load_mnist("train" if split == "train" else "test", download=download)
    side = image_size // 2
    digits = F.interpolate(mnist.x, size=(side, side), mode="area").squeeze(1).numpy()  # (M, side, side)
    by_class = [np.flatnonzero(mnist.y.numpy() == d) for d in range(10)]
    labels = _draw_labels(grammar, split, n, rng)
    images = np.zeros((n, 3, image_size, image_size))
    for i, lab in enumerate(labels):
        digit = digits[rng.choice(by_class[int(lab["digit"])])]
        cy, cx = _centre(lab["position"], image_size, rng)
        top = int(np.clip(round(cy - side / 2), 0, image_size - side))
        left = int(np.clip(round(cx - side / 2), 0, image_size - side))
        images[i, :, top : top + side, left : left + side] = np.asarray(COLOURS[lab["colour"]])[:, None, None] * digit
    return _assemble(grammar, split, images, labels, rng)


def _check(split: str, n: int, image_size: int) -> None:
    if split not in SPLITS:
        raise ValueError(
            f"Unknown split {split!r}; use one of {SPLITS} ('heldout' has only the held-out attribute combinations)."
        )
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive number of images, got {n!r}.")
    if image_size < 16 or image_size % 4:
        raise ValueError(f"image_size must be a multiple of 4, at least 16, got {image_size}.")


def _assemble(
    grammar: CaptionGrammar, split: str, images: np.ndarray, labels: list[dict[str, str]], rng: np.random.Generator
) -> CaptionedImages:
    captions = [grammar.caption(lab, rng) for lab in labels]
    index = {a: torch.tensor([grammar.values[a].index(lab[a]) for lab in labels]) for a in grammar.attributes}
    return CaptionedImages(torch.from_numpy(images).float().clamp_(0, 1), captions, index, grammar, split)


MAKERS = {"shapes": make_shapes, "captioned_mnist": make_captioned_mnist}


def load_captioned(name: str, split: str = "train", n: int = 5000, *, seed: int = 0, **kwargs) -> CaptionedImages:
    """A captioned data set by name: 'shapes' or 'captioned_mnist'."""
    if name not in MAKERS:
        raise ValueError(f"Unknown captioned data set {name!r}; available: {', '.join(sorted(MAKERS))}.")
    return MAKERS[name](split, n, seed=seed, **kwargs)
