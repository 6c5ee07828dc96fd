"""Chapter 03: slerp that falls back to linear interpolation for the whole batch if any row is parallel.

In the public check either no row is parallel (slerp everywhere) or every row is (z1 = 2 z0, lerp
everywhere), so a Python `if` on the whole batch passes every public check. The hidden check mixes
parallel and non-parallel rows in one batch, where the fallback must be decided row by row.
"""

import torch


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: float) -> torch.Tensor:
    cos = (z0 * z1).sum(-1, keepdim=True) / (z0.norm(dim=-1, keepdim=True) * z1.norm(dim=-1, keepdim=True))
    omega = torch.acos(cos.clamp(-1, 1))
    sin_omega = torch.sin(omega)
    if (sin_omega.abs() < 1e-6).any():  # wrong: torch.where on the (B, 1) mask, row by row
        return (1 - t) * z0 + t * z1
    return torch.sin((1 - t) * omega) / sin_omega * z0 + torch.sin(t * omega) / sin_omega * z1


WRONG = {"exercise_3_3": {"slerp": slerp}}
