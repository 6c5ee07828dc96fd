"""The checks of chapter 04's exercises accept correct solutions and name each common mistake."""

import pytest
import torch

from assignments.wrong_answers import ch04 as wrong_answers
from genai_checks import CheckError, check_fd_diagonal, check_spectral_norm_power, check_spectral_norm_power_float32

# ----- Exercise 4.1 ----------------------------------------------------------------------------------------


def good_fd(mu_a, var_a, mu_b, var_b):
    return ((mu_a - mu_b).square().sum() + (var_a.sqrt() - var_b.sqrt()).square().sum()).item()


def test_fd_diagonal_accepts_correct_solutions(capsys):
    check_fd_diagonal(good_fd)
    check_fd_diagonal(lambda ma, va, mb, vb: torch.tensor(good_fd(ma, va, mb, vb)))  # a 0-d tensor is fine
    check_fd_diagonal(lambda ma, va, mb, vb: float(((ma - mb) ** 2).sum() + (va + vb - 2 * (va * vb).sqrt()).sum()))
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda ma, va, mb, vb: None, "write your solution"),
        (lambda ma, va, mb, vb: ..., "write your solution"),
        (lambda ma, va, mb, vb: (ma - mb).square().sum() + (va + vb - 2 * va * vb).sum(), "square root is missing"),
        (
            lambda ma, va, mb, vb: (ma - mb).square().sum() + (va - vb).square().sum(),
            "variances as standard deviations",
        ),
        (lambda ma, va, mb, vb: (ma - mb).square().sum() + (va + vb - (va * vb).sqrt()).sum(), "factor 2"),
        (lambda ma, va, mb, vb: (ma - mb).abs().sum() + (va.sqrt() - vb.sqrt()).square().sum(), "squared distance"),
        (lambda ma, va, mb, vb: (va.sqrt() - vb.sqrt()).square().sum(), "left out the mean term"),
        (lambda ma, va, mb, vb: good_fd(ma, va, mb, vb) ** 0.5, "returned the square root"),
        (lambda ma, va, mb, vb: (ma - mb).square() + (va.sqrt() - vb.sqrt()).square(), "sum over the dimensions"),
        (lambda ma, va, mb, vb: good_fd(ma, va, mb, vb) + 0.1, "fd_diagonal on"),
        (lambda ma, va, mb: 0.0, "raised TypeError"),
    ],
)
def test_fd_diagonal_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_fd_diagonal(wrong)


# ----- Exercise 4.2 ----------------------------------------------------------------------------------------

normalize = torch.nn.functional.normalize


def good_power(W, n_iter):
    u = normalize(torch.randn(W.shape[0], dtype=W.dtype), dim=0)
    for _ in range(n_iter):
        v = normalize(W.T @ u, dim=0)
        u = normalize(W @ v, dim=0)
    return torch.dot(u, W @ v).item()


def unnormalised(W, n_iter):
    v = torch.randn(W.shape[1], dtype=W.dtype)
    for _ in range(n_iter):
        v = W.T @ (W @ v)
    return ((W @ v).norm() / v.norm()).item()


def returns_vector(W, n_iter):
    v = normalize(torch.randn(W.shape[1], dtype=W.dtype), dim=0)
    for _ in range(n_iter):
        v = normalize(W.T @ (W @ v), dim=0)
    return v


def eigenvalue(W, n_iter):
    v = normalize(torch.randn(W.shape[1], dtype=W.dtype), dim=0)
    for _ in range(n_iter):
        v = normalize(W.T @ (W @ v), dim=0)
    return (W.T @ (W @ v)).norm().item()


def wrong_side(W, n_iter):
    u = normalize(torch.randn(W.shape[0], dtype=W.dtype), dim=0)
    for _ in range(n_iter):
        v = normalize(W @ u, dim=0)
        u = normalize(W.T @ v, dim=0)
    return torch.dot(u, W @ v).item()


def test_power_iteration_accepts_correct_solutions(capsys):
    check_spectral_norm_power(good_power)
    check_spectral_norm_power(lambda W, n: torch.linalg.matrix_norm(W, ord=2))  # the 0-d tensor of the reference
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda W, n: None, "write your solution"),
        (lambda W, n: ..., "write your solution"),
        (unnormalised, "Normalise u and v"),
        (returns_vector, "singular vector, not the value"),
        (eigenvalue, "sigma\\^2"),
        (lambda W, n: W.norm().item(), "Frobenius norm"),
        (lambda W, n: -good_power(W, n), "-sigma"),
        (wrong_side, "which side W.T goes on"),
        (lambda W, n: good_power(W, 1) if W.shape[0] != W.shape[1] else 1.0, "sigma on"),
    ],
)
def test_power_iteration_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_spectral_norm_power(wrong)


def test_power_iteration_hidden_check_takes_float32_weights(capsys):
    check_spectral_norm_power_float32(good_power)
    check_spectral_norm_power_float32(lambda W, n_iter: good_power(W.double(), n_iter))  # computing in float64 is fine
    assert "Correct" in capsys.readouterr().out
    check_spectral_norm_power(wrong_answers.spectral_norm_power)  # the public check cannot tell: W is float64
    with pytest.raises(CheckError, match="in W's own dtype"):
        check_spectral_norm_power_float32(wrong_answers.spectral_norm_power)


# ----- The stored answers ----------------------------------------------------------------------------------


def test_reference_solution_passes_the_check(capsys):
    # The grader's reference solution computed the stored answers: it must pass the check that reads them.
    from assignments.references import ch04 as ref

    check_fd_diagonal(ref.fd_diagonal)
    assert "Correct" in capsys.readouterr().out
