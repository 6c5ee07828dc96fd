"""Reference solutions for chapter 03's checks."""

import torch

from genai_checks.ch03 import SIZE_CASES, slerp_case, slerp_mixed_case


def conv_transpose_size(n: int, k: int, s: int, p: int, op: int) -> int:
    """The output size of nn.ConvTranspose2d: (in - 1) * stride - 2 * padding + kernel + output_padding."""
    return (n - 1) * s - 2 * p + k + op


SIZE_MISTAKES = {  # the common wrong formulas that the check recognises
    "ordinary_conv": lambda n, k, s, p, op: (n + 2 * p - k) // s + 1,
    "no_output_padding": lambda n, k, s, p, op: (n - 1) * s - 2 * p + k,
    "in_times_stride": lambda n, k, s, p, op: n * s - 2 * p + k + op,
    "padding_once": lambda n, k, s, p, op: (n - 1) * s - p + k + op,
    "padding_sign": lambda n, k, s, p, op: (n - 1) * s + 2 * p + k + op,
    "only_stride": lambda n, k, s, p, op: n * s,
}


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation (Shoemake, 1985), one angle per row, linear where the vectors are parallel."""
    cos = (z0 * z1).sum(-1, keepdim=True) / (z0.norm(dim=-1, keepdim=True) * z1.norm(dim=-1, keepdim=True))
    omega = torch.acos(cos.clamp(-1, 1))
    so = torch.sin(omega)
    lerp = (1 - t) * z0 + t * z1
    safe = so.abs() > 1e-6
    so = torch.where(safe, so, torch.ones_like(so))
    out = torch.sin((1 - t) * omega) / so * z0 + torch.sin(t * omega) / so * z1
    return torch.where(safe, out, lerp)


def slerp_one_angle(z0: torch.Tensor, z1: torch.Tensor, t: float) -> torch.Tensor:
    """The mistake of measuring one angle for the whole batch (sums over every element)."""
    cos = (z0 * z1).sum() / (z0.norm() * z1.norm())
    omega = torch.acos(cos.clamp(-1, 1))
    return torch.sin((1 - t) * omega) / torch.sin(omega) * z0 + torch.sin(t * omega) / torch.sin(omega) * z1


def answers() -> dict[str, object]:
    out: dict[str, object] = {"conv_transpose_size": [conv_transpose_size(*case) for case in SIZE_CASES]}
    for name, f in SIZE_MISTAKES.items():
        out[f"conv_transpose_size/mistake/{name}"] = [f(*case) for case in SIZE_CASES]
    z0, z1 = slerp_case()
    out["slerp/mid"] = slerp(z0, z1, 0.5)
    out["slerp/mid/mistake/one_angle"] = slerp_one_angle(z0, z1, 0.5)
    out["slerp/mid/mistake/unit"] = slerp(z0 / z0.norm(dim=-1, keepdim=True), z1 / z1.norm(dim=-1, keepdim=True), 0.5)
    out["slerp/hidden/mixed"] = slerp(*slerp_mixed_case(), 0.3)
    return out
