"""The analytic judges of chapter 20's clips: where the shape is in each frame, how it moves, and its colour.

No network reads the motion: the centre of a frame is the brightness-weighted mean of its pixel coordinates
(the centroid), the motion is the centroid's mean step per frame, and the colour is the brightness-weighted
mean colour, named by the nearest of the data set's colours. On a black background with one shape these are
exact up to anti-aliasing (tests/test_clips.py measures them against the true centres of `make_clips`). Clips
may live on any device; the judges read them on the CPU and answer there.
"""

from __future__ import annotations

import math

import torch

from genai_lib.data.caption_grammar import COLOURS
from genai_lib.data.clips import DIRECTIONS, SPEEDS

EMPTY = 1e-3  # a frame whose total brightness is below this (in pixel units) shows no shape: its centre is NaN


def _check_clips(clips: torch.Tensor) -> torch.Tensor:
    """The clips as float32 on the CPU, where the judges' arithmetic runs whatever device made them."""
    x = torch.as_tensor(clips).detach().cpu()
    if x.dim() != 5 or x.size(2) != 3 or x.size(1) < 2:
        hint = " For one clip use clips[None]." if x.dim() == 4 else ""
        raise ValueError(f"Expected clips (N, T, 3, H, W) with T >= 2 frames of RGB, got shape {tuple(x.shape)}.{hint}")
    if not x.is_floating_point() or not bool(((x >= 0) & (x <= 1)).all()):  # NaN fails this too
        raise ValueError("Clips must hold floating-point pixels in [0, 1] (no NaN); clamp a generated clip first.")
    return x.float()


def centroid_track(clips: torch.Tensor) -> torch.Tensor:
    """(N, T, 2): the brightness-weighted centre (row, column) of every frame of clips (N, T, 3, H, W), in pixel
    coordinates whose pixel centres are 0.5, 1.5, ... (those of `make_clips`); NaN where a frame is empty."""
    x = _check_clips(clips)
    H, W = x.shape[-2:]
    weight = x.sum(dim=2)  # (N, T, H, W): brightness
    total = weight.sum(dim=(-2, -1))  # (N, T)
    rows = torch.arange(H, dtype=x.dtype) + 0.5
    cols = torch.arange(W, dtype=x.dtype) + 0.5
    r = (weight.sum(dim=-1) * rows).sum(dim=-1) / total  # (N, T)
    c = (weight.sum(dim=-2) * cols).sum(dim=-1) / total
    track = torch.stack([r, c], dim=-1)  # (N, T, 2)
    return torch.where((total > EMPTY)[..., None], track, torch.full_like(track, math.nan))


def judge_motion(clips: torch.Tensor) -> dict[str, torch.Tensor]:
    """The direction and speed of each clip (indices into DIRECTIONS and SPEEDS), from its centroid's mean step
    per frame: the direction of its larger component, and the speed nearest to its length (-1 if a frame is
    empty). Also 'step', the mean step (N, 2) itself."""
    track = centroid_track(clips)  # (N, T, 2)
    step = (track[:, -1] - track[:, 0]) / (track.size(1) - 1)  # (N, 2): rows, columns per frame
    units = torch.tensor(list(DIRECTIONS.values()), dtype=step.dtype)  # (4, 2)
    direction = (step @ units.T).argmax(dim=1)  # (N,): the unit direction the step points along most
    speeds = torch.tensor(list(SPEEDS.values()), dtype=step.dtype)  # (2,)
    speed = (step.norm(dim=1, keepdim=True) - speeds).abs().argmin(dim=1)  # (N,)
    lost = torch.isnan(step).any(dim=1)
    return {
        "direction": torch.where(lost, -1, direction),
        "speed": torch.where(lost, -1, speed),
        "step": step,
    }


def frame_colours(clips: torch.Tensor) -> torch.Tensor:
    """(N, T): the colour of every frame (index into COLOURS) nearest to its brightness-weighted mean colour; -1
    for an empty frame."""
    x = _check_clips(clips)
    weight = x.sum(dim=2, keepdim=True)  # (N, T, 1, H, W)
    total = weight.sum(dim=(-2, -1))  # (N, T, 1)
    mean = (x * weight).sum(dim=(-2, -1)) / total.clamp_min(1e-12)  # (N, T, 3): the colour where the shape is
    # The shapes' pixels are c * coverage for a colour c; weighting by brightness favours the fully covered ones,
    # and normalising the mean removes what coverage left: compare directions, not lengths.
    palette = torch.tensor(list(COLOURS.values()), dtype=x.dtype)  # (C, 3)
    cos = torch.nn.functional.normalize(mean, dim=-1) @ torch.nn.functional.normalize(palette, dim=-1).T  # (N, T, C)
    return torch.where(total[..., 0] > EMPTY, cos.argmax(dim=-1), -1)


def judge_colour(clips: torch.Tensor) -> dict[str, torch.Tensor]:
    """The colour of each clip, its frames' most common colour (N,), and 'colour_constant' (N,) bool: every frame
    shows that same colour (one of the checks of temporal consistency)."""
    frames = frame_colours(clips)  # (N, T)
    colour = torch.mode(frames, dim=1).values  # (N,)
    return {"colour": colour, "colour_constant": (frames == colour[:, None]).all(dim=1) & (colour >= 0)}
