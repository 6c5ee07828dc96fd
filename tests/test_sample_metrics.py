"""Fréchet distance, precision/recall, conditional accuracy, copy rate and the feature classifier, on known answers."""

import math

import pytest
import torch

from genai_lib.metrics import conditional_accuracy, copy_rate, frechet_distance, nn_distances, precision_recall
from genai_lib.models.classifier import Classifier, ClassifierConfig, embed, feature_classifier


def with_moments(x: torch.Tensor, mean: torch.Tensor, cov: torch.Tensor) -> torch.Tensor:
    """Transform samples so that their sample mean and covariance (n - 1) are exactly `mean` and `cov`."""
    x = x.double() - x.double().mean(0)
    white = x @ torch.linalg.inv(torch.linalg.cholesky(torch.cov(x.T))).T
    return white @ torch.linalg.cholesky(cov.double()).T + mean.double()


def test_frechet_distance_of_a_set_with_itself_is_zero():
    x = torch.randn(500, 8, generator=torch.Generator().manual_seed(0))
    assert abs(frechet_distance(x, x)) < 1e-8


def test_frechet_distance_matches_the_closed_form_for_gaussians():
    g = torch.Generator().manual_seed(1)
    d = 4
    mu_a, mu_b = torch.zeros(d), torch.tensor([1.0, -2.0, 0.5, 0.0])
    var_a, var_b = torch.tensor([1.0, 2.0, 0.5, 3.0]), torch.tensor([4.0, 1.0, 0.5, 1.0])
    a = with_moments(torch.randn(300, d, generator=g), mu_a, torch.diag(var_a))
    b = with_moments(torch.randn(400, d, generator=g), mu_b, torch.diag(var_b))
    # For commuting (here diagonal) covariances, tr(S_a + S_b - 2 (S_a S_b)^1/2) = sum (sigma_a - sigma_b)^2.
    closed = (mu_a - mu_b).square().sum() + (var_a.sqrt() - var_b.sqrt()).square().sum()
    assert frechet_distance(a, b) == pytest.approx(closed.item(), rel=1e-6)
    # A rotation of both sets changes nothing: the distance depends on the Gaussians, not the axes.
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    assert frechet_distance(a @ q, b @ q) == pytest.approx(closed.item(), rel=1e-6)


def test_frechet_distance_rejects_sets_it_cannot_compare():
    with pytest.raises(ValueError, match="one width"):
        frechet_distance(torch.randn(5, 3), torch.randn(5, 4))
    with pytest.raises(ValueError, match="at least two samples"):
        frechet_distance(torch.randn(1, 3), torch.randn(5, 3))


def test_nn_distances_equal_a_brute_force_search():
    g = torch.Generator().manual_seed(2)
    q, r = torch.randn(30, 5, generator=g), torch.randn(50, 5, generator=g)
    d, i = nn_distances(q, r, k=2, chunk=7)
    brute = torch.cdist(q, r).sort(dim=1)
    assert torch.allclose(d, brute.values[:, 1]) and torch.equal(i, brute.indices[:, 1])
    d_self, _ = nn_distances(r, r, k=1, exclude_self=True)
    assert (d_self > 0).all()


def test_precision_and_recall_separate_quality_from_coverage():
    g = torch.Generator().manual_seed(3)
    centres = torch.tensor([[-6.0, 0.0], [6.0, 0.0]])
    real = centres[torch.arange(1000) % 2] + 0.5 * torch.randn(1000, 2, generator=g)
    assert precision_recall(real, real) == (1.0, 1.0)
    one_mode = centres[0] + 0.5 * torch.randn(1000, 2, generator=g)  # good samples, half the modes
    p, r = precision_recall(real, one_mode)
    assert p > 0.95 and 0.4 < r < 0.6
    junk = 30 + torch.randn(1000, 2, generator=g)  # nowhere near the data
    assert precision_recall(real, junk) == (0.0, 0.0)


def test_conditional_accuracy_counts_agreeing_argmaxes():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, -1.0], [0.0, 5.0]])
    assert conditional_accuracy(logits, torch.tensor([0, 1, 1, 1])) == 0.75
    with pytest.raises(ValueError, match=r"labels \(N,\)"):
        conditional_accuracy(logits, torch.tensor([0, 1]))


def test_copy_rate_is_near_the_quantile_for_new_data_and_one_for_copies():
    g = torch.Generator().manual_seed(4)
    train, held_out, fresh = (torch.randn(n, 6, generator=g) for n in (500, 500, 500))
    copies = train[:200] + 1e-3 * torch.randn(200, 6, generator=g)
    assert copy_rate(copies, train, held_out, quantile=0.05) == 1.0
    assert copy_rate(fresh, train, held_out, quantile=0.05) < 0.15


def test_classifier_features_and_clear_shape_error():
    model = Classifier(ClassifierConfig(image_shape=(1, 8, 8), n_classes=10, width=4, feature_dim=16))
    assert model.features(torch.rand(3, 1, 8, 8)).shape == (3, 16)
    assert embed(model, torch.rand(7, 1, 8, 8), batch_size=3, logits=True).shape == (7, 10)
    with pytest.raises(ValueError, match=r"expects images of shape \(B, 1, 8, 8\) in \[0, 1\], got \(2, 784\)"):
        model(torch.rand(2, 784))


def test_feature_classifier_is_trained_once_then_loaded_from_the_cache(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GENAI_DATA_DIR", str(tmp_path))
    first = feature_classifier("digits", steps=300)
    assert "Training the feature classifier" in capsys.readouterr().out
    again = feature_classifier("digits", steps=300)
    assert capsys.readouterr().out == ""  # loaded, not retrained
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), again.state_dict().values(), strict=True))
    from genai_lib.data import load_images

    test = load_images("digits", "test")
    acc = conditional_accuracy(embed(again, test.x, logits=True), test.y)
    assert acc > 0.85, f"a feature classifier should read digits; test accuracy {acc:.2f}"
    assert math.isclose(sum(1 for _ in (tmp_path / "classifiers").glob("digits-*.pt")), 1)


def test_wilson_interval_solves_the_score_test_and_stays_in_the_unit_interval():
    from genai_lib.metrics import wilson_interval

    for k, n in ((0, 10), (7, 10), (10, 10), (50, 200)):
        lo, hi = wilson_interval(k, n)
        assert 0 <= lo <= k / n <= hi <= 1
        for bound in (lo, hi):  # |p - π| = z sqrt(π(1-π)/n) at both ends
            if 0 < bound < 1:
                assert abs(abs(k / n - bound) - 1.96 * (bound * (1 - bound) / n) ** 0.5) < 1e-9
    assert wilson_interval(0, 10)[0] == 0.0
    with pytest.raises(ValueError, match="0 <= k <= n"):
        wilson_interval(11, 10)
