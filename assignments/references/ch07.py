"""Reference solutions for chapter 07's checks (nearest code, codebook perplexity), with the common mistakes."""

import math

import torch

from genai_checks.ch07 import perplexity_cases, perplexity_shape_cases, quantisation_case


def nearest_code_answers() -> dict[str, torch.Tensor]:
    """The nearest code by brute force, and the codes that each wrong expansion of ||z - e||^2 picks."""
    z, codebook = quantisation_case()
    d2 = torch.cdist(z, codebook).square()  # (N, K)
    dot = z @ codebook.T  # (N, K)
    z2, e2 = z.square().sum(1, keepdim=True), codebook.square().sum(1)  # (N, 1), (K,)
    return {
        "nearest_code": d2.argmin(dim=1),
        "nearest_code/mistake/farthest": d2.argmax(dim=1),
        "nearest_code/mistake/largest_dot": dot.argmax(dim=1),
        "nearest_code/mistake/plus_cross_term": (z2 + 2 * dot + e2).argmin(dim=1),
        "nearest_code/mistake/cross_term_without_2": (z2 - dot + e2).argmin(dim=1),
        "nearest_code/mistake/norm_not_squared": (-2 * dot + codebook.norm(dim=1)).argmin(dim=1),
        "nearest_code/mistake/smallest_dot": dot.argmin(dim=1),
    }


def perplexities(counts: torch.Tensor) -> dict[str, float]:
    """exp(H) of the usage counts/counts.sum(), and what each wrong version of it gives."""
    p = counts / counts.sum()
    nz = p[p > 0]
    H = -(nz * nz.log()).sum().item()  # nats
    c = counts[counts > 0]
    K = len(counts)
    return {
        "": math.exp(H),
        "/mistake/entropy_nats": H,
        "/mistake/entropy_bits": H / math.log(2),
        "/mistake/exp_of_bits": math.exp(H / math.log(2)),
        "/mistake/two_to_nats": 2**H,
        "/mistake/raw_counts": math.exp(-(c * c.log()).sum().item()),
        "/mistake/counts_over_K": math.exp(-((c / K) * (c / K).log()).sum().item()),
        "/mistake/mean_over_codes": math.exp(-(nz * nz.log()).mean().item()),
        "/mistake/wrong_sign": math.exp((nz * nz.log()).sum().item()),
    }


def answers() -> dict[str, object]:
    out: dict[str, object] = nearest_code_answers()
    per_case = [perplexities(torch.bincount(idx.flatten(), minlength=K).double()) for _, idx, K in perplexity_cases()]
    for suffix in per_case[0]:
        out["codebook_perplexity" + suffix] = [case[suffix] for case in per_case]
    out["codebook_perplexity/hidden/shapes"] = [
        perplexities(torch.bincount(idx.flatten(), minlength=K).double())[""] for _, idx, K in perplexity_shape_cases()
    ]
    return out
