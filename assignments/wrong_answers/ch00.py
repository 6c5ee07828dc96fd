"""Chapter 00: class means that cut the data into consecutive blocks, as if it came sorted by class.

The public check's five images have the labels [0, 0, 1, 2, 2], already grouped by class, so splitting x
into blocks of the sizes of the classes gives the right means and every public check passes. The hidden
check gives colour images whose labels come in no order, where the block of a class is not its images.
"""

import torch


def class_means(x: torch.Tensor, y: torch.Tensor, n_classes: int) -> torch.Tensor:
    counts = torch.bincount(y, minlength=n_classes).tolist()
    return torch.stack([block.mean(dim=0) for block in x.split(counts)])  # wrong: x[y == c], wherever it is


WRONG = {"exercise_0_1": {"class_means": class_means}}
