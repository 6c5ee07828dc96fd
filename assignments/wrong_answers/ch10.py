"""Chapter 10: a temperature softmax made stable by subtracting the maximum of the whole tensor, not of each row.

Subtracting a constant from a row does not change its softmax, so the mistake is invisible as long as every row's
largest logit is close to the tensor's: true of the public cases (a vector, or rows of random logits of similar
size; the large logits (1000, 999, 0) are a single vector). The hidden check gives a (B, T, V) batch whose rows
are shifted by -900 to 600: every row far below the overall maximum underflows to exp(...) = 0, and 0 / 0 = NaN.
"""

import torch


def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    z = logits / temperature
    e = torch.exp(z - z.max())  # wrong: z.max(dim=-1, keepdim=True).values, each row's own maximum
    return e / e.sum(-1, keepdim=True)


WRONG = {"exercise_10_1": {"apply_temperature": apply_temperature}}
