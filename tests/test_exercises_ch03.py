"""The checks of chapter 03's exercises accept correct solutions and name each common mistake."""

import pytest
import torch

from assignments.wrong_answers import ch03 as wrong_answers
from genai_checks import CheckError, check_conv_transpose_size, check_slerp, check_slerp_mixed_batch

# ----- Exercise 3.2 ----------------------------------------------------------------------------------------


def test_conv_transpose_size_accepts_correct_solutions(capsys):
    check_conv_transpose_size(lambda n, k, s, p, op=0: (n - 1) * s - 2 * p + k + op)
    check_conv_transpose_size(lambda n, k, s, p, op: torch.tensor((n - 1) * s - 2 * p + k + op))
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda n, k, s, p, op: None, "write your solution"),
        (lambda n, k, s, p, op: ..., "write your solution"),
        (lambda n, k, s, p, op: (n + 2 * p - k) // s + 1, "ordinary convolution"),
        (lambda n, k, s, p, op: (n - 1) * s - 2 * p + k, "forgot output_padding"),
        (lambda n, k, s, p, op: n * s - 2 * p + k + op, r"\(in - 1\) \* stride apart"),
        (lambda n, k, s, p, op: (n - 1) * s - p + k + op, "subtract 2 \\* padding"),
        (lambda n, k, s, p, op: (n - 1) * s + 2 * p + k + op, "wrong sign"),
        (lambda n, k, s, p, op: n * s, "kernel = stride \\+ 2 \\* padding"),
        (lambda n, k, s, p, op: ((n - 1) * s - 2 * p + k + op) / 2 + 0.5, "whole number|turns"),
        (lambda n, k, s: (n - 1) * s + k, "five integers"),
    ],
)
def test_conv_transpose_size_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_conv_transpose_size(wrong)


# ----- Exercise 3.3 ----------------------------------------------------------------------------------------


def good_slerp(z0, z1, t):
    cos = (z0 * z1).sum(-1, keepdim=True) / (z0.norm(dim=-1, keepdim=True) * z1.norm(dim=-1, keepdim=True))
    omega = torch.acos(cos.clamp(-1, 1))
    so = torch.sin(omega)
    parallel = so.abs() < 1e-6
    so = torch.where(parallel, torch.ones_like(so), so)
    out = torch.sin((1 - t) * omega) / so * z0 + torch.sin(t * omega) / so * z1
    return torch.where(parallel, (1 - t) * z0 + t * z1, out)


def _no_fallback(z0, z1, t):
    cos = (z0 * z1).sum(-1, keepdim=True) / (z0.norm(dim=-1, keepdim=True) * z1.norm(dim=-1, keepdim=True))
    omega = torch.acos(cos.clamp(-1, 1))
    return torch.sin((1 - t) * omega) / torch.sin(omega) * z0 + torch.sin(t * omega) / torch.sin(omega) * z1


def _unnormalised(z0, z1, t):
    omega = torch.acos((z0 * z1).sum(-1, keepdim=True))
    return torch.sin((1 - t) * omega) / torch.sin(omega) * z0 + torch.sin(t * omega) / torch.sin(omega) * z1


def _one_angle(z0, z1, t):
    omega = torch.acos(((z0 * z1).sum() / (z0.norm() * z1.norm())).clamp(-1, 1))
    return torch.sin((1 - t) * omega) / torch.sin(omega) * z0 + torch.sin(t * omega) / torch.sin(omega) * z1


def _unit(z0, z1, t):
    return good_slerp(z0 / z0.norm(dim=-1, keepdim=True), z1 / z1.norm(dim=-1, keepdim=True), t)


def test_slerp_accepts_correct_solutions(capsys):
    check_slerp(good_slerp)
    check_slerp(lambda z0, z1, t: good_slerp(z0.float(), z1.float(), t))
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda z0, z1, t: None, "write your solution"),
        (lambda z0, z1, t: ..., "write your solution"),
        (lambda z0, z1, t: (1 - t) * z0 + t * z1, "linear interpolation"),
        (lambda z0, z1, t: good_slerp(z0, z1, 1 - t), "endpoints are swapped"),
        (_unnormalised, "divided by BOTH norms"),
        (_one_angle, "one angle for the whole batch"),
        (_unit, "unit directions"),
        (_no_fallback, "parallel vectors"),
        (lambda z0, z1, t: good_slerp(z0, z1, t)[0], "shape"),
    ],
)
def test_slerp_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_slerp(wrong)


def _all_or_nothing(z0, z1, t):  # decides once, for the whole batch, when no row is usable: NaN in parallel rows
    cos = (z0 * z1).sum(-1, keepdim=True) / (z0.norm(dim=-1, keepdim=True) * z1.norm(dim=-1, keepdim=True))
    omega = torch.acos(cos.clamp(-1, 1))
    if (torch.sin(omega).abs() < 1e-6).all():
        return (1 - t) * z0 + t * z1
    return torch.sin((1 - t) * omega) / torch.sin(omega) * z0 + torch.sin(t * omega) / torch.sin(omega) * z1


def test_slerp_hidden_check_mixes_parallel_and_other_rows(capsys):
    check_slerp_mixed_batch(good_slerp)
    assert "Correct" in capsys.readouterr().out
    check_slerp(wrong_answers.slerp)  # the public check cannot tell: its batches are all parallel or none
    with pytest.raises(CheckError, match="one parallel row made the whole batch fall back"):
        check_slerp_mixed_batch(wrong_answers.slerp)
    with pytest.raises(CheckError, match="contains NaN in rows"):
        check_slerp_mixed_batch(_all_or_nothing)


# ----- The stored answers ----------------------------------------------------------------------------------


def test_reference_solutions_pass_the_checks(capsys):
    # The grader's reference solutions computed the stored answers: they must pass the checks that read them.
    from assignments.references import ch03 as ref

    check_conv_transpose_size(ref.conv_transpose_size)
    check_slerp(ref.slerp)
    assert capsys.readouterr().out.count("Correct") == 2
