"""Reference solutions for chapter 16's checks."""

import torch

from genai_checks.ch16 import INSIDE_CASE, RATE_MISTAKES, VERBATIM_CASES, rate_cases


def memorisation_rate(d_s: torch.Tensor, d_h: torch.Tensor, q: float) -> float:
    """The share of samples closer to the training set than the q-quantile of the held-out distances."""
    return float((d_s < torch.quantile(d_h, q)).double().mean())


MISTAKES = {  # each wrong computation named in RATE_MISTAKES
    "farther": lambda s, h, q: float((s > torch.quantile(h, q)).double().mean()),
    "upper_quantile": lambda s, h, q: memorisation_rate(s, h, 1 - q),
    "own_quantile": lambda s, h, q: memorisation_rate(s, s, q),
    "count": lambda s, h, q: float((s < torch.quantile(h, q)).double().sum()),
    "median": lambda s, h, q: float((s < h.median()).double().mean()),
    "mean": lambda s, h, q: float((s < h.mean()).double().mean()),
    "q_as_distance": lambda s, h, q: float((s < q).double().mean()),
}


def longest_verbatim(sample: str, reference: str) -> int:
    """The length of the longest substring of `sample` that occurs in `reference`."""
    best = 0
    for i in range(len(sample)):
        while i + best < len(sample) and sample[i : i + best + 1] in reference:
            best += 1
    return best


def prefix_only(sample: str, reference: str) -> int:
    """The mistake: the longest match that starts at the sample's first character."""
    n = 0
    while n < len(sample) and sample[: n + 1] in reference:
        n += 1
    return n


def answers() -> dict[str, object]:
    assert [name for name, _ in RATE_MISTAKES] == list(MISTAKES), "the mistakes of the check and here differ"
    out: dict[str, object] = {}
    for i, (_, d_s, d_h, q) in enumerate(rate_cases()):
        key = f"memorisation_rate/case={i}"
        out[key] = memorisation_rate(d_s, d_h, q)
        for name, wrong in MISTAKES.items():
            out[f"{key}/{name}"] = wrong(d_s, d_h, q)
    for i, (sample, reference, _) in enumerate(VERBATIM_CASES):
        out[f"longest_verbatim/case={i}"] = longest_verbatim(sample, reference)
        out[f"longest_verbatim/case={i}/prefix_only"] = prefix_only(sample, reference)
    out["longest_verbatim/hidden/inside"] = longest_verbatim(*INSIDE_CASE)
    return out
