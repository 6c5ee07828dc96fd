"""The spread-spectrum watermark: reproducible patterns, a calibrated null, detection, and clear errors."""

import math

import pytest
import torch

from genai_lib.watermark import (
    correlation_z,
    embed_watermark,
    highpass,
    hoeffding_bound,
    p_value,
    quantize,
    watermark_pattern,
    watermark_z,
)


def images(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 1, 16, 16)
    x[:, :, 4:12, 6:10] = torch.rand(n, 1, 8, 4, generator=g)  # a bright blob on black, like a digit
    return quantize(x)


def test_pattern_is_a_reproducible_sign_pattern():
    w = watermark_pattern((1, 16, 16), 7)
    assert w.shape == (1, 16, 16) and set(w.unique().tolist()) == {-1.0, 1.0}
    assert torch.equal(w, watermark_pattern((1, 16, 16), 7))
    assert not torch.equal(w, watermark_pattern((1, 16, 16), 8))


def test_null_z_has_mean_zero_and_variance_one_over_keys():
    r = highpass(images(4))
    z = torch.stack([correlation_z(r, watermark_pattern((1, 16, 16), k)) for k in range(3000)])  # (keys, images)
    assert z.mean(0).abs().max() < 0.1
    assert (z.var(0) - 1).abs().max() < 0.12
    assert (z > 2).double().mean() < hoeffding_bound(2.0)


def test_watermark_is_detected_and_other_keys_are_not():
    x = images(64)
    marked = embed_watermark(x, 3, 20 / 255)
    assert marked.min() >= 0 and marked.max() <= 1
    assert torch.equal(marked, quantize(marked))  # released as 8-bit values
    assert (watermark_z(marked, 3) > 3).float().mean() > 0.9
    assert watermark_z(marked, 4).abs().mean() < 1.5
    assert (watermark_z(torch.roll(marked, 1, dims=-1), 3) > 3).float().mean() < 0.2  # a shift desynchronises


def test_constant_image_gives_zero_and_p_values():
    assert torch.equal(watermark_z(torch.full((2, 1, 8, 8), 0.5), 1), torch.zeros(2))
    assert abs(p_value(0.0).item() - 0.5) < 1e-12
    assert abs(p_value(3.0).item() - 0.0013498980316301) < 1e-12
    assert abs(hoeffding_bound(2.0).item() - math.exp(-2.0)) < 1e-12
    assert hoeffding_bound(-1.0).item() == 1.0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: watermark_z(torch.rand(16, 16), 1), r"\(B, C, H, W\).*unsqueeze"),
        (lambda: watermark_z(torch.rand(2, 1, 8, 8) * 2 - 1, 1), r"\[0, 1\].*\(x \+ 1\) / 2"),
        (lambda: watermark_z(torch.randint(0, 255, (2, 1, 8, 8)), 1), "divide 8-bit images by 255"),
        (lambda: watermark_z(torch.rand(2, 1, 8, 8), -1), "non-negative integer"),
        (lambda: watermark_z(torch.rand(2, 1, 8, 8), 1.5), "non-negative integer"),
        (lambda: embed_watermark(torch.rand(2, 1, 8, 8), 1, 0.0), r"strength.*\(0, 1\)"),
        (lambda: embed_watermark(torch.rand(2, 1, 8, 8), 1, 3.0), r"strength.*\(0, 1\)"),
        (lambda: watermark_pattern((8, 8), 1), r"one image's \(C, H, W\)"),
        (lambda: correlation_z(torch.rand(2, 1, 8, 8), torch.ones(1, 4, 4)), "make the pattern with"),
    ],
)
def test_bad_inputs_get_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
