"""Checks for the exercises of chapter 17 (Telling real from generated)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from genai_checks.answers import stored
from genai_checks.core import CheckError, expect, expect_answer, expect_close, passed

__all__ = ["check_fgsm", "check_watermark_zscore", "check_watermark_zscore_colour"]


def _close(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-5) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a.double(), b.double(), rtol=1e-4, atol=atol))


# ----- Exercise 17.1: the fast gradient sign method ----------------------------------------------------------

EPS = 0.05  # the attack's step size


def fgsm_case() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """A fixed small CNN detector (float64) and images with pixels at 0, at 1 and in between."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(17)
        model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(4 * 8 * 8, 2))
        model = model.double().eval()
        g = torch.Generator().manual_seed(1)
        x = torch.rand(6, 1, 8, 8, generator=g, dtype=torch.float64)
        x[:, :, :2] = 0.0  # black rows: a step down must be clipped at 0
        x[:, :, -2:] = 1.0  # white rows: a step up must be clipped at 1
        y = torch.tensor([1, 0, 1, 1, 0, 1])
    return model, x, y


def check_fgsm(fgsm: Callable[..., torch.Tensor]) -> None:
    """Exercise 17.1: x' = clip(x + eps sign(grad_x CE(model(x), y)), 0, 1), eq. (eq-fgsm)."""
    model, x, y = fgsm_case()
    x_in = x.clone()
    try:
        out = fgsm(model, x_in, y, EPS)
    except (TypeError, ValueError, RuntimeError) as err:
        raise CheckError(
            f"fgsm(model, x, y, eps) raised {type(err).__name__}: {err}. Make a copy of x that "
            "requires gradients (x.clone().requires_grad_(True)) and differentiate the "
            "cross-entropy of model(x) with respect to it."
        ) from err
    expect_answer(out, "fgsm", "the perturbed images")
    expect(isinstance(out, torch.Tensor), f"fgsm should return a tensor of images, got {type(out).__name__}.")
    expect(
        out.shape == x.shape, f"fgsm returned shape {tuple(out.shape)}, expected the images' shape {tuple(x.shape)}."
    )
    expect(
        torch.equal(x_in, x),
        "fgsm changed the input x in place: work on a copy (x.clone()), so that the caller's images stay clean.",
    )
    out = out.detach().double()
    # The stored images of the right attack and of each common mistake, without and with clipping to [0, 1].
    like = lambda name: _close(out, stored("ch17", f"fgsm/{name}"))  # noqa: E731
    expected = stored("ch17", "fgsm/images")
    if _close(out, expected):
        ok = fgsm(model, x.clone(), y, 0.0)
        expect(
            ok is not None and _close(torch.as_tensor(ok).detach().double(), x),
            "With eps = 0, fgsm should return the images unchanged.",
        )
        passed("fgsm takes one signed-gradient step of size eps up the loss and clips to [0, 1].")
        return
    if like("perturbation") or like("perturbation_clipped"):
        raise CheckError(
            "fgsm returned the perturbation eps * sign(grad) itself: return the perturbed images "
            "x + eps * sign(grad), clipped to [0, 1]."
        )
    if like("descent_clipped") or like("descent"):
        raise CheckError(
            "Your step goes down the loss (x - eps * sign(grad)): that makes the classifier *more* "
            "confident. The attack increases the loss of the true labels y (not 1 - y, whose gradient points the "
            "other way): x + eps * sign(grad)."
        )
    if like("unclipped"):
        raise CheckError(
            f"Your images leave [0, 1] (values from {out.min():.3f} to {out.max():.3f}): clip the "
            "result with .clamp(0, 1), as a real image must stay a valid image."
        )
    if like("raw_gradient_clipped") or like("raw_gradient"):
        raise CheckError(
            "You stepped along the raw gradient: FGSM uses its sign, eps * grad.sign(), which is the "
            "largest first-order increase when every pixel may change by at most eps."
        )
    if like("l2_clipped") or like("l2"):
        raise CheckError(
            "You normalised the gradient by its L2 norm: that is the L2 attack. FGSM's ball is "
            "L-infinity (every pixel moves by at most eps), so use eps * grad.sign()."
        )
    expect_close(
        out,
        expected,
        what="fgsm's images",
        atol=1e-5,
        hint="x' = clip(x + eps * sign(grad_x cross_entropy(model(x), y)), 0, 1).",
    )


# ----- Exercise 17.2: the watermark's z-score ----------------------------------------------------------------


def watermark_case() -> tuple[torch.Tensor, torch.Tensor, torch.Generator]:
    """Residuals r (B, C, H, W), a ±1 pattern w (C, H, W), and the generator, which goes on to draw random keys."""
    g = torch.Generator().manual_seed(2)
    B, shape = 5, (1, 6, 6)
    # Residuals with very different means and scales per image, so that each mistake shows.
    r = torch.randn(B, *shape, generator=g, dtype=torch.float64) * torch.tensor(
        [0.1, 1, 2, 0.5, 3.0], dtype=torch.float64
    ).view(-1, 1, 1, 1)
    r = r + torch.tensor([0.5, -1.0, 2.0, 0.0, 3.0], dtype=torch.float64).view(-1, 1, 1, 1)
    w = torch.randint(0, 2, shape, generator=g).double() * 2 - 1
    w[0, 0, :3] = torch.tensor([1.0, 1.0, 1.0])  # a pattern with non-zero sum, so forgetting to centre shows
    w[0, 1, :3] = torch.tensor([1.0, 1.0, 1.0])
    return r, w, g


def check_watermark_zscore(watermark_zscore: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """Exercise 17.2: z = <w, c> / ||c|| with c = r - mean(r) per image, eq. (eq-wm-z)."""
    r, w, g = watermark_case()
    B, shape = r.shape[0], tuple(w.shape)
    r_in = r.clone()
    try:
        z = watermark_zscore(r_in, w.clone())
    except (TypeError, ValueError, RuntimeError) as err:
        raise CheckError(
            f"watermark_zscore(r, w) raised {type(err).__name__}: {err}. r is (B, C, H, W) and w is "
            "(C, H, W): flatten each image to (B, n) and w to (n,)."
        ) from err
    expect_answer(z, "watermark_zscore", "one z per image, shape (B,)")
    expect(isinstance(z, torch.Tensor), f"watermark_zscore should return a tensor, got {type(z).__name__}.")
    z = z.detach().double()
    expect(torch.equal(r_in, r), "watermark_zscore changed r in place: compute the centred residual as a new tensor.")
    n = w.numel()
    expected = stored("ch17", "watermark_z")
    if z.shape != (B,):
        hint = " You summed or averaged over the batch; return one z per image." if z.numel() == 1 else ""
        raise CheckError(f"watermark_zscore returned shape {tuple(z.shape)}, expected ({B},): one z per image.{hint}")
    if _close(z, expected):
        zs = torch.stack(
            [watermark_zscore(r, torch.randint(0, 2, shape, generator=g).double() * 2 - 1) for _ in range(2000)]
        ).double()
        passed(
            f"z = <w, c> / ||c|| for each image; over 2,000 random keys its variance is "
            f"{zs.var(dim=0).mean():.3f} (derived: exactly 1)."
        )
        return
    # The stored z of each common mistake (a list where two ways of making it give different numbers).
    like = lambda name: any(_close(z, wrong) for wrong in stored("ch17", f"watermark_z/{name}"))  # noqa: E731
    if like("uncentred"):
        raise CheckError(
            "You did not centre the residual: subtract each image's own mean, c = r - r.mean(), before "
            "correlating. Otherwise the image's mean brightness times sum(w) leaks into z."
        )
    if like("batch_centred"):
        raise CheckError(
            "You centred with a mean over the batch: centre each image by the mean of its own pixels, "
            "r.mean(dim=(1, 2, 3), keepdim=True)."
        )
    if _close(z, expected * ((n - 1) / n) ** 0.5) or _close(z, expected * (n / (n - 1)) ** 0.5):
        raise CheckError(
            "Your z is off by a factor sqrt(n/(n-1)): you used the unbiased standard deviation "
            "(torch.std divides by n - 1). ||c|| = sqrt(sum c_i^2); with std, use correction=0 and "
            "multiply by sqrt(n)."
        )
    if like("divided_by_n"):
        raise CheckError(
            "You divided by n (or sqrt n) instead of ||c||: the normalisation by the residual's norm "
            "is what makes the variance exactly 1 for any image."
        )
    if like("squared_norm"):
        raise CheckError("You divided by ||c||^2, the squared norm: divide by ||c|| = sqrt(sum c_i^2).")
    if like("raw_correlation"):
        raise CheckError("You returned the raw correlation sum(w_i c_i): divide it by ||c||.")
    if _close(z, -expected):
        raise CheckError(
            "Your z has the wrong sign: it is the correlation with +w, large when the image carries the watermark."
        )
    expect_close(
        z,
        expected,
        what="watermark_zscore",
        atol=1e-5,
        hint="z = sum_i w_i c_i / sqrt(sum_i c_i^2) with c = r - mean(r), per image.",
    )


def colour_watermark_case() -> tuple[torch.Tensor, torch.Tensor]:
    """Colour residuals r (B, C, H, W) = (3, 3, 4, 4), each channel with its own mean, and a ±1 pattern w (C, H, W)."""
    g = torch.Generator().manual_seed(172)
    shape = (3, 4, 4)
    r = torch.randn(3, *shape, generator=g, dtype=torch.float64)
    r = r + torch.tensor([2.0, -1.0, 0.5], dtype=torch.float64).view(1, 3, 1, 1)  # a colour cast per channel
    w = torch.randint(0, 2, shape, generator=g).double() * 2 - 1
    w[0, :2] = 1.0  # more +1 than -1 in channel 0 and more -1 in channel 1, so each channel's own mean matters
    w[1, :2] = -1.0
    return r, w


def check_watermark_zscore_colour(watermark_zscore: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """Exercise 17.2, hidden: colour images (C = 3), centred by the mean of all C·H·W values of each image."""
    r, w = colour_watermark_case()
    z = watermark_zscore(r.clone(), w.clone())
    expect_answer(z, "watermark_zscore", "one z per image, shape (B,)")
    expect(isinstance(z, torch.Tensor), f"watermark_zscore should return a tensor, got {type(z).__name__}.")
    z = z.detach().double()
    expect(
        z.shape == (3,),
        f"On colour residuals of shape {tuple(r.shape)}, watermark_zscore returned shape {tuple(z.shape)}, "
        "expected (3,): one z per image, summed over all of its C·H·W values (channels included).",
    )
    if _close(z, stored("ch17", "watermark_z/hidden/colour/per_channel")):
        raise CheckError(
            "On colour residuals (C = 3) you centred each channel by its own mean: each image must be centred "
            "by the mean of all its C·H·W values, r.mean(dim=(1, 2, 3), keepdim=True), not dim=(2, 3). With "
            "one channel the two agree."
        )
    expect_close(
        z,
        stored("ch17", "watermark_z/hidden/colour"),
        what="watermark_zscore on colour residuals (C = 3)",
        atol=1e-5,
        hint="z = sum_i w_i c_i / sqrt(sum_i c_i^2) over all C·H·W values i, with c = r - mean(r) per image.",
    )
    passed("watermark_zscore centres and correlates over all channels of each image.")
