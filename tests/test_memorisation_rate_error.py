"""The memorisation rate's standard error counts the estimated threshold (Chapter 16, eq. eq-memo-se).

r_q is the share of n samples nearer to the training set than the q-quantile of M held-out distances. For a
model that generalises, Var r_q ~ q(1 - q)(1/n + 1/M): the binomial term of the samples plus the wobble of
the estimated quantile. We draw both sets from one continuous distribution many times and compare.
"""

import math

import pytest
import torch


def spread_of_rates(n: int, M: int, q: float, repeats: int, seed: int) -> float:
    g = torch.Generator().manual_seed(seed)
    d_samples = torch.rand(repeats, n, generator=g)  # the distances of a generalising model's samples ...
    d_held = torch.rand(repeats, M, generator=g)  # ... have the same law as the held-out ones'
    tau = torch.quantile(d_held, q, dim=1)  # (repeats,)
    return (d_samples < tau[:, None]).float().mean(dim=1).std().item()


@pytest.mark.parametrize("n, M", [(400, 100), (100, 400), (200, 200)])
def test_standard_error_of_the_memorisation_rate_includes_the_held_out_term(n, M):
    q = 0.05
    spread = spread_of_rates(n, M, q, repeats=4_000, seed=n + M)
    predicted = math.sqrt(q * (1 - q) * (1 / n + 1 / M))
    binomial = math.sqrt(q * (1 - q) / n)
    assert spread == pytest.approx(predicted, rel=0.12)
    assert abs(spread - predicted) < abs(spread - binomial)  # the binomial formula alone is too small
