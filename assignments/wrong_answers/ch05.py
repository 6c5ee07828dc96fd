"""Chapter 05: a KL that sums over dimension 1 instead of the last one.

On the public cases, (B, D) tensors, dimension 1 is the last one, so every public check passes. The
hidden check gives a batch of sequences, (B, T, D), where the KL of each (b, t) is a sum over D only.
"""

import torch


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return 0.5 * (mu.square() + logvar.exp() - logvar - 1).sum(1)  # wrong: .sum(-1)


WRONG = {"exercise_5_1": {"kl_to_standard_normal": kl_to_standard_normal}}
