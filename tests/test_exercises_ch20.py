"""The checks of chapter 20's exercises accept correct solutions and name each common mistake."""

import numpy as np
import pytest
import torch

from assignments.references import ch20 as reference
from assignments.wrong_answers import ch20 as wrong_ch20
from genai_checks import (
    CheckError,
    check_centroid,
    check_centroid_not_square,
    check_score_cost,
    check_score_cost_other_width,
)
from genai_checks.ch20 import CENTROID_MISTAKES, COST_MISTAKES
from genai_lib.motion import centroid_track
from genai_lib.nn.spacetime import attention_cost

# ----- Exercise 20.1 ----------------------------------------------------------------------------------------


def loop_cost(T, N, C, mode):  # one sequence at a time, as the layer runs them
    sequences = [T * N] if mode == "full" else [N] * T + [T] * N
    return sum(2 * C * n * n for n in sequences)


COST_SOLUTIONS = (
    reference.score_cost,
    loop_cost,
    lambda T, N, C, mode: attention_cost(T, N, C, mode)["scores"],
    lambda T, N, C, mode: torch.tensor(reference.score_cost(T, N, C, mode)),  # a 0-d tensor
    lambda T, N, C, mode: np.int64(reference.score_cost(T, N, C, mode)),
    lambda T, N, C, mode: float(reference.score_cost(T, N, C, mode)),  # a whole float
)


def test_score_cost_accepts_correct_solutions(capsys):
    for solution in COST_SOLUTIONS:
        check_score_cost(solution)
        check_score_cost_other_width(solution)
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize("name,message", COST_MISTAKES, ids=[n for n, _ in COST_MISTAKES])
def test_score_cost_names_each_mistake(name, message):
    with pytest.raises(CheckError) as err:
        check_score_cost(reference.COST[name])
    assert message in str(err.value)


def test_score_cost_rejects_what_is_not_a_count():
    for bad, match in (
        (lambda T, N, C, mode: ..., "returned nothing"),
        (lambda T, N, C, mode: 0.5 + reference.score_cost(T, N, C, mode), "whole number"),
        (lambda T, N, C, mode: True, "int"),
        (lambda T, N, C, mode: "many", "int"),
        (lambda T, N, C, mode: torch.ones(2), "one number"),
        (lambda T, N, C, mode: {"full": 1}[mode], "raised KeyError"),
    ):
        with pytest.raises(CheckError, match=match):
            check_score_cost(bad)


def test_the_wrong_answer_passes_the_public_check_and_fails_the_hidden_one():
    check_score_cost(wrong_ch20.score_cost)
    with pytest.raises(CheckError, match="right for C = 64 only"):
        check_score_cost_other_width(wrong_ch20.score_cost)
    check_centroid(wrong_ch20.centroid)
    with pytest.raises(CheckError, match="Rows run over the height H"):
        check_centroid_not_square(wrong_ch20.centroid)


# ----- Exercise 20.2 ----------------------------------------------------------------------------------------


def einsum_centroid(frames):
    w = frames.sum(1)
    H, W = w.shape[-2:]
    grid = torch.stack(torch.meshgrid(torch.arange(H) + 0.5, torch.arange(W) + 0.5, indexing="ij"))  # (2, H, W)
    return torch.einsum("bhw,chw->bc", w, grid.to(w.dtype)) / w.sum((1, 2))[:, None]


CENTROID_SOLUTIONS = (
    reference.centroid,
    einsum_centroid,
    lambda frames: centroid_track(frames[None])[0],  # the library's, one clip of B frames
    lambda frames: reference.centroid(frames).numpy(),  # a numpy array is fine
)


def test_centroid_accepts_correct_solutions(capsys):
    for solution in CENTROID_SOLUTIONS:
        check_centroid(solution)
        check_centroid_not_square(solution)
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize("name,message", CENTROID_MISTAKES, ids=[n for n, _ in CENTROID_MISTAKES])
def test_centroid_names_each_mistake(name, message):
    with pytest.raises(CheckError) as err:
        check_centroid(reference.CENTROID[name])
    assert message in str(err.value)


def test_centroid_rejects_bad_shapes_and_nan():
    with pytest.raises(CheckError, match=r"expected \(3, 2\)"):
        check_centroid(lambda frames: reference.centroid(frames).T)
    with pytest.raises(CheckError, match="NaN"):
        check_centroid(lambda frames: reference.centroid(frames) * torch.nan)
    with pytest.raises(CheckError, match="returned nothing"):
        check_centroid(lambda frames: None)
