"""Checks for the exercises of chapter 05 (From autoencoder to VAE).

The expected values (and the values of each common mistake) are stored answers; the reference solutions
that computed them live in the grader bundle (assignments/references/ch05.py), not here. Exercise 5.2 is
checked by the statistics and the gradients of the student's samples.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch

from genai_checks.answers import stored
from genai_checks.core import CheckError, expect, expect_answer, expect_close, passed

__all__ = ["check_gaussian_kl", "check_gaussian_kl_sequences", "check_reparameterize", "check_negative_elbo"]


_answer = partial(stored, "ch05")  # this chapter's stored answer of a key


def _close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-5, atol: float = 1e-6) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=rtol, atol=atol))


# ----- Exercise 5.1: KL(N(mu, diag sigma^2) || N(0, I)) in closed form --------------------------------------


def gaussian_kl_cases() -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """(what, mu, logvar) in float32, each (B, D), for exercise 5.1."""
    g = torch.Generator().manual_seed(0)
    return [
        ("q = N(0, I) itself (mu = 0, logvar = 0), B = 2, D = 3", torch.zeros(2, 3), torch.zeros(2, 3)),
        ("a batch of 4 with D = 5", torch.randn(4, 5, generator=g), torch.randn(4, 5, generator=g)),
        (
            "a batch of 3 with D = 2 and narrow q (logvar = -4)",
            torch.randn(3, 2, generator=g),
            torch.full((3, 2), -4.0),
        ),
    ]


_KL_MISTAKES = [  # (the stored values of a wrong formula on gaussian_kl_cases(), what it means)
    ("gaussian_kl/mistake/2", "Your values are exactly twice the KL: the factor 1/2 in front of the sum is missing."),
    (
        "gaussian_kl/mistake/negated",
        "Your values have the wrong sign: a KL divergence is never negative. KL = +1/2 sum(mu^2 + sigma^2 - log "
        "sigma^2 - 1).",
    ),
    (
        "gaussian_kl/mistake/logvar_as_log_sigma",
        "You treated logvar as log sigma (so that sigma^2 = exp(2 logvar)). logvar is log sigma^2 already: "
        "sigma^2 = exp(logvar), log sigma^2 = logvar.",
    ),
    (
        "gaussian_kl/mistake/sigma_for_variance",
        "Your formula uses sigma = exp(logvar / 2) where it needs the variance sigma^2 = exp(logvar).",
    ),
    ("gaussian_kl/mistake/log_sigma", "Your log term is log sigma = logvar / 2; the formula has log sigma^2 = logvar."),
    (
        "gaussian_kl/mistake/logvar_sign",
        "The log-variance term has the wrong sign: the formula has - log sigma^2, so that a narrow q (very "
        "negative logvar) costs a lot.",
    ),
    (
        "gaussian_kl/mistake/no_minus_1",
        "You are missing the -1 inside the sum (one per latent dimension, -D/2 in all): without it the KL of "
        "q = N(0, I) to itself is not 0.",
    ),
    (
        "gaussian_kl/mistake/mean",
        "You averaged over the latent dimensions: the KL of a diagonal Gaussian is a SUM over dimensions.",
    ),
    ("gaussian_kl/mistake/mu_not_squared", "The mean enters squared: mu^2, not mu."),
]


def check_gaussian_kl(gaussian_kl: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """Exercise 5.1: KL(N(mu, diag exp(logvar)) || N(0, I)), summed over the last dimension: (B, D) -> (B,)."""
    cases = gaussian_kl_cases()
    for i, (what, mu, logvar) in enumerate(cases):
        try:
            got = gaussian_kl(mu.clone(), logvar.clone())
        except (TypeError, ValueError, RuntimeError) as err:
            raise CheckError(
                f"gaussian_kl raised {type(err).__name__} on {what}: {err}. Use tensor operations "
                "(torch.exp, .square(), .sum(-1))."
            ) from err
        expect_answer(got, "gaussian_kl", "the KL of each example, a tensor of shape (B,)")
        got = torch.as_tensor(got, dtype=torch.float64)
        expected = _answer(f"gaussian_kl/{i}")
        B, D = mu.shape
        if got.shape == (B, D):
            raise CheckError(
                f"On {what}, gaussian_kl returned shape {(B, D)}: one value per latent dimension. Sum "
                "over the last dimension to get one KL per example, shape (B,)."
            )
        if got.dim() == 0 and B > 1:
            raise CheckError(
                f"On {what}, gaussian_kl returned a single number: you reduced over the batch too. "
                "Sum over the latent dimension only (.sum(-1)), giving shape (B,)."
            )
        expect(got.shape == (B,), f"On {what}, gaussian_kl returned shape {tuple(got.shape)}, expected ({B},).")
        if not _close(got, expected, rtol=1e-4, atol=1e-5):
            for key, hint in _KL_MISTAKES:
                if all(
                    _close(
                        torch.as_tensor(gaussian_kl(m.clone(), lv.clone()), dtype=torch.float64),
                        _answer(key)[j],
                        rtol=1e-4,
                        atol=1e-5,
                    )
                    for j, (_, m, lv) in enumerate(cases)
                ):
                    raise CheckError(hint)
            expect_close(
                got,
                expected,
                what=f"gaussian_kl on {what}",
                rtol=1e-4,
                atol=1e-5,
                hint="KL = 1/2 sum_j (mu_j^2 + exp(logvar_j) - logvar_j - 1).",
            )
    passed("gaussian_kl is 1/2 sum(mu^2 + sigma^2 - log sigma^2 - 1), zero for q = p, one value per example.")


def gaussian_kl_sequence_case() -> tuple[torch.Tensor, torch.Tensor]:
    """(mu, logvar) of shape (B, T, D) = (2, 3, 4): a batch of sequences of latents, for the hidden check."""
    g = torch.Generator().manual_seed(5)
    return torch.randn(2, 3, 4, generator=g), torch.randn(2, 3, 4, generator=g)


def check_gaussian_kl_sequences(gaussian_kl: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """Exercise 5.1, hidden: latents with more leading dimensions, (B, T, D) -> (B, T), summed over D only."""
    mu, logvar = gaussian_kl_sequence_case()
    got = gaussian_kl(mu.clone(), logvar.clone())
    expect_answer(got, "gaussian_kl", "the KL of each (example, position), a tensor of shape (B, T)")
    got = torch.as_tensor(got, dtype=torch.float64)
    expect(
        got.shape == (2, 3),
        f"On latents of shape (2, 3, 4), gaussian_kl returned shape {tuple(got.shape)}, expected (2, 3): "
        "the KL of a diagonal Gaussian sums over the LAST dimension (.sum(-1)), whatever comes before it.",
    )
    expect_close(got, _answer("gaussian_kl/hidden/sequences"), what="gaussian_kl on (B, T, D) latents", rtol=1e-4)
    passed("gaussian_kl sums over the last dimension only, for any leading shape.")


# ----- Exercise 5.2: the reparameterisation trick ---------------------------------------------------------


def check_reparameterize(reparameterize: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """Exercise 5.2: z = mu + exp(logvar / 2) * eps, eps ~ N(0, I), differentiable in mu and logvar."""
    N = 20_000
    mu_row = torch.tensor([2.0, -1.0, 0.0, 0.5])
    lv_row = torch.tensor([0.0, 1.5, -2.0, 0.7])  # sigma = 1, 2.12, 0.37, 1.42
    mu = mu_row.expand(N, 4).clone().requires_grad_(True)
    logvar = lv_row.expand(N, 4).clone().requires_grad_(True)
    torch.manual_seed(0)
    z = reparameterize(mu, logvar)
    expect_answer(z, "reparameterize", "the sample z, a tensor shaped like mu")
    expect(isinstance(z, torch.Tensor), f"reparameterize should return a tensor, got {type(z).__name__}.")
    expect(
        z.shape == mu.shape,
        f"reparameterize returned shape {tuple(z.shape)}, expected {tuple(mu.shape)}, the "
        "shape of mu: one z per example and latent dimension.",
    )
    zd = z.detach().double()
    mean, std = zd.mean(0), zd.std(0)
    sigma = (0.5 * lv_row).exp().double()
    if (zd - mu_row.double()).abs().max() < 1e-9:
        raise CheckError(
            "Your z has no randomness: it returns mu. Add exp(logvar / 2) * eps with eps ~ N(0, I) "
            "(torch.randn_like(mu))."
        )
    if (std < 1e-9).all():
        raise CheckError(
            "Every example got the same eps: draw a fresh eps for every element with "
            "torch.randn_like(mu), not one of shape (1, D)."
        )
    if (mean - mu_row.double()).abs().max() > 0.1:
        hint = " You forgot to add mu." if mean.abs().max() < 0.1 else ""
        raise CheckError(
            f"The mean of your samples per dimension is {mean.numpy().round(2).tolist()}, expected mu = "
            f"{mu_row.tolist()}.{hint}"
        )
    if (std / sigma - 1).abs().max() > 0.05:
        candidates = [
            (
                lv_row.exp().double(),
                "The spread of your samples is exp(logvar) = sigma^2, the variance: multiply eps "
                "by the standard deviation sigma = exp(logvar / 2) = exp(0.5 * logvar).",
            ),
            (
                torch.ones(4, dtype=torch.float64),
                "Your samples have standard deviation 1 in every dimension: you "
                "forgot to multiply eps by sigma = exp(logvar / 2).",
            ),
            (
                (0.25 * lv_row).exp().double(),
                "The spread of your samples is exp(logvar / 4): you took the square "
                "root twice. sigma = exp(logvar / 2).",
            ),
            (
                lv_row.abs().double(),
                "You multiplied eps by logvar itself: logvar is a logarithm; the standard "
                "deviation is exp(logvar / 2).",
            ),
            (
                lv_row.abs().sqrt().double(),
                "You multiplied eps by sqrt(logvar): logvar is a logarithm; sigma = exp(logvar / 2).",
            ),
        ]
        for target, hint in candidates:
            if ((std - target).abs() <= 0.05 * target + 0.01).all():
                raise CheckError(hint)
        raise CheckError(
            f"The standard deviation of your samples per dimension is {std.numpy().round(3).tolist()}, "
            f"expected sigma = exp(logvar / 2) = {sigma.numpy().round(3).tolist()}."
        )
    eps = (zd - mu_row.double()) / sigma
    corr = torch.corrcoef(eps.T)
    off = corr - torch.eye(4, dtype=torch.float64)
    if off.abs().max() > 0.9:
        raise CheckError(
            "The noise in different latent dimensions is the same number: draw an independent eps for "
            "every element, torch.randn_like(mu), not one eps per example."
        )
    # gradients: dz/dmu = 1, dz/dlogvar = 0.5 * sigma * eps = 0.5 * (z - mu)
    if not z.requires_grad:
        raise CheckError(
            "Your z carries no gradient: no loss could train the encoder through it. Did you use "
            "torch.no_grad(), .detach() or .sample()? Build z = mu + exp(0.5 * logvar) * eps from mu "
            "and logvar."
        )
    z.sum().backward()
    if mu.grad is None or logvar.grad is None:
        missing = " and ".join(n for n, t in (("mu", mu), ("logvar", logvar)) if t.grad is None)
        raise CheckError(
            f"No gradient reaches {missing}: compute z from mu and logvar with differentiable "
            "operations, without .detach() or .item()."
        )
    if mu.grad.abs().max() == 0 and logvar.grad.abs().max() == 0:
        raise CheckError(
            "The gradients with respect to mu and logvar are zero: torch.normal(mu, std) and "
            "Normal(...).sample() do not differentiate through the sample. That is exactly what the "
            "reparameterisation trick fixes: z = mu + exp(0.5 * logvar) * eps, eps = torch.randn_like(mu)."
        )
    expect_close(
        mu.grad,
        torch.ones_like(mu),
        what="the gradient of z.sum() with respect to mu",
        rtol=1e-5,
        hint="dz/dmu should be 1: z = mu + sigma * eps.",
    )
    expected_lv = 0.5 * (z.detach() - mu.detach())
    expect_close(
        logvar.grad,
        expected_lv,
        what="the gradient of z.sum() with respect to logvar",
        rtol=1e-4,
        atol=1e-5,
        hint="dz/dlogvar = 0.5 * exp(0.5 * logvar) * eps: let eps be a constant that does not depend on logvar.",
    )
    passed("reparameterize draws z ~ N(mu, exp(logvar)) and lets gradients flow to mu and logvar.")


# ----- Exercise 5.3: the negative ELBO of a Bernoulli VAE ---------------------------------------------------


def elbo_case() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Six random 4x4 binary images, decoder logits and a 3-d posterior, float32: (logits, x, mu, logvar)."""
    g = torch.Generator().manual_seed(0)
    B, D = 6, 3
    x = (torch.rand(B, 1, 4, 4, generator=g) < 0.4).float()
    logits = 3 * torch.randn(B, 1, 4, 4, generator=g)
    mu, logvar = torch.randn(B, D, generator=g), torch.randn(B, D, generator=g)
    return logits, x, mu, logvar


_ELBO_MISTAKES = [  # (the stored value of a wrong loss on elbo_case(), what it means)
    (
        "negative_elbo/mistake/elbo",
        "You returned the ELBO itself; the loss to minimise is its negative, "
        "-(E[log p(x|z)] - KL) = reconstruction NLL + KL.",
    ),
    (
        "negative_elbo/mistake/kl_sign",
        "The KL term has the wrong sign: the negative ELBO ADDS the KL, loss = reconstruction NLL + KL.",
    ),
    (
        "negative_elbo/mistake/mean_pixels",
        "You averaged the reconstruction term over pixels (mean reduction) but "
        "summed the KL: that silently multiplies the KL weight by the number of "
        "pixels. Sum the Bernoulli NLL over pixels (reduction='none', then "
        ".flatten(1).sum(1)).",
    ),
    (
        "negative_elbo/mistake/mean_both",
        "You averaged both terms over their dimensions: that is not the ELBO of "
        "one example (and it changes the KL weight by pixels/latents). Sum over "
        "pixels and over latent dimensions, then average over the batch.",
    ),
    ("negative_elbo/mistake/mean_kl", "You averaged the KL over latent dimensions: sum it."),
    (
        "negative_elbo/mistake/sum_batch",
        "You summed over the batch: average over it, so that the loss (and the "
        "learning rate) does not depend on the batch size.",
    ),
    ("negative_elbo/mistake/no_kl", "The KL term is missing: that is a plain autoencoder's loss."),
    ("negative_elbo/mistake/no_recon", "The reconstruction term is missing."),
    ("negative_elbo/mistake/kl_2", "Your KL is twice too big: 1/2 sum(mu^2 + exp(logvar) - logvar - 1)."),
]


def check_negative_elbo(negative_elbo: Callable[..., torch.Tensor]) -> None:
    """Exercise 5.3: the batch mean of (sum over pixels of the Bernoulli NLL) + KL(q(z|x) || p(z))."""
    logits, x, mu, logvar = elbo_case()
    D = mu.shape[1]

    def call(lg, xx, m, lv):
        try:
            value = negative_elbo(lg.clone(), xx.clone(), m.clone(), lv.clone())
        except (TypeError, ValueError, RuntimeError) as err:
            raise CheckError(f"negative_elbo raised {type(err).__name__}: {err}.") from err
        expect_answer(value, "negative_elbo", "the loss, a single number")
        value = torch.as_tensor(value, dtype=torch.float64)
        expect(
            value.numel() == 1,
            f"negative_elbo returned shape {tuple(value.shape)}: return one number, the mean "
            "over the batch of the per-example negative ELBO.",
        )
        return value.reshape(())

    got = call(logits, x, mu, logvar)
    expected = _answer("negative_elbo")
    if not torch.isclose(got, expected, rtol=1e-4):
        for key, hint in _ELBO_MISTAKES:
            if torch.isclose(got, _answer(key), rtol=1e-4):
                raise CheckError(hint)
        expect_close(
            got,
            expected,
            what="negative_elbo on a batch of 6 random 4x4 binary images",
            rtol=1e-4,
            hint="loss = mean over the batch of [sum over pixels of BCE-with-logits + KL].",
        )
    # Confident, wrong logits: sigmoid followed by BCE clamps log(0) to -100 and under-reports the loss.
    big = torch.full((1, 1, 2, 2), -300.0)
    ones = torch.ones(1, 1, 2, 2)
    z0 = torch.zeros(1, D)
    value = call(big, ones, z0, z0)
    if not torch.isfinite(value) or abs(value.item() - 1200.0) > 1e-2 * 1200:
        raise CheckError(
            f"With logits -300 on 4 pixels that are 1, the loss should be 4 x 300 = 1200 nats, got "
            f"{value.item():.6g}: compute the likelihood from the logits with "
            "F.binary_cross_entropy_with_logits, not sigmoid followed by binary_cross_entropy (which "
            "clamps log 0 to -100, or gives inf/NaN)."
        )
    passed("negative_elbo = mean over the batch of (summed Bernoulli NLL on logits + KL), numerically safe.")
