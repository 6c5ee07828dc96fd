"""Chapter 17: a watermark z-score that centres each channel of an image by its own mean.

The statement asks to centre each image's residual by its own mean, the mean of all its C·H·W values;
this answer takes the mean over the pixels of each channel, r.mean(dim=(2, 3)). The public residuals
have one channel (C = 1), where the two means are the same, so every public check passes. The hidden
residuals are colour images (C = 3) with a different mean in each channel, and the z-scores differ.
"""

import torch


def watermark_zscore(r: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    c = (r - r.mean(dim=(2, 3), keepdim=True)).flatten(1)  # wrong: dim=(1, 2, 3), the whole image
    return (c @ w.flatten()) / c.norm(dim=1)


WRONG = {"exercise_17_2": {"watermark_zscore": watermark_zscore}}
