"""The checks of chapter 4b's exercises accept correct solutions and name each common mistake."""

import pytest
import torch

from assignments.wrong_answers import ch04b as wrong_answers
from genai_checks import CheckError
from genai_checks.ch04b import check_demodulate_weights, check_demodulate_weights_zero_style, check_truncate_layers

# ----- Exercise 4b.2 ---------------------------------------------------------------------------------------


def good_demod(weight, s, eps=1e-8):
    modulated = s[:, None, :, None, None] * weight[None]
    return modulated * torch.rsqrt(modulated.square().sum(dim=(2, 3, 4), keepdim=True) + eps)


def test_demodulate_accepts_correct_solutions(capsys):
    check_demodulate_weights(good_demod)
    check_demodulate_weights_zero_style(good_demod)
    check_demodulate_weights(
        lambda w, s: torch.nn.functional.normalize(  # the same, by F.normalize per output
            (s[:, None, :, None, None] * w[None]).flatten(2), dim=2
        ).view(len(s), *w.shape)
    )
    assert "Correct" in capsys.readouterr().out


def per_output_norm_over_outputs(weight, s):
    modulated = s[:, None, :, None, None] * weight[None]
    return modulated / modulated.square().sum(dim=(1, 3, 4), keepdim=True).sqrt()


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda w, s: None, "write your solution"),
        (lambda w, s: s[:, None, :, None, None] * w[None], r"sum_\{i,k\} w''\^2"),  # modulated, not demodulated
        (per_output_norm_over_outputs, "normalised over the output channels"),
        (
            lambda w, s: (m := s[:, None, :, None, None] * w[None]) / m.square().sum((2, 3, 4), keepdim=True),
            "square root",
        ),
        (lambda w, s: good_demod(w, torch.ones_like(s)), "not proportional to s_i w_ijk"),  # styles ignored
        (lambda w, s: good_demod(w, s)[0], r"expected \(B, out, in, k, k\)"),
        (lambda w: w, "raised TypeError"),
    ],
)
def test_demodulate_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_demodulate_weights(wrong)


def test_the_wrong_answer_passes_the_public_check_and_fails_the_hidden_one():
    fn = wrong_answers.WRONG["exercise_4b_2"]["demodulate_weights"]
    check_demodulate_weights(fn)
    with pytest.raises(CheckError, match="eps"):
        check_demodulate_weights_zero_style(fn)


# ----- Exercise 4b.3 ---------------------------------------------------------------------------------------


def good_truncate(ws, w_avg, psi, cutoff):
    return torch.cat([w_avg + psi * (ws[:, :cutoff] - w_avg), ws[:, cutoff:]], dim=1)


def in_place(ws, w_avg, psi, cutoff):
    ws[:, :cutoff] = w_avg + psi * (ws[:, :cutoff] - w_avg)
    return ws


def test_truncate_accepts_a_correct_solution(capsys):
    check_truncate_layers(good_truncate)
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda ws, w_avg, psi, cutoff: ..., "write your solution"),
        (in_place, "in place"),
        (lambda ws, a, psi, c: torch.cat([ws[:, :c], a + psi * (ws[:, c:] - a)], dim=1), "fine layers"),
        (lambda ws, a, psi, c: good_truncate(ws, a, 1 - psi, c), "1 - psi"),
        (lambda ws, a, psi, c: a + psi * (ws - a), "every layer"),
        (lambda ws, a, psi, c: good_truncate(ws, a, psi, c - 1), "layers 0..cutoff-1"),  # off by one
    ],
)
def test_truncate_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_truncate_layers(wrong)
