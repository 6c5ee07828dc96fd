"""Reference solutions for chapter 02's checks."""

import math

import torch
import torch.nn.functional as F

from genai_checks.ch02 import EXTREME_LOGITS, FAR_LOGITS, LOGITS, densities_case, jsd_cases


def optimal_discriminator(p_data: torch.Tensor, p_g: torch.Tensor) -> torch.Tensor:
    """D*(x) = p_data(x) / (p_data(x) + p_g(x)) (Goodfellow et al., 2014, Proposition 1)."""
    return p_data / (p_data + p_g)


def g_loss(l: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss -log D(G(z)) = softplus(-l), averaged over the batch."""
    return F.softplus(-l).mean()


G_MISTAKES = {  # the common wrong generator losses that the check recognises
    "saturating": lambda l: -F.softplus(l).mean(),
    "negated": lambda l: -F.softplus(-l).mean(),
    "discriminator": lambda l: F.softplus(l).mean(),
    "no_log": lambda l: -torch.sigmoid(l).mean(),
    "raw_logit": lambda l: -l.mean(),
    "sum": lambda l: F.softplus(-l).sum(),
    "one_minus_d": lambda l: torch.sigmoid(-l).mean(),
}


def kl(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """KL(p || q) of discrete distributions in nats, with 0 log 0 = 0."""
    return torch.where(p > 0, p * (p / q).log(), torch.zeros_like(p)).sum(-1)


def jsd(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """JSD(p || q) = 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q) / 2."""
    m = (p + q) / 2
    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


JSD_MISTAKES = {  # the common wrong divergences that the check recognises
    "twice": lambda p, q: kl(p, (p + q) / 2) + kl(q, (p + q) / 2),
    "bits": lambda p, q: jsd(p, q) / math.log(2),
    "first_half": lambda p, q: 0.5 * kl(p, (p + q) / 2),
    "kl_p_m": lambda p, q: kl(p, (p + q) / 2),
    "symmetrised_kl": lambda p, q: 0.5 * kl(p, q) + 0.5 * kl(q, p),
    "reversed_kl": lambda p, q: 0.5 * kl((p + q) / 2, p) + 0.5 * kl((p + q) / 2, q),
}


def answers() -> dict[str, object]:
    p_data, p_g = densities_case()
    both = (p_g > 0) & (p_data > 0)
    l = torch.tensor(LOGITS, dtype=torch.float64)
    out: dict[str, object] = {
        "optimal_discriminator": optimal_discriminator(p_data, p_g),
        "optimal_discriminator/mistake/ratio": p_data[both] / p_g[both],
        "optimal_discriminator/mistake/epsilon": p_data / (p_data + p_g + 1e-3),
        "non_saturating_loss": g_loss(l),
        "non_saturating_loss/grad": -(1 - torch.sigmoid(l)) / len(l),  # d/dl softplus(-l), over the mean
        # softplus(200) = 200 and softplus(0) = log 2, in float32 as the check calls it
        "non_saturating_loss/far": torch.tensor((-FAR_LOGITS[0] + math.log(2)) / 2),
    }
    for name, f in G_MISTAKES.items():
        out[f"non_saturating_loss/mistake/{name}"] = f(l)
    extreme = torch.tensor(EXTREME_LOGITS, dtype=torch.float64)  # the hidden check calls it in float32
    out["non_saturating_loss/hidden/extreme"] = g_loss(extreme)
    out["non_saturating_loss/hidden/extreme_grad"] = -(1 - torch.sigmoid(extreme)) / len(extreme)
    cases = jsd_cases()
    out["jsd"] = torch.stack([jsd(p, q) for _, p, q in cases])
    for name, f in JSD_MISTAKES.items():
        out[f"jsd/mistake/{name}"] = torch.stack([f(p, q) for _, p, q in cases])
    return out
