"""Chapter 12: label dropout that drops a fixed number int(p * B) of labels per batch, not each one independently.

On the public check's batch of 20,000 labels the fraction dropped is exactly p, the same in every class, and the
seeded generator makes it reproducible, so every public check passes. The hidden check uses batches of 4 labels
with p = 0.1: int(0.4) = 0, so no label is ever dropped and the network never learns the unconditional model that
classifier-free guidance needs.
"""

import torch


def drop_labels(y: torch.Tensor, p: float, null_class: int, *, generator=None) -> torch.Tensor:
    out = y.clone()
    n_drop = int(p * len(y))  # wrong: a fixed count per batch; each label should be dropped with probability p
    out[torch.randperm(len(y), generator=generator)[:n_drop]] = null_class
    return out


WRONG = {"exercise_12_2": {"drop_labels": drop_labels}}
