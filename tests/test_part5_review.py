"""Numerical checks of Part V's derivations that no chapter cell checks (chapters 16 and 17).

- the ideal denoiser's softmax over training images is E[x_0 | x_t], by Tweedie's formula (eq. eq-ideal-denoiser);
- Exercise 16.1: a non-overlapping shift has squared distance 2a, two images overlapping in k pixels 2a - 2k;
- Yeom et al.'s bounded-loss membership adversary has advantage (E_out[loss] - E_in[loss]) / B (Chapter 16, 6);
- Hoeffding's bound on the watermark statistic (eq. eq-hoeffding) holds exactly, even for the sparse residuals
  where the normal approximation is worst;
- Exercise 17.3: the expected z of a watermarked image, gamma * delta * n / sqrt(||c||^2 + delta^2 ||w'||^2), and
  the loss to clipping on black pixels.
"""

import itertools
import math

import torch

from genai_lib.watermark import correlation_z, embed_watermark, highpass, hoeffding_bound, watermark_pattern


def test_ideal_denoiser_softmax_is_tweedies_posterior_mean():
    g = torch.Generator().manual_seed(0)
    x_train = torch.randn(7, 5, generator=g, dtype=torch.float64)  # N = 7 training points in D = 5
    for ab in (0.05, 0.3, 0.9):
        ab = torch.tensor(ab, dtype=torch.float64)
        x_t = torch.randn(4, 5, generator=g, dtype=torch.float64).requires_grad_(True)
        sq = (x_t[:, None] - ab.sqrt() * x_train[None]).square().sum(-1)  # (B, N)
        log_p = torch.logsumexp(-sq / (2 * (1 - ab)), dim=1).sum()  # log of the noised mixture, up to a constant
        (score,) = torch.autograd.grad(log_p, x_t)
        tweedie = (x_t + (1 - ab) * score) / ab.sqrt()  # E[x_0 | x_t] = (x_t + (1 - ab) grad log p) / sqrt(ab)
        softmax = torch.softmax(-sq / (2 * (1 - ab)), dim=1) @ x_train  # eq. (eq-ideal-denoiser)
        assert torch.allclose(tweedie, softmax, atol=1e-12)


def test_exercise_16_1_shifted_copy_and_unrelated_image_distances():
    x = torch.zeros(10, 10)
    x[2:8, 3] = 1  # a vertical stroke, a = 6 ink pixels
    a = int(x.sum())
    shifted = torch.roll(x, 1, dims=1)  # no ink pixel lands on ink
    assert (x * shifted).sum() == 0 and (x - shifted).square().sum() == 2 * a
    v = torch.zeros(10, 10)
    v[5:10, 3] = 1  # another image with a ink pixels, k = 3 of them shared with x ...
    v[9, 4] = 1  # ... (5 on the stroke's line, 1 beside it)
    k = int((x * v).sum())
    assert v.sum() == a and k == 3 and (x - v).square().sum() == 2 * a - 2 * k


def test_hoeffding_bound_holds_exactly_for_every_residual():
    # Enumerate all 2^n sign patterns: the exact tail P(sum w_i c_i >= t ||c||) under the null.
    n = 12
    signs = torch.tensor(list(itertools.product([-1.0, 1.0], repeat=n)), dtype=torch.float64)  # (2^n, n)
    g = torch.Generator().manual_seed(3)
    residuals = [
        torch.ones(n, dtype=torch.float64),  # all terms equal
        torch.randn(n, generator=g, dtype=torch.float64),
        torch.tensor([5.0, 1.0] + [0.0] * (n - 2), dtype=torch.float64),  # sparse: far from normal
    ]
    for c in residuals:
        z = signs @ c / c.norm()  # (2^n,): every value z can take, each with probability 2^-n
        assert abs(z.mean()) < 1e-12 and abs(z.square().mean() - 1) < 1e-12  # eq. (eq-wm-null), exactly
        for t in torch.linspace(0, 3.5, 15, dtype=torch.float64):
            assert (z >= t - 1e-12).double().mean() <= hoeffding_bound(t) + 1e-12


def test_exercise_17_3_expected_z_of_a_watermarked_image():
    g = torch.Generator().manual_seed(4)
    shape, n, delta = (1, 28, 28), 784, 12 / 255
    # Mid-grey images with smooth content and texture, so that no pixel is clipped.
    smooth = torch.nn.functional.avg_pool2d(torch.rand(64, 1, 32, 32, generator=g), 5, stride=1)  # (64, 1, 28, 28)
    x = 0.3 + 0.4 * smooth + 0.05 * torch.randn(64, *shape, generator=g)
    assert x.min() > delta and x.max() < 1 - delta
    keys = range(50)
    c = highpass(x)
    c = (c - c.mean(dim=(1, 2, 3), keepdim=True)).flatten(1).double()  # (64, n)
    measured, predicted = [], []
    for key in keys:
        w = watermark_pattern(shape, key)
        w_hp = highpass(w[None])[0]
        w_hp = (w_hp - w_hp.mean()).flatten().double()  # w', the high-passed, centred pattern
        gamma = (w.flatten().double() @ w_hp).item() / n
        assert 0.8 < gamma < 8 / 9 + 0.02  # 8/9 away from the border, less at the replicate-padded border
        measured.append(correlation_z(highpass(x + delta * w), w))  # no clipping, no rounding
        predicted.append(gamma * delta * n / (c.square().sum(1) + delta**2 * w_hp.square().sum()).sqrt())
    measured, predicted = torch.stack(measured).double(), torch.stack(predicted)
    assert abs(measured.mean() / predicted.mean() - 1) < 0.02
    # Clipping on a black background: half of the pattern gets in, so z falls towards 0.6 of the prediction
    # when 80% of the pixels are black (Exercise 17.3 (b)).
    black = x * (torch.rand(x.shape, generator=g) > 0.8)  # about 80% of the pixels at exactly 0
    z_clipped = torch.stack(
        [correlation_z(highpass(embed_watermark(black, k, delta)), watermark_pattern(shape, k)) for k in keys]
    )
    c_b = highpass(black)
    c_b = (c_b - c_b.mean(dim=(1, 2, 3), keepdim=True)).flatten(1).double()
    unclipped = 8 / 9 * delta * n / (c_b.square().sum(1) + delta**2 * 8 / 9 * n).sqrt()
    assert 0.45 < z_clipped.mean().item() / unclipped.mean().item() < 0.75
    assert math.isfinite(z_clipped.mean().item())


def test_yeom_bounded_loss_adversary_has_the_generalisation_gap_over_b_as_advantage():
    # Chapter 16, Section 6: the attacker who calls a point a member with probability 1 - loss / B has
    # advantage TPR - FPR = (E_out[loss] - E_in[loss]) / B.
    g = torch.Generator().manual_seed(5)
    B, n = 4.0, 400_000
    loss_in = B * torch.rand(n, generator=g, dtype=torch.float64).square()  # members: low losses
    loss_out = B * torch.rand(n, generator=g, dtype=torch.float64).sqrt()  # non-members: higher losses
    tpr = (torch.rand(n, generator=g, dtype=torch.float64) < 1 - loss_in / B).double().mean()
    fpr = (torch.rand(n, generator=g, dtype=torch.float64) < 1 - loss_out / B).double().mean()
    gap = (loss_out.mean() - loss_in.mean()) / B
    assert abs((tpr - fpr) - gap) < 5 * math.sqrt(0.5 / n)
