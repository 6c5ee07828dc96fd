"""Reference solutions for chapter 01's checks."""

import math

import torch

from genai_checks.ch01 import KL_CASES, kl_batch_case, mle_cases


def gaussian_mle(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The maximum-likelihood Gaussian: the sample mean and the covariance divided by n."""
    mu = x.mean(dim=0)
    centred = x - mu
    return mu, centred.T @ centred / len(x)


def kl(mu_p: float, s_p: float, mu_q: float, s_q: float) -> float:
    """KL(N(mu_p, s_p^2) || N(mu_q, s_q^2)) in closed form."""
    return math.log(s_q / s_p) + (s_p**2 + (mu_p - mu_q) ** 2) / (2 * s_q**2) - 0.5


KL_MISTAKES = {  # the common wrong formulas that the check recognises
    "swapped": lambda mp, sp, mq, sq: kl(mq, sq, mp, sp),
    "log_of_variances": lambda mp, sp, mq, sq: math.log(sq**2 / sp**2) + (sp**2 + (mp - mq) ** 2) / (2 * sq**2) - 0.5,
    "no_constant": lambda mp, sp, mq, sq: math.log(sq / sp) + (sp**2 + (mp - mq) ** 2) / (2 * sq**2),
    "standard_deviations": lambda mp, sp, mq, sq: math.log(sq / sp) + (sp + (mp - mq) ** 2) / (2 * sq) - 0.5,
    "no_half": lambda mp, sp, mq, sq: math.log(sq / sp) + (sp**2 + (mp - mq) ** 2) / sq**2 - 0.5,
    "log_sign": lambda mp, sp, mq, sq: math.log(sp / sq) + (sp**2 + (mp - mq) ** 2) / (2 * sq**2) - 0.5,
}


def _on_cases(f) -> torch.Tensor:
    return torch.tensor([f(*case) for case in KL_CASES], dtype=torch.float64)


def answers() -> dict[str, object]:
    out: dict[str, object] = {}
    for i, (_, x) in enumerate(mle_cases()):
        out[f"gaussian_mle/{i}/mu"], out[f"gaussian_mle/{i}/Sigma"] = gaussian_mle(x)
    out["kl_gaussians"] = _on_cases(kl)
    for name, f in KL_MISTAKES.items():
        out[f"kl_gaussians/mistake/{name}"] = _on_cases(f)
    mu_p, sigma_p = kl_batch_case()
    pairs = zip(mu_p.tolist(), sigma_p.tolist(), strict=True)
    out["kl_gaussians/batch"] = torch.tensor([kl(m, s, 0.0, 1.0) for m, s in pairs], dtype=torch.float64)
    return out
