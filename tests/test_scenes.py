"""The procedural colour `scenes`: shapes, ranges, seeds, balance, and that texture and gradient are really there."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from genai_lib.data import load_images
from genai_lib.data.scenes import SHAPES, TEXTURES, SceneConfig, hsv_to_rgb, load_scenes, make_scenes


@pytest.fixture(scope="module")
def scenes():
    return load_scenes("train", 400)


def test_shapes_range_and_labels(scenes):
    assert scenes.x.shape == (400, 3, 32, 32) and scenes.x.dtype == torch.float32
    assert 0.0 <= scenes.x.min() and scenes.x.max() <= 1.0 and scenes.x.std() > 0.1
    assert scenes.classes == SHAPES and scenes.name == "scenes"
    assert set(scenes.y.tolist()) == set(range(len(SHAPES)))
    f = scenes.factors
    assert set(f["n_objects"].tolist()) == {1, 2, 3} and set(f["texture"].tolist()) == set(range(len(TEXTURES)))
    assert 0 <= f["hue_bin"].min() and f["hue_bin"].max() <= 5 and set(f["quadrant"].tolist()) == {0, 1, 2, 3}
    assert all(len(v) == 400 for v in f.values())


def test_registered_with_fixed_sizes_and_seeds():
    small = load_images("scenes", "test", n=50)
    assert torch.equal(small.x, load_scenes("test", 50).x)  # load_images goes through the same seeded loader
    assert not torch.equal(small.x, load_scenes("train", 50).x)  # train and test come from different streams
    assert "test" in small.source and "seed 0" in small.source


def test_deterministic_for_a_seed_and_different_across_seeds():
    a, b, c = make_scenes(40, seed=3), make_scenes(40, seed=3), make_scenes(40, seed=4)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert all(torch.equal(a.factors[k], b.factors[k]) for k in a.factors)
    assert (a.x - c.x).abs().mean() > 0.05


def test_rendering_in_chunks_changes_nothing(monkeypatch):
    whole = make_scenes(30, seed=1)
    monkeypatch.setattr("genai_lib.data.scenes.CHUNK", 7)
    assert torch.equal(make_scenes(30, seed=1).x, whole.x)


def test_main_shapes_are_balanced(scenes):
    counts = torch.bincount(scenes.y, minlength=len(SHAPES))
    assert counts.max() - counts.min() <= 1  # 400 images: 100 of each
    assert torch.bincount(make_scenes(101, seed=2).y).tolist() in ([26, 25, 25, 25], [25, 26, 25, 25])


def _high_frequency_energy(x: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between each image and its 3x3 blur, per image."""
    blur = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
    return (x - blur).pow(2).mean(dim=(1, 2, 3))


def test_textured_objects_add_high_frequency_energy(scenes):
    energy = _high_frequency_energy(scenes.x)
    textured = scenes.factors["texture"] > 0
    assert energy[textured].mean() > 2 * energy[~textured].mean()
    plain = make_scenes(200, seed=5, config=SceneConfig(texture_prob=0.0))
    assert (plain.factors["texture"] == 0).all()
    assert _high_frequency_energy(plain.x).mean() < 0.5 * energy[textured].mean()


def test_backgrounds_are_gradients_not_flat(scenes):
    corners = scenes.x[:, :, [0, 0, -1, -1], [0, -1, 0, -1]].mean(dim=1)  # (N, 4) brightness at the corners
    spread = corners.max(dim=1).values - corners.min(dim=1).values
    assert spread.median() > 0.15  # a flat background would give ~0 where no object covers the corners
    # images whose background hue falls in one bin share a dominant hue, so the bins are real labels
    big = load_scenes("train", 300, config=SceneConfig(max_objects=1))
    mean_rgb = big.x[:, :, [0, 0, -1, -1], [0, -1, 0, -1]].mean(dim=2)  # (N, 3)
    red_bin, blue_bin = big.factors["hue_bin"] == 0, big.factors["hue_bin"] == 3  # hues 0-60 and 180-240 degrees
    assert mean_rgb[red_bin, 0].mean() > mean_rgb[red_bin, 2].mean() + 0.1
    assert mean_rgb[blue_bin, 2].mean() > mean_rgb[blue_bin, 0].mean() + 0.1


def test_hsv_to_rgb_primary_hues():
    rgb = hsv_to_rgb(np.array([0.0, 1 / 3, 2 / 3, 0.5]), np.ones(4), np.ones(4))
    assert np.allclose(rgb, [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 1]])


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="n must be a positive number of images, got 0"):
        make_scenes(0)
    with pytest.raises(ValueError, match="Unknown split 'valid'; use 'train' or 'test'"):
        load_scenes("valid")
    with pytest.raises(ValueError, match="max_objects must be at least 1"):
        SceneConfig(max_objects=0)
    with pytest.raises(ValueError, match="texture_prob is a probability"):
        SceneConfig(texture_prob=1.5)
    with pytest.raises(ValueError, match="image_size must be at least 8"):
        SceneConfig(image_size=4)
    with pytest.raises(ValueError, match="period must be"):
        SceneConfig(period=(1.0, 3.0))
    with pytest.raises(ValueError, match="hue_bins must be at least 1"):
        SceneConfig(hue_bins=0)


def test_other_image_sizes_and_one_object():
    small = make_scenes(8, config=SceneConfig(image_size=16, max_objects=1))
    assert small.x.shape == (8, 3, 16, 16) and (small.factors["n_objects"] == 1).all()
