"""Chapter 02: a hand-made stable softplus whose torch.where has an overflowing branch.

The loss picks log1p(exp(-l)) for l > 0 and -l + log1p(exp(l)) otherwise, so its VALUE is exact everywhere,
the -200 of the public check included, and the public check compares gradients only at moderate logits.
At a logit of -200 or +200 in float32 the branch that torch.where does not select is inf, and its gradient,
0 * inf, is NaN: the hidden check takes the gradient there.
"""

import torch


def non_saturating_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    l = fake_logits
    per_fake = torch.where(l > 0, torch.log1p(torch.exp(-l)), -l + torch.log1p(torch.exp(l)))  # wrong: F.softplus(-l)
    return per_fake.mean()


WRONG = {"exercise_2_3": {"non_saturating_loss": non_saturating_loss}}
