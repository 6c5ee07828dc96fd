"""Chapter 20: the width written in as 64 in the cost of attention (20.1), and the columns' range taken from the
height in the centroid (20.2).

20.1: every public case has C = 64, the width of the chapter's Section 4, so 2 * 64 * pairs passes them all;
the hidden check gives other widths.

20.2: every public frame is square, so taking the column coordinates from H instead of W passes them; the
hidden check's frames are 16 x 40 and 40 x 16.
"""

import torch


def score_cost(T: int, N: int, C: int, mode: str) -> int:
    pairs = (T * N) ** 2 if mode == "full" else T * N**2 + N * T**2
    return 2 * 64 * pairs  # wrong: 2 * C * pairs


def centroid(frames: torch.Tensor) -> torch.Tensor:
    w = frames.sum(dim=1)  # (B, H, W)
    H = w.shape[-2]
    rows = torch.arange(H, dtype=w.dtype) + 0.5
    cols = rows  # wrong: torch.arange(W) + 0.5
    total = w.sum(dim=(1, 2))
    return torch.stack([(w.sum(2) * rows).sum(1) / total, (w.sum(1) * cols).sum(1) / total], dim=1)


WRONG = {
    "exercise_20_1": {"score_cost": score_cost},
    "exercise_20_2": {"centroid": centroid},
}
