import math

import pytest
import torch

from genai_lib.sample import filtered_probs, sample_next, top_k_filter, top_p_filter


def kept(logits: torch.Tensor) -> set[int]:
    return set(torch.nonzero(torch.isfinite(logits)).flatten().tolist())


def test_top_k_keeps_exactly_k_even_with_ties():
    logits = torch.tensor([1.0, 3.0, 3.0, 3.0, 0.0, 2.0])
    assert kept(top_k_filter(logits, 1)) < {1, 2, 3} and len(kept(top_k_filter(logits, 2))) == 2
    assert kept(top_k_filter(logits, 4)) == {1, 2, 3, 5}
    assert kept(top_k_filter(logits, 100)) == set(range(6))  # k above the vocabulary keeps everything
    out = top_k_filter(logits, 4)
    assert torch.equal(out[[1, 2, 3, 5]], logits[[1, 2, 3, 5]])  # kept logits are unchanged
    rows = top_k_filter(torch.randn(5, 20, generator=torch.Generator().manual_seed(0)), 3)
    assert (torch.isfinite(rows).sum(-1) == 3).all()


def test_top_p_keeps_the_smallest_set_reaching_p():
    probs = torch.tensor([0.1, 0.5, 0.05, 0.2, 0.15])  # sorted: 0.5, 0.2, 0.15, 0.1, 0.05
    logits = probs.log()
    assert kept(top_p_filter(logits, 0.3)) == {1}  # the most likely token alone already has 0.5
    assert kept(top_p_filter(logits, 0.6)) == {1, 3}  # 0.5 < 0.6 <= 0.7
    assert kept(top_p_filter(logits, 0.72)) == {1, 3, 4}  # 0.7 < 0.72 <= 0.85
    assert kept(top_p_filter(logits, 0.9)) == {0, 1, 3, 4}
    assert kept(top_p_filter(logits, 1.0)) == set(range(5))  # p = 1 keeps every token
    assert kept(top_p_filter(logits, 1e-9)) == {1}  # and the most likely one always survives
    dyadic = torch.tensor([0.125, 0.5, 0.125, 0.25]).log()  # exact in floating point
    assert kept(top_p_filter(dyadic, 0.75)) == {1, 3}  # reaching p exactly is enough
    assert kept(top_p_filter(dyadic, 0.76)) == {0, 1, 2, 3}
    tied = torch.tensor([0.3, 0.4, 0.3]).log()
    assert kept(top_p_filter(tied, 0.35)) == {1}
    assert kept(top_p_filter(tied, 0.5)) == {0, 1, 2}  # the token tied with the last one kept is kept too
    both = top_p_filter(torch.stack([logits, logits.flip(0)]), 0.6)  # rows are filtered independently
    assert kept(both[0]) == {1, 3} and kept(both[1]) == {3, 1}


def test_temperature_zero_is_argmax_and_small_temperatures_approach_it():
    logits = torch.randn(8, 30, generator=torch.Generator().manual_seed(0))
    greedy = sample_next(logits, temperature=0)
    assert greedy.shape == (8, 1) and torch.equal(greedy[:, 0], logits.argmax(-1))
    g = torch.Generator().manual_seed(1)
    assert torch.equal(sample_next(logits, temperature=1e-4, generator=g), greedy)
    assert torch.equal(
        filtered_probs(logits[:1], temperature=0)[0], torch.nn.functional.one_hot(logits[0].argmax(), 30).float()
    )


def test_sampled_frequencies_match_the_filtered_distribution():
    logits = torch.tensor([2.0, 1.0, 0.5, 0.0, -1.0, 1.5])
    settings = dict(temperature=0.7, top_k=5, top_p=0.9)
    p = filtered_probs(logits, **settings)
    # At T=0.7, top-5 drops token 4; the rest have probabilities .525, .257 (5), .126 (1), .062 (2), .030 (3),
    # and .525 + .257 + .126 = .908 reaches 0.9, so top-p keeps {0, 5, 1}.
    assert kept(p.log()) == {0, 1, 5}
    assert torch.allclose(p[[0, 5, 1]], torch.tensor([0.525, 0.257, 0.126]) / 0.908, atol=2e-3)
    n = 20_000
    draws = sample_next(logits.expand(n, 6), **settings, generator=torch.Generator().manual_seed(0))
    counts = torch.bincount(draws[:, 0], minlength=6).float()
    assert counts[[2, 3, 4]].sum() == 0  # filtered tokens are never drawn
    expected = n * p[p > 0]
    chi2 = ((counts[p > 0] - expected) ** 2 / expected).sum().item()
    assert chi2 < 13.82  # the 99.9% quantile of chi-square with 2 degrees of freedom
    again = sample_next(logits.expand(n, 6), **settings, generator=torch.Generator().manual_seed(0))
    assert torch.equal(draws, again)  # seeded: reproducible


def test_a_generator_on_another_device_still_samples():
    logits = torch.randn(4, 10)
    g = torch.Generator(device="cpu").manual_seed(3)
    assert sample_next(logits, generator=g).device == logits.device


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(temperature=-0.5), "temperature must be a number >= 0"),
        (dict(temperature=math.nan), "temperature must be a number >= 0"),
        (dict(top_k=0), "top_k must be an integer >= 1"),
        (dict(top_k=2.5), "top_k must be an integer >= 1"),
        (dict(top_p=0.0), r"top_p must be in \(0, 1\]"),
        (dict(top_p=1.5), r"top_p must be in \(0, 1\]"),
    ],
)
def test_bad_sampling_arguments_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sample_next(torch.zeros(1, 5), **kwargs)


def test_sample_next_wants_the_last_positions_logits():
    with pytest.raises(ValueError, match=r"logits\[:, -1, :\]"):
        sample_next(torch.zeros(2, 3, 5))
