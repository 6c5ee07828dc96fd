"""Chapter 04: power iteration whose random start is float64, whatever the dtype of W.

The public check's matrices are float64, so a start made with dtype=torch.float64 (the fix a student
finds when torch.randn's float32 clashes with them) passes every public check. The weights of a layer
are float32: on the hidden check's float32 matrix, W.T @ u mixes the two dtypes and raises.
"""

import torch
import torch.nn.functional as F


def spectral_norm_power(W: torch.Tensor, n_iter: int) -> float:
    u = F.normalize(torch.randn(W.shape[0], dtype=torch.float64), dim=0)  # wrong: dtype=W.dtype
    for _ in range(n_iter):
        v = F.normalize(W.T @ u, dim=0)
        u = F.normalize(W @ v, dim=0)
    return torch.dot(u, W @ v).item()


WRONG = {"exercise_4_2": {"spectral_norm_power": spectral_norm_power}}
