"""Reference solutions for chapter 20's checks (the cost of attention over a clip, the centroid of a frame), with
the common mistakes."""

import torch

from genai_checks.ch20 import (
    CENTROID_MISTAKES,
    COST_CASES,
    COST_HIDDEN_CASES,
    COST_MISTAKES,
    centroid_cases,
    centroid_cases_not_square,
    counted_score_cost,
)
from genai_lib.motion import centroid_track
from genai_lib.nn.spacetime import attention_cost

# ----- Exercise 20.1 ----------------------------------------------------------------------------------------


def score_cost(T: int, N: int, C: int, mode: str) -> int:
    """2 C per pair of tokens that meet: (T N)^2 pairs in full attention, T N^2 + N T^2 factorised."""
    pairs = (T * N) ** 2 if mode == "full" else T * N**2 + N * T**2
    return 2 * C * pairs


COST = {  # each wrong formula named in COST_MISTAKES
    "scores_only": lambda T, N, C, mode: score_cost(T, N, C, mode) // 2,
    "no_width": lambda T, N, C, mode: score_cost(T, N, 1, mode),
    "space_only": lambda T, N, C, mode: score_cost(T, N, C, mode) if mode == "full" else 2 * C * T * N**2,
    "time_only": lambda T, N, C, mode: score_cost(T, N, C, mode) if mode == "full" else 2 * C * N * T**2,
    "one_sequence_each": lambda T, N, C, mode: score_cost(T, N, C, mode) if mode == "full" else 2 * C * (N**2 + T**2),
    "tokens_not_pairs": lambda T, N, C, mode: 2 * C * T * N if mode == "full" else score_cost(T, N, C, mode),
    "factorised_as_full": lambda T, N, C, mode: score_cost(T, N, C, "full"),
}

# ----- Exercise 20.2 ----------------------------------------------------------------------------------------


def centroid(frames: torch.Tensor) -> torch.Tensor:
    """sum_ij w_ij (i + 1/2, j + 1/2) / sum_ij w_ij, w the brightness: (B, 3, H, W) -> (B, 2)."""
    w = frames.sum(dim=1)  # (B, H, W)
    H, W = w.shape[-2:]
    rows = torch.arange(H, dtype=w.dtype) + 0.5
    cols = torch.arange(W, dtype=w.dtype) + 0.5
    total = w.sum(dim=(1, 2))
    return torch.stack([(w.sum(2) * rows).sum(1) / total, (w.sum(1) * cols).sum(1) / total], dim=1)


CENTROID = {  # each wrong centroid named in CENTROID_MISTAKES
    "no_half": lambda f: centroid(f) - 0.5,
    "swapped": lambda f: centroid(f).flip(1),
    "unweighted": lambda f: centroid((f.sum(1, keepdim=True) > 0).float().expand_as(f)),
    "not_normalised": lambda f: centroid(f) * f.sum(dim=(1, 2, 3))[:, None],
}


def answers() -> dict[str, object]:
    assert [name for name, _ in COST_MISTAKES] == list(COST), "the mistakes of the check and here differ"
    assert [name for name, _ in CENTROID_MISTAKES] == list(CENTROID), "the mistakes of the check and here differ"
    out: dict[str, object] = {}
    out["score_cost"] = [score_cost(*case) for case in COST_CASES]
    for case, cost in zip(COST_CASES, out["score_cost"], strict=True):
        assert cost == attention_cost(*case)["scores"], case
    for name, formula in COST.items():
        out[f"score_cost/mistake/{name}"] = [formula(*case) for case in COST_CASES]
        assert out[f"score_cost/mistake/{name}"] != out["score_cost"], f"no case catches {name}"
    out["score_cost/hidden"] = [score_cost(*case) for case in COST_HIDDEN_CASES]
    for case in COST_HIDDEN_CASES[:2]:
        assert score_cost(*case) == counted_score_cost(*case), case
    for i, (_, frames) in enumerate(centroid_cases()):
        want = centroid(frames.double()).float()
        assert torch.allclose(want, centroid_track(frames[None])[0], atol=1e-4), "the reference and the library differ"
        out[f"centroid/case={i}"] = want
        for name, wrong in CENTROID.items():
            out[f"centroid/case={i}/mistake/{name}"] = wrong(frames.double()).float()
    for name in CENTROID:
        assert any(
            not torch.allclose(out[f"centroid/case={i}"], out[f"centroid/case={i}/mistake/{name}"], atol=1e-3)
            for i in range(len(centroid_cases()))
        ), f"no case catches {name}"
    for i, (_, frames) in enumerate(centroid_cases_not_square()):
        out[f"centroid/hidden/case={i}"] = centroid(frames.double()).float()
    return out
