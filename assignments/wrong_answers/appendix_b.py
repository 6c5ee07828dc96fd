"""Appendix B: shard gradients combined with a float64 tensor of sizes and a matrix product.

torch.tensor(sizes, dtype=torch.float64) @ grads is the size-weighted sum, right for float64 gradients:
the public cases are all float64, so every public check passes (a float32 sizes tensor would have failed
them with a dtype error, which this fixed by naming float64). But a model's gradients are float32, and a
matrix product refuses to mix dtypes: on the hidden float32 gradients it raises a RuntimeError.
"""

import torch


def combine_shard_gradients(grads: torch.Tensor, sizes: list[int]) -> torch.Tensor:
    n = torch.tensor(sizes, dtype=torch.float64)  # wrong: dtype=grads.dtype
    return (n @ grads) / n.sum()


WRONG = {"exercise_B_1": {"combine_shard_gradients": combine_shard_gradients}}
