"""Reference solutions for chapter 12's checks."""

import torch

from genai_checks.ch12 import GUIDANCE_SCALES


def _pair(a: float, b: float) -> torch.Tensor:
    """The coefficients (a, b) of a ε_cond + b ε_uncond."""
    return torch.tensor([a, b], dtype=torch.float64)


def answers() -> dict[str, object]:
    out: dict[str, object] = {}
    for w in GUIDANCE_SCALES:
        key = f"guided_eps/w={w}"
        out[key] = _pair(w, 1 - w)  # eps_uncond + w (eps_cond - eps_uncond)
        out[f"{key}/swapped"] = _pair(1 - w, w)  # eps_cond + w (eps_uncond - eps_cond)
        out[f"{key}/paper"] = _pair(1 + w, -w)  # Ho & Salimans: (1 + w) eps_cond - w eps_uncond
        out[f"{key}/no_subtraction"] = _pair(w, 1.0)  # eps_uncond + w eps_cond
        out[f"{key}/wrong_term"] = [
            _pair(1.0, w - 1),  # eps_cond + w eps_uncond - eps_uncond
            _pair(1 - w, 0.0),  # (1 - w) eps_cond
            _pair(1.0, w),
        ]  # eps_cond + w eps_uncond
    return out
