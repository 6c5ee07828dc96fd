"""Chapter 11: add_noise that scales x_0 and eps in place (*=) before adding them.

It returns the right x_t, and the public check passes it copies of its inputs, so every public check passes. The
hidden check, a float32 training batch of RGB images, verifies that the inputs are unchanged afterwards: in a
training step eps is the target of the loss, and this version silently turns it into sqrt(1 - alpha_bar_t) eps.
"""

import torch


def add_noise(x_0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor, betas: torch.Tensor) -> torch.Tensor:
    alpha_bar = torch.cumprod(1 - betas, dim=0)
    ab = alpha_bar[t].reshape(-1, *[1] * (x_0.dim() - 1))
    x_0 *= ab.sqrt()  # wrong: overwrites the caller's x_0
    eps *= (1 - ab).sqrt()  # wrong: overwrites the caller's eps, the loss's target
    return x_0 + eps


WRONG = {"exercise_11_2": {"add_noise": add_noise}}
