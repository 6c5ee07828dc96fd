"""Reference solutions for chapter 06's checks."""

import math

import torch

from genai_checks.ch06 import BPD_CASES, DEEP_LOG_WEIGHTS, log_weight_cases, means_case, spread_log_weights_case


def iwae_from_log_weights(log_w: torch.Tensor) -> torch.Tensor:
    """The IWAE bound L_k = log (1/k) sum_i w_i of each example (Burda et al., 2016), from (k, B) log weights."""
    return torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])


def to_bits_per_dim(nats: float, D: int) -> float:
    """A negative log-likelihood in nats per image, as bits per dimension."""
    return nats / (D * math.log(2))


BPD_MISTAKES = {  # the common wrong conversions that the check recognises
    "per_image": lambda nats, D: nats / math.log(2),
    "times_ln2": lambda nats, D: nats * math.log(2) / D,
    "nats_per_dim": lambda nats, D: nats / D,
    "log10_2": lambda nats, D: nats / (D * math.log10(2)),
    "log10_e": lambda nats, D: nats / (D * math.log10(math.e)),
    "log2_of_nats": lambda nats, D: math.log2(nats) / D,
    "log2_of_nats_per_dim": lambda nats, D: math.log2(nats / D),
    "times_D": lambda nats, D: nats * D / math.log(2),
}


def active_units(mu: torch.Tensor, threshold: float = 0.01) -> tuple[torch.Tensor, int]:
    """A_u = Var_x(E_q[z_u | x]) from posterior means (N, D), and how many exceed the threshold (Burda et al.)."""
    A = mu.var(dim=0)
    return A, int((A > threshold).sum())


def answers() -> dict[str, object]:
    out: dict[str, object] = {}
    for i, (_, log_w) in enumerate(log_weight_cases()):
        k, B = log_w.shape
        out[f"iwae_from_log_weights/{i}"] = iwae_from_log_weights(log_w)
        if k == B:  # only a square tensor can be reduced over the wrong axis with the right shape
            out[f"iwae_from_log_weights/{i}/mistake/wrong_axis"] = torch.logsumexp(log_w, dim=1) - math.log(k)
    out["iwae_from_log_weights/deep"] = iwae_from_log_weights(torch.tensor(DEEP_LOG_WEIGHTS, dtype=torch.float64))
    out["iwae_from_log_weights/hidden/spread"] = iwae_from_log_weights(spread_log_weights_case())
    out["bits_per_dim"] = [to_bits_per_dim(nats, D) for nats, D in BPD_CASES]
    for name, f in BPD_MISTAKES.items():
        out[f"bits_per_dim/mistake/{name}"] = [f(nats, D) for nats, D in BPD_CASES]
    mu = means_case()
    out["active_units/A"], out["active_units/count/0.01"] = active_units(mu, 0.01)
    out["active_units/count/0.5"] = active_units(mu, 0.5)[1]
    out["active_units/A/biased"] = mu.var(dim=0, correction=0)  # dividing by N is accepted too
    return out
