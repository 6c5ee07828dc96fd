"""The checks of Appendix B's exercises accept correct solutions and name each common mistake."""

import pytest
import torch

from assignments.wrong_answers import appendix_b as wrong_appendix_b
from genai_checks import (
    CheckError,
    check_amdahl_speedup,
    check_combine_shard_gradients,
    check_combine_shard_gradients_float32,
)


def good_combine(grads, sizes):
    n = torch.as_tensor(sizes, dtype=grads.dtype)
    return (n[:, None] * grads).sum(0) / n.sum()


def test_combine_shard_gradients_accepts_correct_solutions(capsys):
    check_combine_shard_gradients(good_combine)
    check_combine_shard_gradients(lambda g, s: torch.einsum("k,kp->p", torch.tensor(s, dtype=g.dtype), g) / sum(s))
    check_combine_shard_gradients(lambda g, s: good_combine(g, s).float())  # float32 is precise enough
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda g, s: None, "write your solution"),
        (lambda g, s: ..., "write your solution"),
        (lambda g, s: g.mean(0), "plain mean.*weight shard k by its size"),
        (lambda g, s: g.sum(0), "summed the shard gradients"),
        (lambda g, s: (torch.tensor(s, dtype=g.dtype)[:, None] * g).sum(0), "did not divide by the total"),
        (lambda g, s: (torch.tensor(s, dtype=g.dtype)[:, None] * g).sum(0) / len(s), "divided by the number of shards"),
        (lambda g, s: good_combine(g, s)[None].expand(len(s), -1).mean(1), r"reduce over the shards \(dim=0\)"),
        (lambda g, s: -good_combine(g, s), "the gradient on"),
    ],
)
def test_combine_shard_gradients_names_the_mistake(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_combine_shard_gradients(wrong)


def float64_weights(grads, sizes):  # float64 sizes broadcast against float32 gradients: also correct
    n = torch.tensor(sizes, dtype=torch.float64)
    return (n[:, None] * grads).sum(0) / n.sum()


def test_combine_shard_gradients_hidden_check_on_float32_gradients(capsys):
    check_combine_shard_gradients_float32(good_combine)
    check_combine_shard_gradients_float32(float64_weights)
    check_combine_shard_gradients_float32(lambda g, s: torch.tensor(s, dtype=g.dtype) @ g / sum(s))
    assert "Correct" in capsys.readouterr().out
    with pytest.raises(CheckError, match=r"raised RuntimeError.*dtype=grads\.dtype"):
        check_combine_shard_gradients_float32(wrong_appendix_b.combine_shard_gradients)


def test_amdahl_speedup_accepts_correct_solutions(capsys):
    check_amdahl_speedup(lambda p, n: 1 / ((1 - p) + p / n))
    check_amdahl_speedup(lambda p, n: torch.tensor(n / (n * (1 - p) + p)))
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda p, n: None, "write your solution"),
        (lambda p, n: ..., "write your solution"),
        (lambda p, n: (1 - p) + p / n, "invert it"),
        (lambda p, n: 1 / (p + (1 - p) / n), "swapped p and 1 - p"),
        (lambda p, n: p * n, "divided by N, not multiplied"),
        (lambda p, n: n, "amdahl_speedup"),
    ],
)
def test_amdahl_speedup_names_the_mistake(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_amdahl_speedup(wrong)
