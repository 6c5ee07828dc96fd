"""The metric table of chapter 4 and benchmarks/gan_mnist.py: baselines, rows, ratios and formatting."""

import pytest
import torch

from genai_lib import sample_quality as sq
from genai_lib.models.classifier import Classifier, ClassifierConfig


def images(n, seed=0):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


def test_blur_and_shuffle_keep_what_they_should():
    x = images(5)
    assert sq.blur(x).shape == x.shape
    assert torch.allclose(sq.blur(torch.full((2, 1, 8, 8), 0.3)), torch.full((2, 1, 8, 8), 0.3))
    s = sq.shuffle_pixels(x, generator=torch.Generator().manual_seed(0))
    assert torch.equal(s.flatten(1).sort(1).values, x.flatten(1).sort(1).values)  # same intensities per image
    assert not torch.equal(s, x)


def test_baselines_and_labels():
    x, y = images(30), torch.arange(30) % 10
    sets = sq.baselines(x, 20, labels=y)
    assert list(sets) == [sq.FLOOR, "blurred test images", "pixel-shuffled test images", "uniform noise (ceiling)"]
    real, real_y = sets[sq.FLOOR]
    assert real.shape == (20, 1, 8, 8) and all(v.shape == real.shape for k, v in sets.items() if k != sq.FLOOR)
    # each real image keeps its own label
    idx = [int((x == r).flatten(1).all(1).nonzero()) for r in real]
    assert torch.equal(real_y, y[idx])
    assert torch.equal(sq.class_labels(3, 2), torch.tensor([0, 0, 1, 1, 2, 2]))
    with pytest.raises(ValueError, match="only 30"):
        sq.baselines(x, 31)


def test_measure_puts_a_set_at_distance_zero_from_itself_and_noise_far_away():
    torch.manual_seed(0)
    clf = Classifier(ClassifierConfig(image_shape=(1, 8, 8), n_classes=10, width=4, feature_dim=16))
    ref = images(200, seed=1)
    labels = clf(ref).argmax(1).detach()
    rows = sq.measure(clf, ref, {sq.FLOOR: ref, "same, labelled": (ref, labels), "noise": torch.zeros(200, 1, 8, 8)})
    floor, same, noise = rows
    assert abs(floor["fd"]) < 1e-6 and floor["accuracy"] is None
    assert same["precision"] == same["recall"] == 1.0 and same["accuracy"] == 1.0
    assert noise["fd"] > 0 and sq.fd_ratio(rows, "noise") == pytest.approx(noise["fd"] / floor["fd"])
    table = sq.format_table(rows)
    assert "FD/floor" in table and "same, labelled" in table and "100.0%" in table
    with pytest.raises(ValueError, match="fd_ratio needs"):
        sq.fd_ratio(rows[1:], "noise")
