"""The checks of chapter 17's exercises accept correct solutions and name each common mistake."""

import pytest
import torch
import torch.nn.functional as F

from assignments.wrong_answers import ch17 as wrong_ch17
from genai_checks import CheckError, check_fgsm, check_watermark_zscore, check_watermark_zscore_colour

# ----- Exercise 17.1 ----------------------------------------------------------------------------------------


def _grad(model, x, y):
    x = x.clone().detach().requires_grad_(True)
    (g,) = torch.autograd.grad(F.cross_entropy(model(x), y), x)
    return g


def good_fgsm(model, x, y, eps):
    return (x + eps * _grad(model, x, y).sign()).clamp(0, 1)


def sum_loss_fgsm(model, x, y, eps):  # the summed loss has the same sign: also correct
    x2 = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(F.cross_entropy(model(x2), y, reduction="sum"), x2)
    return torch.clamp(x + eps * g.sign(), 0.0, 1.0).detach()


def test_fgsm_accepts_correct_solutions(capsys):
    check_fgsm(good_fgsm)
    check_fgsm(sum_loss_fgsm)
    assert "Correct" in capsys.readouterr().out


def _in_place(model, x, y, eps):
    g = _grad(model, x, y)
    x += eps * g.sign()
    return x.clamp_(0, 1)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda m, x, y, e: None, "write your solution"),
        (lambda m, x, y, e: ..., "write your solution"),
        (lambda m, x, y, e: (x - e * _grad(m, x, y).sign()).clamp(0, 1), "goes down the loss"),
        (lambda m, x, y, e: x + e * _grad(m, x, y).sign(), r"leave \[0, 1\].*clamp"),
        (lambda m, x, y, e: (x + e * _grad(m, x, y)).clamp(0, 1), "raw gradient"),
        (lambda m, x, y, e: e * _grad(m, x, y).sign(), "perturbation eps \\* sign\\(grad\\) itself"),
        (
            lambda m, x, y, e: (x + e * _grad(m, x, y) / _grad(m, x, y).flatten(1).norm(dim=1).view(-1, 1, 1, 1)).clamp(
                0, 1
            ),
            "L2 norm",
        ),
        (lambda m, x, y, e: good_fgsm(m, x, 1 - y, e), "not 1 - y"),
        (_in_place, "in place"),
        (lambda m, x, y, e: good_fgsm(m, x, y, e)[0], "shape"),
        (lambda m, x, y, e: good_fgsm(m, x, y, 2 * e), "fgsm's images"),
    ],
)
def test_fgsm_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_fgsm(wrong)


def test_fgsm_reports_a_crash_helpfully():
    def crashes(model, x, y, eps):
        (g,) = torch.autograd.grad(F.cross_entropy(model(x), y), x)  # x does not require grad
        return x + eps * g.sign()

    with pytest.raises(CheckError, match="requires_grad_"):
        check_fgsm(crashes)


# ----- Exercise 17.2 ----------------------------------------------------------------------------------------


def good_z(r, w):
    c = (r - r.mean(dim=(1, 2, 3), keepdim=True)).flatten(1)
    return (c @ w.flatten()) / c.norm(dim=1)


def test_watermark_zscore_accepts_correct_solutions(capsys):
    check_watermark_zscore(good_z)
    check_watermark_zscore(lambda r, w: good_z(r, w).float())
    from genai_lib.watermark import correlation_z

    check_watermark_zscore(correlation_z)  # the library's version
    assert "variance" in capsys.readouterr().out


def _flat(r):
    return r.flatten(1)


def _batch_centred(r, w):
    c = (r - r.mean(dim=0, keepdim=True)).flatten(1)  # the mean over the batch: the wrong axis
    return (c @ w.flatten()) / c.norm(dim=1)


def _c(r):
    return _flat(r) - _flat(r).mean(dim=1, keepdim=True)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda r, w: None, "write your solution"),
        (lambda r, w: ..., "write your solution"),
        (lambda r, w: (_flat(r) @ w.flatten()) / _flat(r).norm(dim=1), "did not centre"),
        (lambda r, w: _batch_centred(r, w), "mean over the batch"),
        (lambda r, w: (_c(r) @ w.flatten()) / (_c(r).std(dim=1) * _c(r).shape[1] ** 0.5), r"sqrt\(n/\(n-1\)\)"),
        (lambda r, w: (_c(r) @ w.flatten()) / _c(r).shape[1], "divided by n"),
        (lambda r, w: (_c(r) @ w.flatten()) / _c(r).norm(dim=1) ** 2, "squared norm"),
        (lambda r, w: _c(r) @ w.flatten(), "raw correlation"),
        (lambda r, w: -good_z(r, w), "wrong sign"),
        (lambda r, w: good_z(r, w).sum(), r"summed or averaged over the batch"),
        (lambda r, w: good_z(r, w) * 1.1, "watermark_zscore is"),
    ],
)
def test_watermark_zscore_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_watermark_zscore(wrong)


def test_watermark_zscore_hidden_check_on_colour_images(capsys):
    from genai_lib.watermark import correlation_z

    check_watermark_zscore_colour(good_z)
    check_watermark_zscore_colour(lambda r, w: good_z(r, w).float())
    check_watermark_zscore_colour(correlation_z)
    assert "Correct" in capsys.readouterr().out
    with pytest.raises(CheckError, match=r"centred each channel by its own mean"):
        check_watermark_zscore_colour(wrong_ch17.watermark_zscore)


def test_watermark_zscore_catches_in_place_centring():
    def in_place(r, w):
        r -= r.mean(dim=(1, 2, 3), keepdim=True)
        c = r.flatten(1)
        return (c @ w.flatten()) / c.norm(dim=1)

    with pytest.raises(CheckError, match="in place"):
        check_watermark_zscore(in_place)
