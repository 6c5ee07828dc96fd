"""Chapter 08: a conversion that loops over the losses to use math.exp, one number at a time.

math.exp takes a single number, so a student who reaches for it loops over the tensor. On a 1-D
tensor of losses, the only input of the public checks, each entry is one number and every public
check passes. The exercise takes a tensor of losses of any shape: on the per-character losses of a
batch, (B, T), the loop yields whole rows, and on a single 0-d loss there is nothing to loop over.
"""

import math

import torch


def convert(nats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    bits = nats / math.log(2)
    perplexity = torch.tensor([math.exp(h) for h in nats])  # wrong: loops over dim 0 only; use torch.exp(nats)
    return bits, perplexity


WRONG = {"exercise_8_1": {"convert": convert}}
