"""Chapter 15: an exact match that pairs the two dictionaries' attributes by position, not by name.

zip(predicted.values(), asked.values()) compares the first predicted attribute with the first asked one,
and so on. The public cases build both dictionaries in the same order, so every pair is right and every
public check passes. In the hidden case the judge lists its attributes in another order (colour, size,
shape against shape, colour, size): colours are compared with shapes, and the share is wrong.
"""

import torch


def exact_match(predicted: dict[str, torch.Tensor], asked: dict[str, torch.Tensor]) -> float:
    hits = torch.stack([p == q for p, q in zip(predicted.values(), asked.values(), strict=True)])  # wrong: by name
    return hits.all(dim=0).float().mean().item()


WRONG = {"exercise_15_1": {"exact_match": exact_match}}
