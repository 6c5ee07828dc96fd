"""Checks for the exercises of chapter 02 (The GAN game).

The expected values (and the values of each common mistake) are stored answers; the reference solutions
that computed them live in the grader bundle (assignments/references/ch02.py), not here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch

from genai_checks.answers import stored
from genai_checks.core import CheckError, expect, expect_answer, expect_close, passed

__all__ = ["check_optimal_discriminator", "check_non_saturating_loss", "check_non_saturating_grad", "check_jsd"]


_answer = partial(stored, "ch02")  # this chapter's stored answer of a key


def _call(fn: Callable, name: str, returns: str, *args):
    try:
        value = fn(*args)
    except (TypeError, ValueError, RuntimeError) as err:
        raise CheckError(
            f"{name} raised {type(err).__name__}: {err}. Its arguments are tensors: use torch "
            "operations (torch.log, torch.sigmoid, F.softplus, ...) rather than math.*."
        ) from err
    expect_answer(value, name, returns)
    expect(isinstance(value, torch.Tensor), f"{name} should return a tensor, got {type(value).__name__}.")
    return value


def _same(a: torch.Tensor, b: torch.Tensor, tol: float = 1e-5) -> bool:
    a, b = a.detach().double(), b.detach().double()
    return a.shape == b.shape and bool(torch.isfinite(a).all()) and bool(torch.allclose(a, b, rtol=tol, atol=tol))


# ----- Exercise 2.2: the optimal discriminator --------------------------------------------------------------


def densities_case() -> tuple[torch.Tensor, torch.Tensor]:
    """p_data(x) and p_g(x) at six points, zeros included: (p_data, p_g)."""
    p_data = torch.tensor([0.5, 0.1, 2.0, 0.25, 0.0, 1e-3], dtype=torch.float64)
    p_g = torch.tensor([0.5, 0.3, 0.5, 0.0, 0.8, 3e-3], dtype=torch.float64)
    return p_data, p_g


def check_optimal_discriminator(optimal_discriminator: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """Exercise 2.2: D*(x) = p_data(x) / (p_data(x) + p_g(x)), elementwise on density values."""
    p_data, p_g = densities_case()
    expected = _answer("optimal_discriminator")
    got = _call(
        optimal_discriminator, "optimal_discriminator", "D*(x), a tensor of the same shape", p_data.clone(), p_g.clone()
    )
    expect(
        got.shape == expected.shape,
        f"optimal_discriminator returned shape {tuple(got.shape)}, expected {tuple(expected.shape)}: one value "
        "per point, no sum or mean.",
    )
    if _same(got, 1 - expected):  # p_g / (p_data + p_g)
        raise CheckError(
            "You returned p_g / (p_data + p_g): the ratio is swapped. D(x) is the probability that x is "
            "REAL, so the data density goes on top: D* = p_data / (p_data + p_g)."
        )
    finite = (p_g > 0) & (p_data > 0)
    ratio = _answer("optimal_discriminator/mistake/ratio")  # p_data / p_g where both are positive
    if got[finite].shape == ratio.shape and _same(got[finite], ratio):
        raise CheckError(
            "You returned the density ratio p_data / p_g, which is not a probability (it exceeds 1). "
            "Divide by the sum: D* = p_data / (p_data + p_g)."
        )
    if got[finite].shape == ratio.shape and _same(got[finite], ratio.log()):
        raise CheckError(
            "You returned log(p_data / p_g): that is the optimal discriminator's LOGIT, not D* itself. "
            "Apply the sigmoid, or compute p_data / (p_data + p_g) directly."
        )
    if _same(got, _answer("optimal_discriminator/mistake/epsilon"), tol=1e-3) and not _same(got, expected):
        raise CheckError(
            "Your D* is slightly too small everywhere: an epsilon in the denominator is fine only if it "
            "is tiny (1e-12), or leave it out."
        )
    expect(
        bool(torch.isfinite(got).all()),
        f"optimal_discriminator returned {got.tolist()}: where one density is 0 and the other is positive, D* is "
        "exactly 0 or 1, with no NaN.",
    )
    expect_close(
        got,
        expected,
        what="D* on six points",
        rtol=1e-6,
        atol=1e-9,
        hint="D*(x) = p_data(x) / (p_data(x) + p_g(x)), elementwise.",
    )
    passed("optimal_discriminator is p_data / (p_data + p_g): 1/2 where the densities agree, 1 where only data live.")


# ----- Exercise 2.3: the non-saturating generator loss ------------------------------------------------------

LOGITS = [-6.0, -2.0, -0.5, 0.0, 1.0, 3.0]  # the discriminator's logits l on six fakes, float64
FAR_LOGITS = [-200.0, 0.0]  # float32: D(G(z)) = sigmoid(-200) underflows to 0
EXTREME_LOGITS = [-200.0, -50.0, 50.0, 200.0]  # float32, for the hidden check: exp(+-200) overflows

_G_MISTAKES = [  # (the stored value of a wrong loss on LOGITS, what it means)
    (
        "non_saturating_loss/mistake/saturating",
        "This is the SATURATING (minimax) loss log(1 - D(G(z))) = -softplus(l). Its gradient with respect to the logit "
        "is -sigmoid(l), which vanishes when D confidently rejects the fakes. The non-saturating loss is "
        "-log D(G(z)) = softplus(-l).",
    ),
    (
        "non_saturating_loss/mistake/negated",
        "Wrong sign: you return log D(G(z)) = -softplus(-l); minimising it makes the generator's samples look "
        "MORE fake. "
        "The generator minimises -log D(G(z)) = softplus(-l).",
    ),
    (
        "non_saturating_loss/mistake/discriminator",
        "You return -log(1 - D(G(z))) = softplus(l): that is the discriminator's loss on the fakes, so minimising it "
        "helps D, not G (a sign error on the saturating loss). The generator minimises -log D(G(z)) = softplus(-l).",
    ),
    (
        "non_saturating_loss/mistake/no_log",
        "You return -D(G(z)) = -sigmoid(l), without the logarithm. That is not the GAN objective: its gradient with "
        "respect to the logit, -sigmoid(l)(1 - sigmoid(l)), vanishes both when D rejects and when D accepts the "
        "fakes. Take the log: -log D(G(z)) = softplus(-l).",
    ),
    (
        "non_saturating_loss/mistake/raw_logit",
        "You return -l, the raw logit: that is the hinge/Wasserstein generator loss of Chapter 4, not -log D(G(z)). "
        "Use softplus(-l).",
    ),
    (
        "non_saturating_loss/mistake/sum",
        "Your loss is the SUM over the batch: average it (.mean()), so that its size does not depend on the "
        "batch size.",
    ),
    (
        "non_saturating_loss/mistake/one_minus_d",
        "You return 1 - D(G(z)) without the logarithm. Take -log D(G(z)) = softplus(-l).",
    ),
]


def check_non_saturating_loss(g_loss: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Exercise 2.3: the non-saturating generator loss -log D(G(z)) = softplus(-l), averaged, on logits l."""
    logits = torch.tensor(LOGITS, dtype=torch.float64)
    l = logits.clone().requires_grad_(True)
    got = _call(g_loss, "g_loss", "the loss, a scalar tensor", l)
    expect(got.dim() == 0, f"g_loss returned shape {tuple(got.shape)}: return one number, the mean over the batch.")
    expect(
        got.requires_grad,
        "g_loss's result does not depend on the logits through autograd (requires_grad is "
        "False): compute it with torch operations on the tensor you were given, without .item(), "
        ".detach() or numpy.",
    )
    (grad,) = torch.autograd.grad(got, l)
    expected = _answer("non_saturating_loss")
    if not _same(got, expected):
        for key, hint in _G_MISTAKES:
            if _same(got, _answer(key)):
                raise CheckError(hint)
        expect_close(
            got,
            expected,
            what="g_loss on six logits",
            rtol=1e-6,
            hint="-log D(G(z)) = -log sigmoid(l) = softplus(-l), averaged over the batch.",
        )
    expect_close(
        grad,
        _answer("non_saturating_loss/grad"),
        what="the gradient of g_loss with respect to the logits",
        rtol=1e-5,
        hint="d/dl softplus(-l) = -(1 - sigmoid(l)); with the mean over N logits, divide by N.",
    )
    # Numerical safety: D rejects a fake with logit -200, so D(G(z)) = sigmoid(-200) underflows in float32.
    far = torch.tensor(FAR_LOGITS, dtype=torch.float32, requires_grad=True)
    value = _call(g_loss, "g_loss", "the loss", far)
    if not torch.isfinite(value).all():
        raise CheckError(
            f"g_loss(tensor([-200., 0.])) is {value.item()}: you computed log(sigmoid(l)), and sigmoid(-200) "
            "is 0 in float32, so its log is -inf. Work on the logits: -log sigmoid(l) = softplus(-l) "
            "(F.softplus or F.binary_cross_entropy_with_logits with target 1)."
        )
    expect_close(
        value,
        _answer("non_saturating_loss/far"),
        what="g_loss(tensor([-200., 0.]))",
        rtol=1e-5,
        hint="softplus(200) = 200 to float precision, softplus(0) = log 2.",
    )
    passed("g_loss is -log D(G(z)) on logits: its gradient -(1 - sigmoid(l)) is strongest where D rejects the fakes.")


def check_non_saturating_grad(g_loss: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Exercise 2.3, hidden: the value AND the gradient stay finite and exact at float32 logits of +-200 and +-50."""
    l = torch.tensor(EXTREME_LOGITS, dtype=torch.float32, requires_grad=True)
    value = _call(g_loss, "g_loss", "the loss, a scalar tensor", l)
    expect(value.numel() == 1, f"g_loss returned shape {tuple(value.shape)}: return one number, the batch mean.")
    expect(value.requires_grad, "g_loss's result does not depend on the logits through autograd.")
    expect_close(
        value.reshape(()),
        _answer("non_saturating_loss/hidden/extreme"),
        what=f"g_loss(tensor({EXTREME_LOGITS}))",
        rtol=1e-5,
        hint="softplus(-l) is -l for very negative l and 0 for very positive l.",
    )
    (grad,) = torch.autograd.grad(value.reshape(()), l)
    if not torch.isfinite(grad).all():
        raise CheckError(
            f"The gradient of g_loss at the logits {EXTREME_LOGITS} (float32) is {grad.tolist()}: the loss is "
            "right but its gradient is NaN. A branch that overflows (exp(200) = inf) poisons the gradient even "
            "where torch.where does not select it, since its gradient is 0 * inf = NaN. Use an expression "
            "that is finite everywhere: F.softplus(-l), or -F.logsigmoid(l)."
        )
    expect_close(
        grad,
        _answer("non_saturating_loss/hidden/extreme_grad"),
        what=f"the gradient of g_loss at the logits {EXTREME_LOGITS}",
        rtol=1e-5,
        atol=1e-7,
        hint="d/dl softplus(-l) = -(1 - sigmoid(l)), divided by the batch size: -1/4 where D rejects a fake.",
    )
    passed("g_loss keeps a finite gradient, -(1 - sigmoid(l)) / N, even at logits of +-200 in float32.")


# ----- Exercise 2.4: the Jensen-Shannon divergence ----------------------------------------------------------


def jsd_cases() -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """(what, p, q) in float64: overlapping, then partly disjoint (0 log 0 = 0), then identical, then disjoint."""
    cases = [
        ("p = [0.1, 0.2, 0.7], q = [0.3, 0.3, 0.4]", [0.1, 0.2, 0.7], [0.3, 0.3, 0.4]),
        ("p = [0.5, 0.5, 0, 0], q = [0, 0.25, 0.25, 0.5] (zeros!)", [0.5, 0.5, 0.0, 0.0], [0.0, 0.25, 0.25, 0.5]),
        ("p = q = [0.25, 0.75]", [0.25, 0.75], [0.25, 0.75]),
        ("p = [1, 0], q = [0, 1] (disjoint)", [1.0, 0.0], [0.0, 1.0]),
    ]
    return [(what, torch.tensor(p, dtype=torch.float64), torch.tensor(q, dtype=torch.float64)) for what, p, q in cases]


_JSD_MISTAKES = [  # (the stored values of a wrong formula on jsd_cases(), what it means)
    (
        "jsd/mistake/twice",
        "Your value is twice the JSD: you forgot the factor 1/2 in JSD = 1/2 KL(p || m) + 1/2 KL(q || m).",
    ),
    (
        "jsd/mistake/bits",
        "Your value is in bits (log base 2): this book measures in nats, with the natural log (torch.log).",
    ),
    (
        "jsd/mistake/first_half",
        "You have only the first half, 1/2 KL(p || m): add 1/2 KL(q || m), which makes the JSD symmetric.",
    ),
    ("jsd/mistake/kl_p_m", "You computed KL(p || m) only: JSD = 1/2 KL(p || m) + 1/2 KL(q || m)."),
    (
        "jsd/mistake/symmetrised_kl",
        "You compared p and q directly (the symmetrised KL): compare each of them with the mixture m = (p + q) / 2.",
    ),
    (
        "jsd/mistake/reversed_kl",
        "Your KL divergences point the wrong way, KL(m || p): the JSD uses KL(p || m) and KL(q || m).",
    ),
]


def check_jsd(jsd: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """Exercise 2.4: JSD(p || q) = 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q) / 2, in nats, for discrete p, q."""
    for i, (what, p, q) in enumerate(jsd_cases()):
        got = _call(jsd, "jsd", "the divergence, a scalar tensor", p.clone(), q.clone())
        expect(
            got.numel() == 1,
            f"On {what}, jsd returned shape {tuple(got.shape)}: sum over the outcomes and return one number.",
        )
        expected = _answer("jsd")[i]
        if not torch.isfinite(got).all():
            raise CheckError(
                f"On {what}, jsd returned {got.item()}: where p(x) = 0 the term p log(p/m) is 0 by "
                "convention (0 log 0 = 0), but 0 * log(0) is NaN in floating point. Mask those terms, "
                "e.g. torch.where(p > 0, p * (p / m).log(), 0), or use torch.xlogy."
            )
        if not _same(got.reshape(()), expected):
            for key, hint in _JSD_MISTAKES:
                w = _answer(key)[i]
                if torch.isfinite(w) and _same(got.reshape(()), w) and not _same(w, expected):
                    raise CheckError(f"On {what}: {hint}")
            expect_close(
                got.reshape(()),
                expected,
                what=f"jsd on {what}",
                rtol=1e-6,
                atol=1e-9,
                hint="JSD = 1/2 sum p log(p/m) + 1/2 sum q log(q/m), with m = (p + q) / 2 and natural logs.",
            )
    passed("jsd is 0 for equal distributions, log 2 = 0.693 nats for disjoint ones, and exact in between.")
