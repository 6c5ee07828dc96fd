"""Reference solutions for chapter 05's checks (exercise 5.2 needs none: its check is statistical)."""

import torch
import torch.nn.functional as F

from genai_checks.ch05 import elbo_case, gaussian_kl_cases, gaussian_kl_sequence_case


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)) = 1/2 sum (mu^2 + sigma^2 - log sigma^2 - 1), over the last dim."""
    return 0.5 * (mu.square() + logvar.exp() - logvar - 1).sum(-1)


KL_MISTAKES = {  # the common wrong formulas that the check recognises
    "2": lambda m, lv: 2 * gaussian_kl(m, lv),
    "negated": lambda m, lv: -gaussian_kl(m, lv),
    "logvar_as_log_sigma": lambda m, lv: 0.5 * (m.square() + (2 * lv).exp() - 2 * lv - 1).sum(-1),
    "sigma_for_variance": lambda m, lv: 0.5 * (m.square() + (0.5 * lv).exp() - lv - 1).sum(-1),
    "log_sigma": lambda m, lv: 0.5 * (m.square() + lv.exp() - 0.5 * lv - 1).sum(-1),
    "logvar_sign": lambda m, lv: 0.5 * (m.square() + lv.exp() + lv - 1).sum(-1),
    "no_minus_1": lambda m, lv: 0.5 * (m.square() + lv.exp() - lv).sum(-1),
    "mean": lambda m, lv: 0.5 * (m.square() + lv.exp() - lv - 1).mean(-1),
    "mu_not_squared": lambda m, lv: 0.5 * (m + lv.exp() - lv - 1).sum(-1),
}


def negative_elbo(logits, x, mu, logvar) -> torch.Tensor:
    """The batch mean of (summed Bernoulli NLL on logits + KL(q(z|x) || N(0, I))) (Kingma & Welling, 2014)."""
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    return (recon + gaussian_kl(mu, logvar)).mean()


def elbo_mistakes(logits, x, mu, logvar) -> dict[str, torch.Tensor]:
    """The common wrong losses that the check recognises, as the check computed them (recon in float32)."""
    D = mu.shape[1]
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").double().flatten(1)
    kl = gaussian_kl(mu.double(), logvar.double())
    return {
        "elbo": -negative_elbo(logits.double(), x.double(), mu.double(), logvar.double()),
        "kl_sign": (recon.sum(1) - kl).mean(),
        "mean_pixels": (recon.mean(1) + kl).mean(),
        "mean_both": (recon.mean(1) + kl / D).mean(),
        "mean_kl": (recon.sum(1) + kl / D).mean(),
        "sum_batch": (recon.sum(1) + kl).sum(),
        "no_kl": recon.sum(1).mean(),
        "no_recon": kl.mean(),
        "kl_2": (recon.sum(1) + 2 * kl).mean(),
    }


def answers() -> dict[str, object]:
    out: dict[str, object] = {}
    cases = [(mu.double(), logvar.double()) for _, mu, logvar in gaussian_kl_cases()]
    for i, (mu, logvar) in enumerate(cases):
        out[f"gaussian_kl/{i}"] = gaussian_kl(mu, logvar)
    for name, f in KL_MISTAKES.items():
        out[f"gaussian_kl/mistake/{name}"] = [f(mu, logvar) for mu, logvar in cases]
    mu, logvar = gaussian_kl_sequence_case()
    out["gaussian_kl/hidden/sequences"] = gaussian_kl(mu.double(), logvar.double())
    logits, x, mu, logvar = elbo_case()
    out["negative_elbo"] = negative_elbo(logits.double(), x.double(), mu.double(), logvar.double())
    for name, value in elbo_mistakes(logits, x, mu, logvar).items():
        out[f"negative_elbo/mistake/{name}"] = value
    return out
