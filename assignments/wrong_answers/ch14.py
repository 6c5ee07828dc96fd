"""Chapter 14: guided logits computed as the log of the guided product of probabilities.

The chapter shows that guidance turns probabilities into p_∅^(1 − w) p_c^w; this answer computes that
product's log from softmax probabilities, (1 − w) log softmax(l_∅) + w log softmax(l_c). Up to a constant
per row these are the guided logits, so on the public logits (random, of moderate size) every softmax
matches. But the log of a softmax underflows: on the hidden logits, whose masked entries are -1e4,
softmax gives exactly 0 there, log 0 = -inf, and (1 − w)(-inf) + w(-inf) is NaN for every w.
"""

import torch


def guided_logits(cond: torch.Tensor, uncond: torch.Tensor, w: float) -> torch.Tensor:
    return (1 - w) * uncond.softmax(-1).log() + w * cond.softmax(-1).log()  # wrong: log_softmax, or the logits


WRONG = {"exercise_14_2": {"guided_logits": guided_logits}}
