import pytest
import torch

from assignments.wrong_answers import ch00 as wrong_answers
from genai_checks import CheckError, check_accuracy, check_class_means, check_class_means_shuffled


def good_means(x, y, n):
    return torch.stack([x[y == c].mean(0) for c in range(n)])


def test_class_means_accepts_a_correct_solution(capsys):
    check_class_means(good_means)
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda x, y, n: ..., "in place of the `...`"),
        (lambda x, y, n: x.mean(0, keepdim=True).expand(n, *x.shape[1:]), "the overall mean"),
        (lambda x, y, n: torch.stack([x[y == c].sum(0) for c in range(n)]), "divide by the number of images"),
        (lambda x, y, n: good_means(x, y, n).flatten(1), "Don't flatten"),
        (lambda x, y, n: good_means(x, y, n) + 0.1, "is .* expected"),
    ],
)
def test_class_means_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_class_means(wrong)


def test_class_means_hidden_check_needs_the_labels_not_the_order(capsys):
    check_class_means_shuffled(good_means)
    check_class_means_shuffled(lambda x, y, n: torch.stack([x[y == c].mean(dim=0) for c in range(n)]).double())
    assert "Correct" in capsys.readouterr().out
    check_class_means(wrong_answers.class_means)  # the public check cannot tell: its labels come sorted
    with pytest.raises(CheckError, match="assumes the data come grouped by class"):
        check_class_means_shuffled(wrong_answers.class_means)


def good_accuracy(model, x, y):
    return (model(x).argmax(dim=1) == y).float().mean().item()


def test_accuracy_accepts_a_correct_solution():
    check_accuracy(good_accuracy)
    check_accuracy(lambda m, x, y: (m(x).argmax(1) == y).float().mean())  # a 0-d tensor is fine too
    check_accuracy(lambda m, x, y: good_accuracy(m, x.to(next(m.parameters()).device), y))  # device-aware


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda m, x, y: None, "returned nothing"),
        (lambda m, x, y: (m(x).argmax(1) == y).sum().item(), "number of correct predictions"),
        (lambda m, x, y: 100 * (m(x).argmax(1) == y).float().mean().item(), "a percentage"),
        (lambda m, x, y: (m(x).argmax(dim=0) == y).float().mean().item(), "over the classes .dim=1."),
        (lambda m, x, y: 0.75, "is 0.75, expected 0.5"),
    ],
)
def test_accuracy_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_accuracy(wrong)
