"""Checks for the exercises of chapter 19 (Sound: WaveNet and spectrograms).

How the answers are judged. A receptive field is a count: a Python int, a numpy integer, a 0-d tensor or an
integer-valued float (3.0) is accepted; a fraction, a bool or a string is not. µ-law classes are compared
exactly with the stored classes, except at samples whose (F(x) + 1) mu / 2 lies within 1e-6 mu of a half
(but not on it): there the last bits of float32 arithmetic decide the side, and both neighbours are right.
Exact halves are strict: with an odd mu, silence (x = 0) gives mu / 2 in any arithmetic, and halves go up.
For mu = 255 that is 127.5, which torch.round (halves to the even neighbour) also sends to 128, so only the
hidden check, with mu = 5 (2.5), tells the two roundings apart.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence

import torch

from genai_checks.answers import stored
from genai_checks.core import CheckError, expect, expect_answer, passed

__all__ = [
    "check_receptive_field",
    "check_receptive_field_measured",
    "check_mu_law",
    "check_mu_law_other_mu",
]

# ----- Exercise 19.1: the receptive field of a WaveNet ------------------------------------------------------

# Every case's dilations leave no gaps (each at most 1 + (k - 1) times the sum of those before it, the input
# convolution's 1 included), so that the span R is also the number of inputs that reach the output: with
# dilations (3, 9) and k = 2 the output at t would see only 8 of the 14 samples from t - 13 to t.
RF_CASES: list[tuple[int, Sequence[int]]] = [  # (kernel_size, dilations): kernel 2, as the chapter's WaveNet
    (2, (1,)),
    (2, [1, 2, 4, 8]),
    (2, tuple(2**i for i in range(8))),  # one stack, the chapter's standard WaveNet
    (2, [2**i for i in range(8)] * 2),  # two stacks, WaveNetConfig's default
    (2, (1, 1, 1)),
    (2, [2, 3]),
]

RF_HIDDEN_CASES: list[tuple[int, Sequence[int], bool]] = [  # (kernel_size, dilations, measure on a WaveNet too)
    (3, (1, 2, 4), True),
    (3, (1,), False),
    (3, [1, 2, 4, 8, 16], False),
    (4, (1, 3), True),
    (4, [1, 2, 4, 8] * 2, False),
    (5, (2, 2), False),
]

_OFF_BY_ONE = (
    "Off by one: your R is one short. Either x_t itself is missing (the output at t depends on x_t and on the "
    "samples before it: + 1), or WaveNet's input causal convolution is (a plain one, dilation 1, before the "
    "dilated layers: it reaches k - 1 samples further back). R = 1 + (k - 1)(1 + sum of the dilations)."
)
_LARGEST = (
    "You used only the largest dilation. Every layer reaches (k - 1) d samples further back than its input does, "
    "and the reaches of the layers add up: sum over all of them."
)
RF_MISTAKES = [  # (the name of a wrong formula's stored answers, what it means); with k = 2 only
    ("no_input_conv", _OFF_BY_ONE),  # 1 + (k - 1) sum(d)
    ("no_current", _OFF_BY_ONE),  # (k - 1)(1 + sum(d)): the same number as the one above when k = 2
    (
        "reach_only",
        "You counted how far back the dilated layers reach, (k - 1) times the sum of the dilations, and nothing "
        "else: add the input causal convolution's k - 1 samples and 1 for x_t itself.",
    ),
    (
        "kernel_not_minus_one",
        "A kernel of k taps reads t, t - d, ..., t - (k - 1) d: it reaches (k - 1) d samples back, not k d. With "
        "k = 2 each layer adds d samples, not 2 d.",
    ),
    (
        "product",
        "You multiplied the dilations. The layers are stacked, so their reaches add: each one reaches "
        "(k - 1) d further back than its input did. Sum the dilations.",
    ),
    ("largest", _LARGEST),  # k max(d)
    ("last_layer", _LARGEST),  # 1 + (k - 1) max(d)
    (
        "power_of_two",
        "2 ** (number of layers) is only roughly the receptive field of one stack of dilations 1, 2, 4, ... (their "
        "sum is 2 ** layers - 1), and not that of other dilations: add up (k - 1) d over the layers, plus the input "
        "convolution's k - 1 and 1 for x_t.",
    ),
    (
        "no_dilation",
        "You ignored the dilations, as if every layer reached k - 1 samples back. A layer with dilation d reads "
        "t, t - d, ..., t - (k - 1) d: it reaches (k - 1) d back.",
    ),
]
RF_HIDDEN_MISTAKES = [  # (name, what it means), for kernels of 3 taps and more
    (
        "ignore_kernel",
        "Your answer is right for kernel_size = 2 only: it ignores kernel_size. A causal convolution of k taps "
        "reads t, t - d, ..., t - (k - 1) d, so it reaches (k - 1) d samples back, not d: "
        "R = 1 + (kernel_size - 1)(1 + sum of the dilations).",
    ),
    (
        "no_input_conv",
        "You left out WaveNet's input causal convolution: before the dilated layers there is a plain one "
        "(dilation 1), which reaches k - 1 more samples back. With k = 2 that is one sample, like the + 1 for "
        "x_t, so the public check could not tell which one you had; here it is k - 1.",
    ),
    (
        "no_current",
        "Off by one: you counted the samples before x_t but not x_t itself. Add 1.",
    ),
]
_RF_RULE = (
    "R = 1 + (k - 1)(1 + sum of the dilations): x_t itself, k - 1 samples for the input causal convolution and "
    "(k - 1) d for each dilated layer."
)


def _rf_of(receptive_field: Callable, kernel_size: int, dilations: Sequence[int]) -> int:
    """The student's receptive field for one WaveNet, checked to be one whole number."""
    given = list(dilations) if isinstance(dilations, list) else tuple(dilations)  # a copy: theirs to change
    what = f"kernel_size = {kernel_size} and dilations {given!r}"
    try:
        got = receptive_field(kernel_size, given)
    except (TypeError, ValueError, RuntimeError, IndexError, AttributeError) as err:
        raise CheckError(
            f"For {what}, receptive_field raised {type(err).__name__}: {err}. (dilations may be a list or a tuple.)"
        ) from err
    expect_answer(got, "receptive_field", "the number of input samples one output depends on (an int)")
    if isinstance(got, torch.Tensor):
        expect(
            got.numel() == 1,
            f"For {what}, receptive_field returned a tensor of shape {tuple(got.shape)}: return one number.",
        )
        got = got.item()
    if isinstance(got, bool):
        raise CheckError("receptive_field returned a bool: return how many input samples one output depends on.")
    expect(
        isinstance(got, numbers.Real),
        f"receptive_field should return an int (or a 0-d tensor), got {type(got).__name__}.",
    )
    expect(float(got).is_integer(), f"For {what}, receptive_field returned {got}: a count is a whole number.")
    return int(got)


def _describe(kernel_size: int, dilations: Sequence[int]) -> str:
    return f"kernel_size = {kernel_size} and dilations {tuple(dilations)}"


def _mistaken(got: list[int], want: list[int], wrong: dict[str, list[int]], mistakes: list[tuple[str, str]]) -> str:
    """The message of the mistake that gives the student's answer on every case they got wrong (of those, the one
    that agrees with them on most cases), else the rule."""
    wrong_cases = [j for j, (g, w) in enumerate(zip(got, want, strict=True)) if g != w]
    explains = [
        (sum(a == b for a, b in zip(wrong[name], got, strict=True)), -n, msg)
        for n, (name, msg) in enumerate(mistakes)
        if all(wrong[name][j] == got[j] for j in wrong_cases)
    ]
    return max(explains)[2] if explains else _RF_RULE


def check_receptive_field(receptive_field: Callable) -> None:
    """Exercise 19.1: how many inputs one output of a WaveNet depends on, 1 + (k - 1)(1 + sum of the dilations)."""
    got = [_rf_of(receptive_field, k, d) for k, d in RF_CASES]
    want = stored("ch19", "receptive_field")
    if got == want:
        passed(
            "receptive_field counts x_t, the input causal convolution's k - 1 samples and (k - 1) d for each "
            "dilated layer: 1 + (k - 1)(1 + sum of the dilations)."
        )
        return
    wrong = {name: stored("ch19", f"receptive_field/mistake/{name}") for name, _ in RF_MISTAKES}
    i = next(j for j, (g, w) in enumerate(zip(got, want, strict=True)) if g != w)
    hint = _mistaken(got, want, wrong, RF_MISTAKES)
    raise CheckError(f"For {_describe(*RF_CASES[i])}, your receptive field is {got[i]}, expected {want[i]}. {hint}")


def measured_receptive_field(kernel_size: int, dilations: Sequence[int]) -> int:
    """How many inputs the output at one late t of a small untrained WaveNet moves with, one input changed at a time.

    Chapter 19's Section 4 experiment in miniature: row j of one batch has input j moved to another class, and
    the last row is the unchanged input; float64, and a line at 1e-12, keep rounding from counting as a dependence.
    """
    from genai_lib.models.wavenet import WaveNet, WaveNetConfig

    V = 8
    config = WaveNetConfig(
        n_classes=V,
        residual_channels=4,
        dilation_channels=4,
        skip_channels=4,
        kernel_size=kernel_size,
        dilations=tuple(dilations),
    )
    T = 2 * config.receptive_field + 8  # room on both sides of the inputs that should reach t
    t = T - 4
    with torch.random.fork_rng(devices=[]):  # leaves the student's random state as it was
        torch.manual_seed(19)
        model = WaveNet(config).double().eval()  # float64: the faintest real path stands far above rounding
        x = torch.randint(V, (1, T))
    changed = x.repeat(T + 1, 1)  # (T + 1, T)
    changed[torch.arange(T), torch.arange(T)] = (x[0] + V // 2) % V
    with torch.no_grad():
        logits = model(changed)[0][:, t]  # (T + 1, V): the outputs at t
    # > 1e-12, not > 0: a matrix product may sum one row of the batch in another order (~1e-16 in float64)
    return int(((logits[:-1] - logits[-1]).abs().amax(dim=1) > 1e-12).sum())


def check_receptive_field_measured(receptive_field: Callable) -> None:
    """Exercise 19.1, hidden: kernels of 3 to 5 taps, compared with WaveNetConfig.receptive_field and with the
    inputs that an untrained WaveNet's output is measured to depend on."""
    from genai_lib.models.wavenet import WaveNetConfig

    want = stored("ch19", "receptive_field/hidden")
    got, shown = [], []
    for (k, d, measure), w in zip(RF_HIDDEN_CASES, want, strict=True):
        got.append(_rf_of(receptive_field, k, d))
        model = WaveNetConfig(kernel_size=k, dilations=tuple(d)).receptive_field
        measured = measured_receptive_field(k, d) if measure else model
        if not w == model == measured:  # the book's own code disagrees with itself: not the student's fault
            raise RuntimeError(
                f"For {_describe(k, d)}, the stored answer {w}, WaveNetConfig's {model} and the measured count "
                f"{measured} differ: the book's WaveNet has changed; regenerate the answers and check the formula."
            )
        shown.append(f"WaveNetConfig(kernel_size={k}, dilations={tuple(d)}).receptive_field is {model}")
        if measure:
            shown[-1] += f", and an untrained WaveNet of that shape, probed one input at a time, depends on {measured}"
    if got != want:
        wrong = {name: stored("ch19", f"receptive_field/hidden/mistake/{name}") for name, _ in RF_HIDDEN_MISTAKES}
        i = next(j for j, (g, w) in enumerate(zip(got, want, strict=True)) if g != w)
        hint = _mistaken(got, want, wrong, RF_HIDDEN_MISTAKES)
        k, d, _ = RF_HIDDEN_CASES[i]
        raise CheckError(
            f"For {_describe(k, d)}, your receptive field is {got[i]}, expected {want[i]} ({shown[i]}). {hint}"
        )
    passed(
        "receptive_field holds for kernels of 3 to 5 taps too, and agrees with WaveNetConfig and with a WaveNet "
        "probed one input at a time."
    )


# ----- Exercise 19.2: µ-law by hand ------------------------------------------------------------------------

MU = 255  # the public check's mu, as in the chapter, G.711 and WaveNet
OTHER_MUS = (15, 63, 5)  # the hidden check's; with mu = 5 silence is the exact half 2.5, which goes up to 3
NEAR_HALF = 1e-6  # times mu: within this of a half (not on it), float32's last bits pick the side


def hand_samples() -> torch.Tensor:
    """Samples from -1 to 1 by hand: both ends, silence, and tiny values on either side of it."""
    return torch.tensor(
        [-1, -0.5, -0.25, -0.1, -0.01, -1e-3, -1e-4, -1e-5, -1e-12, 0, 1e-12, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 0.25]
        + [0.5, 1]
    )


def _samples(g: torch.Generator, n: int) -> torch.Tensor:
    """n samples: half spread over [-1, 1], half near silence (magnitudes 1e-6 to 0.1, either sign), shuffled."""
    loud = torch.rand(n // 2, generator=g) * 2 - 1
    m = n - n // 2
    sign = torch.where(torch.rand(m, generator=g) < 0.5, -1.0, 1.0)
    quiet = sign * 10 ** (torch.rand(m, generator=g) * 5 - 6)
    return torch.cat([loud, quiet])[torch.randperm(n, generator=g)]


def mu_law_cases() -> list[tuple[str, torch.Tensor, int]]:
    """(what it is, x, mu) of the public check: mu = 255."""
    g = torch.Generator().manual_seed(19)
    return [
        ("hand-picked samples from -1 to 1, silence and tiny values included", hand_samples(), MU),
        ("256 random samples, half of them within 0.1 of silence", _samples(g, 256), MU),
        ("a (4, 32) batch of random samples", _samples(g, 128).reshape(4, 32), MU),
    ]


def mu_law_cases_other_mu() -> list[tuple[str, torch.Tensor, int]]:
    """(what it is, x, mu) of the hidden check: mu other than 255."""
    g = torch.Generator().manual_seed(1955)
    cases = []
    for mu in OTHER_MUS:
        cases.append(("hand-picked samples from -1 to 1, silence included", hand_samples(), mu))
        cases.append(("128 random samples, half of them within 0.1 of silence", _samples(g, 128), mu))
    return cases


MU_LAW_MISTAKES = [  # (the name of a wrong encoding's stored classes, what it means)
    (
        "uniform",
        "You quantised x uniformly, without companding it first: round (F(x) + 1) mu / 2 with "
        "F(x) = sign(x) ln(1 + mu abs(x)) / ln(1 + mu), not (x + 1) mu / 2. That is the point of µ-law: many "
        "classes near silence, where most samples are.",
    ),
    (
        "no_sign",
        "Your negative samples get the classes of positive ones: F(x) keeps the sign of x, "
        "sign(x) ln(1 + mu abs(x)) / ln(1 + mu), so that x = -1 is class 0.",
    ),
    (
        "no_normalise",
        "You did not divide by ln(1 + mu): F(x) = sign(x) ln(1 + mu abs(x)) / ln(1 + mu) lies in [-1, 1], with "
        "F(1) = 1; without the division it runs to ln(1 + mu) = 5.5 and the classes overflow 0..mu.",
    ),
    (
        "log_mu",
        "You divided by ln(mu); the normaliser is ln(1 + mu) (math.log1p(mu)), which makes F(1) = 1 exactly.",
    ),
    (
        "truncate",
        "You rounded down (torch.floor, or .long(), which truncates): round (F(x) + 1) mu / 2 to the nearest "
        "integer, halves up: torch.floor(v + 0.5).",
    ),
    (
        "mu_plus_one",
        "You scaled by mu + 1 = 256. There are mu + 1 classes, but mu steps between them: (F(x) + 1) mu / 2, "
        "rounded, sends F = -1 to 0 and F = 1 to mu.",
    ),
    (
        "mu_plus_one_bins",
        "You cut [-1, 1] into mu + 1 equal bins, floor((F(x) + 1)(mu + 1) / 2), clipped to mu: a convention of "
        "its own, but this exercise rounds (F(x) + 1) mu / 2 to the nearest integer (halves up), as "
        "mu_law_encode does.",
    ),
    (
        "no_shift",
        "Your classes are centred on 0, from -mu/2 to mu/2: shift F(x) by 1 before scaling, (F(x) + 1) mu / 2, "
        "so that they run from 0 to mu.",
    ),
    (
        "clamp_mu_minus_one",
        "You clamped the classes to 0..mu - 1, but there are mu + 1 of them, 0..mu: x = 1 is class mu.",
    ),
    (
        "reversed",
        "Your classes run backwards: x = -1 is class 0 and x = 1 is class mu, (F(x) + 1) mu / 2, "
        "not (1 - F(x)) mu / 2.",
    ),
]
MU_LAW_HIDDEN_MISTAKES = [  # (name, what it means), for mu other than 255
    (
        "fixed_normaliser",
        "Your F(x) divides by ln(1 + 255) whatever mu is: use the mu argument everywhere, ln(1 + mu) "
        "(math.log1p(mu)) included, not 255.",
    ),
    (
        "ignore_mu",
        "Your classes are those of mu = 255 whatever mu is: use the mu argument, not 255, in F(x) and in the "
        "scaling (F(x) + 1) mu / 2.",
    ),
    (
        "round_half_even",
        "At silence with mu = 5, (F(0) + 1) mu / 2 = 2.5 exactly, and halves go up, to 3. torch.round (and "
        "Python's round) send a half to the even neighbour, 2: use torch.floor(v + 0.5).",
    ),
]


def _classes_of(mu_law: Callable, what: str, x: torch.Tensor, mu: int) -> torch.Tensor:
    """The student's classes on one input, checked to be an int64 tensor of x's shape."""
    try:
        got = mu_law(x.clone(), mu)
    except (TypeError, ValueError, RuntimeError, IndexError, AttributeError) as err:
        raise CheckError(f"On {what} (mu = {mu}), mu_law raised {type(err).__name__}: {err}") from err
    expect_answer(got, "mu_law", "the tensor of classes 0..mu")
    try:
        classes = torch.as_tensor(got)
    except (TypeError, ValueError, RuntimeError) as err:
        raise CheckError(f"mu_law should return a tensor of classes, got {type(got).__name__}.") from err
    expect(
        classes.shape == x.shape,
        f"On {what} (mu = {mu}), mu_law returned shape {tuple(classes.shape)}, expected {tuple(x.shape)}: one class "
        "per sample, in x's shape.",
    )
    if classes.is_floating_point():
        whole = bool((classes == classes.round()).all())
        raise CheckError(
            f"mu_law returned {classes.dtype} values: classes are integers, int64 (torch.long), as nn.Embedding "
            "and F.cross_entropy expect. "
            + ("Finish with .long()." if whole else "Round (F(x) + 1) mu / 2 (torch.floor(v + 0.5)), then .long().")
        )
    expect(
        classes.dtype == torch.int64,
        f"mu_law returned {classes.dtype} classes; classes are int64 (torch.long): finish with .long().",
    )
    return classes


def _right(classes: torch.Tensor, key: str) -> torch.Tensor | None:
    """Which of `classes` (flat) are the stored ones of `key`, either neighbour accepted where float32 decides the
    side; None if the shapes differ."""
    want = stored("ch19", key)
    if classes.shape != want.shape:
        return None
    ok = (classes == want).flatten()
    flat = classes.flatten()
    for i, other in stored("ch19", f"{key}/near_half"):
        ok[i] |= bool(flat[i] == other)
    return ok


def _agrees(classes: torch.Tensor, key: str) -> bool:
    ok = _right(classes, key)
    return ok is not None and bool(ok.all())


def _show(x: torch.Tensor, got: torch.Tensor, want: torch.Tensor, wrong: torch.Tensor) -> str:
    """The first few wrong samples: x, the student's classes and the expected ones."""
    at = wrong.nonzero().flatten()[:5]
    xs, g, w = x.flatten()[at], got.flatten()[at], want.flatten()[at]
    return (
        f"\n  x:        {[float(f'{v:.4g}') for v in xs.tolist()]}\n  yours:    {g.tolist()}\n  expected: {w.tolist()}"
    )


def _explain(mu_law: Callable, cases: list, key: str, mistakes: list[tuple[str, str]], rule: str) -> None:
    """Fail on the first case whose classes are wrong, with the message of the mistake that gives them."""
    for i, (what, x, mu) in enumerate(cases):
        classes = _classes_of(mu_law, what, x, mu)
        case = f"{key}/case={i}"
        ok = _right(classes, case)
        assert ok is not None  # _classes_of checked the shape
        if bool(ok.all()):
            continue
        want = stored("ch19", case)
        hint = next((msg for name, msg in mistakes if _agrees(classes, f"{case}/mistake/{name}")), None)
        if hint is None:
            outside = (classes < 0) | (classes > mu)
            hint = (
                f"Some of your classes are outside 0..{mu}, e.g. {int(classes[outside][0])}. {rule}"
                if bool(outside.any())
                else rule
            )
        j = int((~ok).nonzero()[0])
        raise CheckError(
            f"On {what} (mu = {mu}), x = {x.flatten()[j].item():.6g} gives your class {int(classes.flatten()[j])}, "
            f"expected {int(want.flatten()[j])}. {hint}{_show(x, classes, want, ~ok)}"
        )


_MU_LAW_RULE = (
    "F(x) = sign(x) ln(1 + mu abs(x)) / ln(1 + mu), then (F(x) + 1) mu / 2 rounded to the nearest integer, halves "
    "up: torch.floor(v + 0.5).long()."
)


def check_mu_law(mu_law: Callable) -> None:
    """Exercise 19.2: samples in [-1, 1] -> µ-law classes 0..mu (int64, x's shape), with mu = 255."""
    _explain(mu_law, mu_law_cases(), "mu_law", MU_LAW_MISTAKES, _MU_LAW_RULE)
    passed(
        "mu_law compands with F(x) = sign(x) ln(1 + mu abs(x)) / ln(1 + mu) and rounds (F(x) + 1) mu / 2 to the "
        "classes 0..mu, as mu_law_encode does."
    )


def check_mu_law_other_mu(mu_law: Callable) -> None:
    """Exercise 19.2, hidden: mu = 15, 63 and 5 (whose silence, 2.5, is an exact half)."""
    _explain(mu_law, mu_law_cases_other_mu(), "mu_law/hidden/other_mu", MU_LAW_HIDDEN_MISTAKES, _MU_LAW_RULE)
    passed("mu_law uses the mu it is given, and rounds halves up.")
