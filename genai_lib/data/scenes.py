"""Procedural colour scenes: a gradient background and 1-3 shapes, some striped or checked; seeded, offline.

The factors sit at three scales, so a style-based generator has something to separate: coarse (where the
objects are, how many, the background's direction), middle (each object's shape) and fine (texture period and
orientation, colours). Shapes are drawn from signed distances, anti-aliased by a one-pixel ramp at the edge.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from genai_lib.data.images import ImageData

SHAPES = ("disc", "square", "triangle", "ring")
TEXTURES = ("plain", "stripes", "checks")
SIZES = {"train": 10_000, "test": 2_000}  # fixed split sizes; each split has its own random stream
CHUNK = 1000  # images rendered at once: bounds memory, and the result does not depend on it


@dataclass(frozen=True)
class SceneConfig:
    """How scenes are drawn. The main object (the label) is the largest and is drawn last, on top."""

    image_size: int = 32
    max_objects: int = 3  # each image has 1..max_objects objects
    texture_prob: float = 0.5  # chance that an object is striped or checked
    period: tuple[float, float] = (3.0, 6.0)  # texture period in pixels, uniform in this range
    hue_bins: int = 6  # background hue is reported as one of this many bins

    def __post_init__(self) -> None:
        if self.image_size < 8:
            raise ValueError(f"image_size must be at least 8 pixels, got {self.image_size}.")
        if self.max_objects < 1:
            raise ValueError(f"max_objects must be at least 1 (the main object), got {self.max_objects}.")
        if not 0.0 <= self.texture_prob <= 1.0:
            raise ValueError(f"texture_prob is a probability, in [0, 1]; got {self.texture_prob}.")
        if not 2.0 <= self.period[0] <= self.period[1]:
            raise ValueError(f"period must be (low, high) with 2 <= low <= high pixels, got {self.period}.")
        if self.hue_bins < 1:
            raise ValueError(f"hue_bins must be at least 1, got {self.hue_bins}.")


def hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray | float) -> np.ndarray:
    """HSV in [0, 1] to RGB in [0, 1], elementwise; returns (..., 3)."""
    channels = []
    for n in (5.0, 3.0, 1.0):  # red, green, blue
        k = (n + 6.0 * np.mod(h, 1.0)) % 6.0
        channels.append(v - v * s * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0))
    return np.stack(channels, axis=-1)


def _draw_parameters(n: int, cfg: SceneConfig, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every random choice for n scenes, drawn up front so that rendering in chunks changes nothing."""
    S, K = cfg.image_size, cfg.max_objects
    hue = rng.uniform(0, 1, n)
    p = {
        "hue": hue,
        "theta": rng.uniform(0, 2 * np.pi, n),  # gradient direction
        "c0": hsv_to_rgb(hue, rng.uniform(0.3, 0.6, n), rng.uniform(0.75, 0.95, n)),  # (n, 3), light end
        "c1": hsv_to_rgb(hue + rng.uniform(-0.08, 0.08, n), rng.uniform(0.4, 0.8, n), rng.uniform(0.2, 0.45, n)),
        "n_objects": rng.integers(1, K + 1, n),
        "shape": rng.integers(0, len(SHAPES), (n, K)),
        # slot 0 is the main object: larger than the others, so it stays recognisable under them
        "r": np.concatenate([rng.uniform(0.2, 0.3, (n, 1)), rng.uniform(0.1, 0.17, (n, K - 1))], axis=1) * S,
        "phi": rng.uniform(0, 2 * np.pi, (n, K)),  # rotation of the shape
        # object hues keep away from the background's, so no object vanishes into it
        "colour": hsv_to_rgb(hue[:, None] + rng.uniform(0.15, 0.85, (n, K)), rng.uniform(0.6, 1, (n, K)), 1.0),
        "texture": rng.choice(3, (n, K), p=[1 - cfg.texture_prob, cfg.texture_prob / 2, cfg.texture_prob / 2]),
        "period": rng.uniform(*cfg.period, (n, K)),
        "psi": rng.uniform(0, np.pi, (n, K)),  # texture orientation
    }
    p["shape"][:, 0] = rng.permutation(np.arange(n) % len(SHAPES))  # main shapes balanced to within one
    p["cy"], p["cx"] = (rng.uniform(p["r"], S - p["r"]) for _ in range(2))  # centres keep the object inside
    p["colour"] *= rng.uniform(0.75, 1.0, (n, K, 1))  # vary brightness a little
    return p


def _background(p: dict[str, np.ndarray], yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
    """A linear gradient from colour c0 to c1 along direction theta; (B, 3, S, S)."""
    S = yy.shape[0]
    proj = (xx - S / 2) * np.cos(p["theta"])[:, None, None] + (yy - S / 2) * np.sin(p["theta"])[:, None, None]
    t = np.clip(0.5 + proj / (np.sqrt(2) * S), 0, 1)[:, None]  # (B, 1, S, S), 0 at one corner side, 1 at the other
    return p["c0"][:, :, None, None] * (1 - t) + p["c1"][:, :, None, None] * t


def _shape_distance(shape: int, u: np.ndarray, v: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Signed distance in pixels to the edge of one kind of shape (negative inside), in its own frame (u, v)."""
    if SHAPES[shape] == "disc":
        return np.sqrt(u**2 + v**2) - r
    if SHAPES[shape] == "square":  # the disc's area
        return np.maximum(np.abs(u), np.abs(v)) - 0.886 * r
    if SHAPES[shape] == "triangle":  # the farthest of three half-planes: exact inside, near enough outside
        R = 1.4 * r  # circumradius; the inradius is R / 2
        return np.max([u * np.cos(a) + v * np.sin(a) for a in (np.pi / 2, 7 * np.pi / 6, 11 * np.pi / 6)], 0) - R / 2
    return np.abs(np.sqrt(u**2 + v**2) - 0.75 * r) - 0.25 * r  # ring: outer radius r, inner r / 2


def _texture(u: np.ndarray, v: np.ndarray, kind: np.ndarray, period: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """Brightness factor in [0.35, 1] (B, S, S): 1 for plain objects, stripes or checks of a period otherwise."""
    shade = np.ones_like(u)
    on = kind > 0  # only textured objects pay for the sines
    u, v, period = u[on], v[on], period[on, None, None]
    c, s = np.cos(psi[on])[:, None, None], np.sin(psi[on])[:, None, None]
    w1 = np.sin(2 * np.pi * (u * c + v * s) / period)
    w2 = np.sin(2 * np.pi * (-u * s + v * c) / period)
    wave = np.where((kind[on] == 1)[:, None, None], w1, 2 * w1 * w2)  # stripes, or checks
    shade[on] = 0.35 + 0.65 * np.clip(0.5 + 1.5 * wave, 0, 1)  # a square-ish wave with soft edges
    return shade


def _draw_object(image: np.ndarray, o: dict[str, np.ndarray], yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
    """Composite one object per image over `image` (B, 3, S, S); `o` holds its parameters, one row per image."""
    dy, dx = yy - o["cy"][:, None, None], xx - o["cx"][:, None, None]  # (B, S, S)
    cos, sin = np.cos(o["phi"])[:, None, None], np.sin(o["phi"])[:, None, None]
    u, v = dx * cos + dy * sin, -dx * sin + dy * cos  # the object's own, rotated frame
    r = o["r"][:, None, None]
    d = np.empty_like(u)
    for j in range(len(SHAPES)):
        sel = o["shape"] == j
        d[sel] = _shape_distance(j, u[sel], v[sel], r[sel])
    alpha = np.clip(0.5 - d, 0, 1)[:, None]  # coverage: a one-pixel ramp across the edge, (B, 1, S, S)
    colour = o["colour"][:, :, None, None] * _texture(u, v, o["texture"], o["period"], o["psi"])[:, None]
    return image * (1 - alpha) + colour * alpha  # (B, 3, S, S)


def _render(p: dict[str, np.ndarray], S: int) -> np.ndarray:
    """float32 images (B, 3, S, S): the background, then the objects from the last slot to the main one."""
    p = {k: a.astype(np.float32) if a.dtype == np.float64 else a for k, a in p.items()}
    grid = np.arange(S, dtype=np.float32) + 0.5  # pixel centres
    yy, xx = np.meshgrid(grid, grid, indexing="ij")  # (S, S)
    image = _background(p, yy, xx).astype(np.float32)
    for k in reversed(range(p["shape"].shape[1])):
        on = np.flatnonzero(k < p["n_objects"])  # images that have a k-th object
        o = {name: p[name][on, k] for name in ("cy", "cx", "phi", "r", "shape", "colour", "texture", "period", "psi")}
        image[on] = _draw_object(image[on], o, yy, xx)
    return image


def make_scenes(n: int, *, seed: int | list[int] = 0, config: SceneConfig | None = None) -> ImageData:
    """`n` scenes (3, S, S) in [0, 1]; y is the main object's shape (SHAPES), factors hold the other labels."""
    cfg = config or SceneConfig()
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive number of images, got {n!r}.")
    p = _draw_parameters(int(n), cfg, np.random.default_rng(seed))
    images = np.concatenate(
        [_render({k: a[i : i + CHUNK] for k, a in p.items()}, cfg.image_size) for i in range(0, n, CHUNK)]
    )
    S = cfg.image_size
    main_quadrant = (p["cy"][:, 0] >= S / 2) * 2 + (p["cx"][:, 0] >= S / 2)  # 0 top left ... 3 bottom right
    factors = {
        "n_objects": p["n_objects"],
        "hue_bin": np.floor(p["hue"] * cfg.hue_bins).astype(np.int64),
        "texture": p["texture"][:, 0],  # the main object's: index into TEXTURES
        "quadrant": main_quadrant,
    }
    return ImageData(
        torch.from_numpy(images).clamp_(0, 1),
        torch.from_numpy(p["shape"][:, 0].astype(np.int64)),
        "scenes",
        f"procedural colour scenes generated by genai_lib ({n:,} images, seed {seed})",
        classes=SHAPES,
        factors={k: torch.from_numpy(np.asarray(v, dtype=np.int64)) for k, v in factors.items()},
    )


def load_scenes(
    split: str = "train", n: int | None = None, *, seed: int = 0, config: SceneConfig | None = None
) -> ImageData:
    """The `scenes` split: 10,000 train or 2,000 test images by default, each split from its own seed stream."""
    if split not in SIZES:
        raise ValueError(f"Unknown split {split!r}; use 'train' or 'test'.")
    data = make_scenes(SIZES[split] if n is None else n, seed=[seed, list(SIZES).index(split)], config=config)
    return replace(
        data, source=f"procedural colour scenes generated by genai_lib ({split}, {len(data):,} images, seed {seed})"
    )
