"""The checks of chapter 19's exercises accept correct solutions and name each common mistake."""

import math

import numpy as np
import pytest
import torch

from assignments.wrong_answers import ch19 as wrong_ch19
from genai_checks import (
    CheckError,
    check_mu_law,
    check_mu_law_other_mu,
    check_receptive_field,
    check_receptive_field_measured,
)
from genai_checks.ch19 import measured_receptive_field
from genai_lib.models.wavenet import WaveNetConfig
from genai_lib.mu_law import mu_law_encode

# ----- Exercise 19.1 ----------------------------------------------------------------------------------------


def formula_rf(kernel_size, dilations):
    return 1 + (kernel_size - 1) * (1 + sum(dilations))


def loop_rf(kernel_size, dilations):  # the reaches of the input convolution and the layers, added one at a time
    reach = kernel_size - 1
    for d in dilations:
        reach += (kernel_size - 1) * d
    return reach + 1


def positions_rf(kernel_size, dilations):  # the set of inputs that reach one output, layer by layer
    seen = {0}
    for d in [1, *dilations]:
        seen = {p + j * d for p in seen for j in range(kernel_size)}
    return len(seen)


def library_rf(kernel_size, dilations):  # the chapter's own config
    return WaveNetConfig(kernel_size=kernel_size, dilations=tuple(dilations)).receptive_field


def tensor_rf(kernel_size, dilations):  # a 0-d tensor is fine
    return 1 + (kernel_size - 1) * (1 + torch.tensor(dilations).sum())


def numpy_rf(kernel_size, dilations):  # and so is a numpy integer
    return 1 + (kernel_size - 1) * (1 + np.sum(dilations))


RF_SOLUTIONS = (formula_rf, loop_rf, positions_rf, library_rf, tensor_rf, numpy_rf)


def test_receptive_field_accepts_correct_solutions(capsys):
    for solution in RF_SOLUTIONS:
        check_receptive_field(solution)
    check_receptive_field(lambda k, d: float(formula_rf(k, d)))  # a whole float is a count too
    assert capsys.readouterr().out.count("Correct") == len(RF_SOLUTIONS) + 1


def tuple_only(kernel_size, dilations):  # breaks on a list: (1,) + [2, 4] is a TypeError
    return 1 + (kernel_size - 1) * sum((1,) + dilations)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda k, d: None, "write your solution"),
        (lambda k, d: ..., "write your solution"),
        (lambda k, d: 1 + (k - 1) * sum(d), "one short.*input causal convolution"),
        (lambda k, d: (k - 1) * (1 + sum(d)), "one short.*x_t itself is missing"),
        (lambda k, d: (k - 1) * sum(d), "how far back the dilated layers reach"),
        (lambda k, d: 1 + k * (1 + sum(d)), "reaches \\(k - 1\\) d samples back, not k d"),
        (lambda k, d: 1 + (k - 1) * (1 + math.prod(d)), "multiplied the dilations"),
        (lambda k, d: k * max(d), "only the largest dilation"),
        (lambda k, d: 1 + (k - 1) * max(d), "only the largest dilation"),
        (lambda k, d: 2 ** len(d), "2 \\*\\* \\(number of layers\\)"),
        (lambda k, d: 1 + (k - 1) * (1 + len(d)), "ignored the dilations"),
        (lambda k, d: formula_rf(k, d) + (len(d) == 2), "dilations \\(2, 3\\).*expected 7"),
        (tuple_only, "raised TypeError.*a list or a tuple"),
        (lambda k, d: torch.tensor([formula_rf(k, d)] * 2), "shape \\(2,\\).*one number"),
        (lambda k, d: formula_rf(k, d) > 0, "bool"),
        (lambda k, d: formula_rf(k, d) - 0.5, "whole number"),
        (lambda k, d: str(formula_rf(k, d)), "should return an int"),
    ],
)
def test_receptive_field_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_receptive_field(wrong)


def test_receptive_field_hidden_check_on_other_kernel_sizes(capsys):
    for solution in RF_SOLUTIONS:
        check_receptive_field_measured(solution)
    assert capsys.readouterr().out.count("Correct") == len(RF_SOLUTIONS)
    check_receptive_field(wrong_ch19.receptive_field)  # the wrong answer passes the public check ...
    with pytest.raises(CheckError, match="expected 17.*depends on 17.*ignores kernel_size"):
        check_receptive_field_measured(wrong_ch19.receptive_field)  # ... and fails the hidden one
    with pytest.raises(CheckError, match="left out WaveNet's input causal convolution"):
        check_receptive_field_measured(lambda k, d: 1 + (k - 1) * sum(d))
    with pytest.raises(CheckError, match="not x_t itself"):
        check_receptive_field_measured(lambda k, d: (k - 1) * (1 + sum(d)))


@pytest.mark.parametrize("kernel_size, dilations", [(2, (1, 2, 4)), (3, (1, 2)), (4, (2, 1, 3)), (2, (1, 1))])
def test_the_measured_receptive_field_is_the_formula_and_keeps_the_random_state(kernel_size, dilations):
    torch.manual_seed(0)
    state = torch.get_rng_state()
    assert measured_receptive_field(kernel_size, dilations) == formula_rf(kernel_size, dilations)
    assert torch.equal(torch.get_rng_state(), state)


# ----- Exercise 19.2 ----------------------------------------------------------------------------------------


def good_mu_law(x, mu):
    y = torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)
    return torch.floor((y + 1) / 2 * mu + 0.5).long()


def log_mu_law(x, mu):  # ln(1 + mu abs(x)) instead of log1p, ln(1 + mu) as a tensor, (y + 1) mu / 2
    y = x.sign() * torch.log(1 + mu * x.abs()) / torch.log(torch.tensor(1.0 + mu))
    return ((y + 1) * mu / 2 + 0.5).floor().long()


def truncating_mu_law(x, mu):  # torchaudio's way: + 0.5, then .to(int64) truncates, and the value is never negative
    y = torch.sign(x) * torch.log1p(mu * torch.abs(x)) / math.log1p(mu)
    return ((y + 1) / 2 * mu + 0.5).to(torch.int64)


def float64_mu_law(x, mu):  # exact to the last bit of float64: differs from float32 only near halves
    return good_mu_law(x.double(), mu)


def numpy_mu_law(x, mu):  # numpy, in float32, back to a tensor
    a = x.numpy()
    y = np.sign(a) * np.log1p(mu * np.abs(a)) / np.log1p(np.float32(mu))
    return torch.from_numpy(np.floor((y + 1) / 2 * mu + 0.5).astype(np.int64))


def ndarray_mu_law(x, mu):  # a numpy array is accepted as it is
    return numpy_mu_law(x, mu).numpy()


def loop_mu_law(x, mu):  # one sample at a time with math, in float64
    out = []
    for v in x.flatten().tolist():
        y = math.copysign(math.log1p(mu * abs(v)), v) / math.log1p(mu)
        out.append(math.floor((y + 1) / 2 * mu + 0.5))
    return torch.tensor(out).reshape(x.shape)


MU_LAW_SOLUTIONS = (
    good_mu_law,
    log_mu_law,
    truncating_mu_law,
    float64_mu_law,
    numpy_mu_law,
    ndarray_mu_law,
    loop_mu_law,
    mu_law_encode,
)


def test_mu_law_accepts_correct_solutions(capsys):
    for solution in MU_LAW_SOLUTIONS:
        check_mu_law(solution)
    assert capsys.readouterr().out.count("Correct") == len(MU_LAW_SOLUTIONS)


def _classes(value, rounding=lambda v: torch.floor(v + 0.5)):
    """An encoding that rounds value(x, mu, F(x)) with `rounding` and returns int64 classes."""

    def encode(x, mu):
        y = torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)
        return rounding(value(x, mu, y)).long()

    return encode


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda x, mu: None, "write your solution"),
        (lambda x, mu: ..., "write your solution"),
        (_classes(lambda x, mu, y: (x + 1) / 2 * mu), "uniformly, without companding"),
        (_classes(lambda x, mu, y: torch.round((x + 1) / 2 * mu), torch.round), "uniformly, without companding"),
        (_classes(lambda x, mu, y: (y.abs() + 1) / 2 * mu), "negative samples get the classes of positive ones"),
        (_classes(lambda x, mu, y: (y * math.log1p(mu) + 1) / 2 * mu), "did not divide by ln\\(1 \\+ mu\\)"),
        (_classes(lambda x, mu, y: (y * math.log1p(mu) / math.log(mu) + 1) / 2 * mu), "divided by ln\\(mu\\)"),
        (_classes(lambda x, mu, y: (y + 1) / 2 * mu, torch.floor), "rounded down"),
        (lambda x, mu: _trunc(x, mu), "rounded down"),
        (_classes(lambda x, mu, y: (y + 1) / 2 * (mu + 1)), "scaled by mu \\+ 1 = 256"),
        (_classes(lambda x, mu, y: ((y + 1) / 2 * (mu + 1)).floor().clamp(max=mu)), "into mu \\+ 1 equal bins"),
        (_classes(lambda x, mu, y: y / 2 * mu), "centred on 0"),
        (lambda x, mu: good_mu_law(x, mu).clamp(0, mu - 1), "clamped the classes to 0..mu - 1"),
        (lambda x, mu: mu - good_mu_law(x, mu), "run backwards"),
        (lambda x, mu: good_mu_law(x, mu).float(), "float32 values.*Finish with .long\\(\\)"),
        (lambda x, mu: torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu), "float32 values.*Round"),
        (lambda x, mu: good_mu_law(x, mu).int(), "int32 classes.*int64"),
        (lambda x, mu: good_mu_law(x, mu).flatten(), "shape \\(128,\\), expected \\(4, 32\\)"),
        (lambda x, mu: good_mu_law(x, mu) + (x == 0.5).long(), "x = 0.5 gives your class 240, expected 239"),
        (lambda x, mu: good_mu_law(x, mu) + 300 * (x == 1).long(), "outside 0..255, e.g. 555"),
        (lambda x, mu: [good_mu_law(x, mu).tolist(), [1]], "should return a tensor of classes"),
        (lambda x, mu: good_mu_law(x.numpy(), mu), "mu_law raised TypeError"),
    ],
)
def test_mu_law_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_mu_law(wrong)


def _trunc(x, mu):  # .long() without + 0.5: truncation, the same as floor for these non-negative values
    y = torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)
    return ((y + 1) / 2 * mu).long()


def round_half_even(x, mu):
    y = torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)
    return torch.round((y + 1) / 2 * mu).long()


def test_mu_law_hidden_check_on_other_mu(capsys):
    for solution in MU_LAW_SOLUTIONS:
        check_mu_law_other_mu(solution)
    assert capsys.readouterr().out.count("Correct") == len(MU_LAW_SOLUTIONS)
    check_mu_law(wrong_ch19.mu_law)  # the wrong answer passes the public check ...
    with pytest.raises(CheckError, match="mu = 15.*divides by ln\\(1 \\+ 255\\) whatever mu is.*mu argument"):
        check_mu_law_other_mu(wrong_ch19.mu_law)  # ... and fails the hidden one
    with pytest.raises(CheckError, match="those of mu = 255 whatever mu is"):
        check_mu_law_other_mu(lambda x, mu: good_mu_law(x, 255))
    check_mu_law(round_half_even)  # with mu = 255 no sample lands on a half but silence, 127.5, which both send up
    with pytest.raises(CheckError, match="mu = 5\\), x = 0 gives your class 2, expected 3.*halves go up"):
        check_mu_law_other_mu(round_half_even)
