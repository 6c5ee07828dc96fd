"""Chapter 06: an IWAE bound whose max trick subtracts one maximum for the whole batch.

Subtracting the largest log weight before exp is the right idea, but the maximum must be taken per
example (over the k samples, dim=0). The public cases' examples all lie within a dozen nats of each
other (near -90, -100 and -800 within a case), so exp(log_w - log_w.max()) never underflows there and
every public check passes. The hidden check's examples lie near -80, -900 and -3000 nats: for all but
the first, exp underflows to 0 and the bound is -inf.
"""

import torch


def iwae_from_log_weights(log_w: torch.Tensor) -> torch.Tensor:
    m = log_w.max()  # wrong: one maximum for the batch; each example needs its own, log_w.max(dim=0)
    return m + torch.log(torch.exp(log_w - m).mean(dim=0))


WRONG = {"exercise_6_1": {"iwae_from_log_weights": iwae_from_log_weights}}
