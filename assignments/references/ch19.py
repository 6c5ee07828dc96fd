"""Reference solutions for chapter 19's checks (the receptive field of a WaveNet, µ-law by hand), with the common
mistakes."""

import math
from collections.abc import Callable

import torch

from genai_checks.ch19 import (
    MU_LAW_HIDDEN_MISTAKES,
    MU_LAW_MISTAKES,
    NEAR_HALF,
    RF_CASES,
    RF_HIDDEN_CASES,
    RF_HIDDEN_MISTAKES,
    RF_MISTAKES,
    measured_receptive_field,
    mu_law_cases,
    mu_law_cases_other_mu,
)
from genai_lib.models.wavenet import WaveNetConfig
from genai_lib.mu_law import mu_law_encode

# ----- Exercise 19.1 ----------------------------------------------------------------------------------------


def receptive_field(kernel_size: int, dilations) -> int:
    """x_t, the input causal convolution's k - 1 samples and (k - 1) d for each dilated layer."""
    return 1 + (kernel_size - 1) * (1 + sum(dilations))


RF = {  # each wrong formula named in RF_MISTAKES
    "no_input_conv": lambda k, d: 1 + (k - 1) * sum(d),
    "no_current": lambda k, d: (k - 1) * (1 + sum(d)),
    "reach_only": lambda k, d: (k - 1) * sum(d),
    "kernel_not_minus_one": lambda k, d: 1 + k * (1 + sum(d)),
    "product": lambda k, d: 1 + (k - 1) * (1 + math.prod(d)),
    "largest": lambda k, d: k * max(d),
    "last_layer": lambda k, d: 1 + (k - 1) * max(d),
    "power_of_two": lambda k, d: 2 ** len(d),
    "no_dilation": lambda k, d: 1 + (k - 1) * (1 + len(d)),
}
RF_HIDDEN = {  # each wrong formula named in RF_HIDDEN_MISTAKES
    "ignore_kernel": lambda k, d: 2 + sum(d),
    "no_input_conv": RF["no_input_conv"],
    "no_current": RF["no_current"],
}

# ----- Exercise 19.2 ----------------------------------------------------------------------------------------


def mu_law(x: torch.Tensor, mu: int) -> torch.Tensor:
    """F(x) = sign(x) ln(1 + mu abs(x)) / ln(1 + mu), then (F(x) + 1) mu / 2 rounded to the nearest integer, halves
    up."""
    y = torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)
    return torch.floor((y + 1) / 2 * mu + 0.5).long()


def _companded(x: torch.Tensor, mu: int, normaliser: float | None = None) -> torch.Tensor:
    return torch.sign(x) * torch.log1p(mu * x.abs()) / (math.log1p(mu) if normaliser is None else normaliser)


# Each encoding: (the value v(x, mu) that is rounded, computed in x's dtype; "nearest" (halves up), "half_even" or
# "floor"; what is done to the classes after rounding). Stored are its classes on float32 x and, where v computed in
# float64 lies within NEAR_HALF mu of the rounding's boundary (but not on it), the class on the other side.
Encoding = tuple[Callable[[torch.Tensor, int], torch.Tensor], str, Callable[[torch.Tensor, int], torch.Tensor]]
_SAME: Callable[[torch.Tensor, int], torch.Tensor] = lambda q, mu: q  # noqa: E731
CORRECT: Encoding = (lambda x, mu: (_companded(x, mu) + 1) / 2 * mu, "nearest", _SAME)
MU_LAW = {  # each wrong encoding named in MU_LAW_MISTAKES
    "uniform": (lambda x, mu: (x + 1) / 2 * mu, "nearest", _SAME),
    "no_sign": (lambda x, mu: (_companded(x.abs(), mu) + 1) / 2 * mu, "nearest", _SAME),
    "no_normalise": (lambda x, mu: (_companded(x, mu, 1.0) + 1) / 2 * mu, "nearest", _SAME),
    "log_mu": (lambda x, mu: (_companded(x, mu, math.log(mu)) + 1) / 2 * mu, "nearest", _SAME),
    "truncate": (CORRECT[0], "floor", _SAME),
    "mu_plus_one": (lambda x, mu: (_companded(x, mu) + 1) / 2 * (mu + 1), "nearest", _SAME),
    "mu_plus_one_bins": (lambda x, mu: (_companded(x, mu) + 1) / 2 * (mu + 1), "floor", lambda q, mu: q.clamp(max=mu)),
    "no_shift": (lambda x, mu: _companded(x, mu) / 2 * mu, "nearest", _SAME),
    "clamp_mu_minus_one": (CORRECT[0], "nearest", lambda q, mu: q.clamp(0, mu - 1)),
    "reversed": (CORRECT[0], "nearest", lambda q, mu: mu - q),
}
MU_LAW_HIDDEN = {  # each wrong encoding named in MU_LAW_HIDDEN_MISTAKES
    "fixed_normaliser": (lambda x, mu: (_companded(x, mu, math.log1p(255)) + 1) / 2 * mu, "nearest", _SAME),
    "ignore_mu": (lambda x, mu: CORRECT[0](x, 255), "nearest", _SAME),
    "round_half_even": (CORRECT[0], "half_even", _SAME),
}


def _round(v: torch.Tensor, rounding: str) -> torch.Tensor:
    if rounding == "nearest":
        return torch.floor(v + 0.5)
    return torch.round(v) if rounding == "half_even" else torch.floor(v)


def _stored(encoding: Encoding, x: torch.Tensor, mu: int) -> tuple[torch.Tensor, list[list[int]]]:
    """(the classes of x, [flat index, the other class] where float32 arithmetic decides the side of a boundary).

    The classes are those of float32 x, as a student computes them, but on the samples within NEAR_HALF mu of a
    boundary, where the last bits of float32 (which vary with the CPU's kernels) pick the side, the side of the
    exact value: so the stored answers do not depend on the machine that wrote them.
    """
    value, rounding, after = encoding
    classes = after(_round(value(x, mu), rounding).long(), mu).flatten()
    v = value(x.double(), mu).flatten()
    exact = after(_round(v, rounding).long(), mu)
    boundary = torch.floor(v) + 0.5 if rounding != "floor" else torch.round(v)  # the nearest half, or integer
    distance = (v - boundary).abs()
    near = ((distance > 0) & (distance < NEAR_HALF * mu)).nonzero().flatten().tolist()
    near_half = []
    for i in near:
        low = int(boundary[i] - 0.5) if rounding != "floor" else int(boundary[i]) - 1  # the classes either side
        sides = after(torch.tensor([low, low + 1]), mu).tolist()
        assert int(classes[i]) in sides, f"class {int(classes[i])} at {float(v[i])} is on neither side of it"
        classes[i] = exact[i]
        near_half.append([i, sides[1] if int(exact[i]) == sides[0] else sides[0]])
    assert torch.equal(classes, exact), "float32 and float64 disagree away from a boundary"
    return classes.reshape(x.shape), near_half


def _mu_law_answers(key: str, cases: list, mistakes: dict) -> dict[str, object]:
    out: dict[str, object] = {}
    for i, (_, x, mu) in enumerate(cases):
        case = f"{key}/case={i}"
        classes, near_half = _stored(CORRECT, x, mu)
        assert torch.equal(mu_law(x, mu), mu_law_encode(x, mu)), case
        differ = (classes != mu_law(x, mu)).flatten().nonzero().flatten().tolist()
        assert set(differ) <= {i for i, _ in near_half}, f"{case}: the reference differs away from a half"
        out[case], out[f"{case}/near_half"] = classes, near_half
        for name, encoding in mistakes.items():
            wrong, wrong_near = _stored(encoding, x, mu)
            out[f"{case}/mistake/{name}"], out[f"{case}/mistake/{name}/near_half"] = wrong, wrong_near
    return out


def answers() -> dict[str, object]:
    assert [name for name, _ in RF_MISTAKES] == list(RF), "the mistakes of the check and here differ"
    assert [name for name, _ in RF_HIDDEN_MISTAKES] == list(RF_HIDDEN), "the mistakes of the check and here differ"
    assert [name for name, _ in MU_LAW_MISTAKES] == list(MU_LAW), "the mistakes of the check and here differ"
    assert [name for name, _ in MU_LAW_HIDDEN_MISTAKES] == list(MU_LAW_HIDDEN), (
        "the mistakes of the check and here differ"
    )
    out: dict[str, object] = {}
    out["receptive_field"] = [receptive_field(k, d) for k, d in RF_CASES]
    for name, formula in RF.items():
        out[f"receptive_field/mistake/{name}"] = [formula(k, d) for k, d in RF_CASES]
        assert out[f"receptive_field/mistake/{name}"] != out["receptive_field"], f"no case catches {name}"
    out["receptive_field/hidden"] = [receptive_field(k, d) for k, d, _ in RF_HIDDEN_CASES]
    for (k, d, measure), R in zip(RF_HIDDEN_CASES, out["receptive_field/hidden"], strict=True):
        assert R == WaveNetConfig(kernel_size=k, dilations=tuple(d)).receptive_field, (k, d)
        assert not measure or R == measured_receptive_field(k, d), (k, d)
    for name, formula in RF_HIDDEN.items():
        out[f"receptive_field/hidden/mistake/{name}"] = [formula(k, d) for k, d, _ in RF_HIDDEN_CASES]
    out.update(_mu_law_answers("mu_law", mu_law_cases(), MU_LAW))
    for name in MU_LAW:
        assert any(
            not torch.equal(out[f"mu_law/case={i}"], out[f"mu_law/case={i}/mistake/{name}"])
            for i in range(len(mu_law_cases()))
        ), f"no case catches {name}"
    out.update(_mu_law_answers("mu_law/hidden/other_mu", mu_law_cases_other_mu(), MU_LAW_HIDDEN))
    return out
