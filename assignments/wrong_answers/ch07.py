"""Chapter 07: a codebook perplexity whose usage averages one-hot vectors over the axes (0, 1, 2).

Averaging the one-hot codes over the batch and the grid is a natural way to get the usage of a
(B, h, w) batch of token grids, and every public case is such a batch, so every public check passes.
But the exercise takes token ids of any shape: on a single (h, w) grid the mean over (0, 1, 2) also
averages over the K codes (one number, 1/K), and on a flat sequence there is no axis 2 at all.
"""

import torch
import torch.nn.functional as F


def codebook_perplexity(indices: torch.Tensor, K: int) -> torch.Tensor:
    usage = F.one_hot(indices, K).float().mean(dim=(0, 1, 2))  # wrong: assumes (B, h, w); flatten the ids first
    return torch.exp(-torch.xlogy(usage, usage).sum())


WRONG = {"exercise_7_3": {"codebook_perplexity": codebook_perplexity}}
