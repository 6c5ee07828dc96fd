"""Chapter 19: the kernel size left out of the receptive field (19.1), and 255 written in for mu in µ-law's
normaliser (19.2).

19.1: every public case has kernel_size = 2, for which each layer reaches (k - 1) d = d samples back, so a
student who writes 1 + 1 + sum(dilations) passes them all. The hidden check has kernels of 3 to 5 taps,
where the answer is 1 + (k - 1)(1 + sum(dilations)).

19.2: the public check uses mu = 255 only, so dividing by math.log1p(255) instead of math.log1p(mu) passes
it; with mu = 15, 63 or 5, as the hidden check gives, F(x) no longer reaches -1 and 1 and the classes
bunch up in the middle.
"""

import math

import torch


def receptive_field(kernel_size: int, dilations) -> int:
    return 1 + 1 + sum(dilations)  # wrong: 1 + (kernel_size - 1) * (1 + sum(dilations))


def mu_law(x: torch.Tensor, mu: int) -> torch.Tensor:
    y = torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(255)  # wrong: math.log1p(mu)
    return torch.floor((y + 1) / 2 * mu + 0.5).long()


WRONG = {
    "exercise_19_1": {"receptive_field": receptive_field},
    "exercise_19_2": {"mu_law": mu_law},
}
