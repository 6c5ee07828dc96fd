"""Reference solutions for Appendix B's checks."""

import torch

from genai_checks.appendix_b import AMDAHL_CASES, float32_shard_case, shard_cases


def _shard_gradients() -> dict[str, object]:
    out: dict[str, object] = {}
    for i, (_, grads, sizes) in enumerate(shard_cases()):
        n = torch.tensor(sizes, dtype=torch.float64)
        key = f"shard_gradient/case={i}"
        out[key] = (n[:, None] * grads).sum(0) / n.sum()  # sum_k n_k g_k / sum_k n_k
        out[f"{key}/plain_mean"] = grads.mean(0)
        out[f"{key}/sum"] = grads.sum(0)
        out[f"{key}/weighted_sum"] = (n[:, None] * grads).sum(0)
        out[f"{key}/divided_by_shards"] = (n[:, None] * grads).sum(0) / len(sizes)
    grads, sizes = float32_shard_case()
    n = torch.tensor(sizes, dtype=torch.float64)
    out["shard_gradient/hidden/float32"] = (n[:, None] * grads.double()).sum(0) / n.sum()
    return out


def _amdahl() -> dict[str, object]:
    out: dict[str, object] = {}
    for p, n in AMDAHL_CASES:
        key = f"amdahl/p={p},N={n}"
        out[key] = 1.0 / ((1 - p) + p / n)  # one over the time with N processes
        out[f"{key}/time"] = (1 - p) + p / n
        out[f"{key}/swapped"] = 1.0 / (p + (1 - p) / n)
        out[f"{key}/multiplied"] = [p * n, (1 - p) + p * n]
    return out


def answers() -> dict[str, object]:
    return {**_shard_gradients(), **_amdahl()}
