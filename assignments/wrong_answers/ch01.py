"""Chapter 01: ancestral sampling that squeezes every axis of size 1, not only the one it added.

`(L[k] @ eps.unsqueeze(-1)).squeeze()` is right for the public check's 2-D mixtures with thousands of
samples, so every public check passes. The hidden check draws from a 1-D mixture (d = 1): the squeeze
removes the d axis too, and mu[k] (n, 1) plus the (n,) noise broadcasts to (n, n).
"""

import torch


def sample_mixture(pi, mu, L, n, generator):
    k = torch.multinomial(pi, n, replacement=True, generator=generator)
    eps = torch.randn(n, mu.shape[1], generator=generator)
    return mu[k] + (L[k] @ eps.unsqueeze(-1)).squeeze()  # wrong: .squeeze(-1)


WRONG = {"exercise_1_4": {"sample_mixture": sample_mixture}}
