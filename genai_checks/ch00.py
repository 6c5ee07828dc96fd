"""Checks for the exercises of chapter 00 (How to use this book)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from genai_checks.answers import stored
from genai_checks.core import CheckError, expect, expect_answer, expect_close, passed

__all__ = ["check_class_means", "check_class_means_shuffled", "check_accuracy"]


def class_means_case() -> tuple[torch.Tensor, torch.Tensor]:
    """Five 1x2 images of three classes: (x, y)."""
    x = torch.tensor([[[[0.0, 1.0]]], [[[1.0, 1.0]]], [[[0.5, 0.0]]], [[[0.0, 0.0]]], [[[1.0, 0.5]]]])  # (5, 1, 1, 2)
    return x, torch.tensor([0, 0, 1, 2, 2])


def check_class_means(class_means: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]) -> None:
    """Exercise 0.1: the average image of each class."""
    x, y = class_means_case()
    got = class_means(x, y, 3)
    expect_answer(got, "class_means", "the means")
    expected = stored("ch00", "class_means")
    expect(isinstance(got, torch.Tensor), f"class_means should return a tensor, got {type(got).__name__}.")
    if got.shape != expected.shape:
        hint = (
            " Don't flatten the images."
            if got.numel() == expected.numel()
            else " Average over the examples of a class only (dim=0), keeping the image dimensions."
        )
        raise CheckError(f"class_means returned shape {tuple(got.shape)}, expected {tuple(expected.shape)}.{hint}")
    overall = x.mean(0, keepdim=True).expand_as(expected)
    if torch.allclose(got.float(), overall):
        raise CheckError(
            "Every class got the same image: the overall mean. Select the examples of class c first, e.g. x[y == c]."
        )
    if torch.allclose(got.float(), stored("ch00", "class_means/sums")):
        raise CheckError("These are the sums of each class's images; divide by the number of images in the class.")
    expect_close(got, expected, what="class_means on a small example")
    passed("class_means returns the average image of each class.")


def class_means_shuffled_case() -> tuple[torch.Tensor, torch.Tensor]:
    """Seven 3x2x2 colour images of three classes, the labels not sorted by class: (x, y), for the hidden check."""
    g = torch.Generator().manual_seed(3)
    return torch.rand(7, 3, 2, 2, generator=g), torch.tensor([1, 2, 0, 2, 1, 0, 2])


def check_class_means_shuffled(class_means: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]) -> None:
    """Exercise 0.1, hidden: colour images (C = 3) whose labels come in no particular order."""
    x, y = class_means_shuffled_case()
    got = class_means(x.clone(), y.clone(), 3)
    expect_answer(got, "class_means", "the means")
    expect(isinstance(got, torch.Tensor), f"class_means should return a tensor, got {type(got).__name__}.")
    expect(
        got.shape == (3, 3, 2, 2),
        f"On 7 colour images of shape (3, 2, 2), class_means returned shape {tuple(got.shape)}, expected "
        "(3, 3, 2, 2): one average image per class, with all C channels of the images.",
    )
    if torch.allclose(got.float(), stored("ch00", "class_means/hidden/by_position")):
        raise CheckError(
            "On images whose labels are not sorted (y = [1, 2, 0, 2, 1, 0, 2]), you averaged consecutive "
            "blocks of images: that assumes the data come grouped by class. Select the images of class c "
            "by their label, x[y == c], wherever they are."
        )
    expect_close(
        got,
        stored("ch00", "class_means/hidden/shuffled"),
        what="class_means on 7 colour images with unsorted labels",
        hint="Entry c is the mean of the images with y == c, whatever their position in x.",
    )
    passed("class_means averages the images of each class by label, in any order and with any number of channels.")


class _FixedLogits(nn.Module):
    """A stand-in classifier whose logits are given, so that the expected accuracy is known exactly."""

    logits: torch.Tensor

    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("logits", logits)
        self.anchor = nn.Parameter(torch.zeros(()))  # so that next(model.parameters()) finds a device

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits[: len(x)]


def check_accuracy(accuracy: Callable[[nn.Module, torch.Tensor, torch.Tensor], float]) -> None:
    """Exercise 0.2: classification accuracy as a fraction in [0, 1]."""
    # Square (4 examples, 4 classes), so that an argmax over the wrong dimension runs and can be diagnosed.
    logits = torch.tensor([[2.0, 0.1, 0.3, 0.0], [0.0, 1.0, -1.0, 0.5], [0.2, 0.1, 3.0, 0.0], [1.0, 5.0, 0.0, 0.2]])
    y = torch.tensor([0, 1, 1, 2])  # predictions are 0, 1, 2, 1: two of four right
    got = accuracy(_FixedLogits(logits), torch.zeros(4, 1), y)
    expect_answer(got, "accuracy", "a number")
    value = float(got)
    if value == 2:
        raise CheckError("accuracy returned 2, the number of correct predictions; divide by the number of examples.")
    if value == 50:
        raise CheckError("accuracy returned 50, a percentage; return the fraction 0.5 instead.")
    wrong_dim = (logits.argmax(dim=0) == y).float().mean().item()  # 0.25 here
    if abs(value - 0.5) > 1e-6 and abs(value - wrong_dim) < 1e-6:
        raise CheckError("Take the argmax over the classes (dim=1), not over the examples (dim=0).")
    expect_close(value, 0.5, what="accuracy on 4 examples with 2 right")
    perfect = float(accuracy(_FixedLogits(torch.eye(3)), torch.zeros(3, 1), torch.arange(3)))
    expect_close(perfect, 1.0, what="accuracy when every prediction is right")
    passed("accuracy is the fraction of examples whose highest logit is the true class.")
