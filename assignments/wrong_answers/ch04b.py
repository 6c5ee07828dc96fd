"""Chapter 4b: demodulation without eps inside the square root (to become assignments/wrong_answers/ch04b.py).

Every public check uses styles away from zero, where dividing by the plain norm is right. A sample whose
styles are all zero (a style layer whose affine map has learned to switch a sample off) has a zero norm:
without eps the weights are 0 / 0 = NaN, and the hidden check catches it.
"""

import torch


def demodulate_weights(weight: torch.Tensor, s: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    modulated = s[:, None, :, None, None] * weight[None]  # (B, out, in, k, k)
    return modulated / modulated.square().sum(dim=(2, 3, 4), keepdim=True).sqrt()  # wrong: no eps


WRONG = {"exercise_4b_2": {"demodulate_weights": demodulate_weights}}
