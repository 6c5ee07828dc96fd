"""Reference solutions for chapter 00's checks."""

import torch

from genai_checks.ch00 import class_means_case, class_means_shuffled_case


def answers() -> dict[str, object]:
    x, y = class_means_case()
    xs, ys = class_means_shuffled_case()
    counts = torch.bincount(ys, minlength=3).tolist()
    return {
        "class_means": torch.stack([x[y == c].mean(0) for c in range(3)]),
        "class_means/sums": torch.stack([x[y == c].sum(0) for c in range(3)]),
        "class_means/hidden/shuffled": torch.stack([xs[ys == c].mean(0) for c in range(3)]),
        # the mistake of averaging consecutive blocks of the sizes of the classes (data assumed sorted)
        "class_means/hidden/by_position": torch.stack([block.mean(0) for block in xs.split(counts)]),
    }
