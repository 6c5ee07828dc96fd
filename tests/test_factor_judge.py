"""The factor judge: one read-out per factor, it learns what it is shown, is cached once, and refuses bad input."""

import pytest
import torch

from genai_lib.data.images import ImageData
from genai_lib.models.factor_judge import (
    FactorJudge,
    FactorJudgeConfig,
    factor_judge,
    factor_labels,
    judge_accuracy,
    train_judge,
)


def toy(n=256, seed=0, name="scenes"):
    """8x8 colour images with two factors a small CNN reads at once: which half is lit, and its colour channel."""
    g = torch.Generator().manual_seed(seed)
    side, colour = torch.randint(2, (n,), generator=g), torch.randint(3, (n,), generator=g)
    x = 0.1 * torch.rand(n, 3, 8, 8, generator=g)
    for i in range(n):
        x[i, colour[i], :, 4 * side[i] : 4 * side[i] + 4] += 0.8
    return ImageData(x, colour, name, "toy", factors={"side": side})


def test_every_factor_gets_its_own_logits_and_predictions_and_the_features_are_shared():
    torch.manual_seed(0)
    judge = FactorJudge(FactorJudgeConfig(image_shape=(3, 8, 8), factors={"shape": 4, "hue": 6}, width=4))
    logits = judge(torch.rand(5, 3, 8, 8))
    assert {k: tuple(v.shape) for k, v in logits.items()} == {"shape": (5, 4), "hue": (5, 6)}
    assert judge.features(torch.rand(5, 3, 8, 8)).shape == (5, 128)
    predicted = judge.predict(torch.rand(7, 3, 8, 8), batch_size=3)
    assert set(predicted) == {"shape", "hue"} and predicted["hue"].shape == (7,) and predicted["hue"].max() < 6
    assert judge.training  # predict ran in eval mode and gave back the mode it found


def test_the_judge_learns_both_factors_of_a_toy_set_and_the_labels_are_named_by_the_set():
    train, test = toy(seed=0), toy(128, seed=1)
    labels = factor_labels(train)
    assert list(labels) == ["shape", "side"]  # scenes call their label y "shape"
    assert list(factor_labels(toy(4, name="cifar10"))) == ["class", "side"]
    torch.manual_seed(0)
    judge = FactorJudge(FactorJudgeConfig(image_shape=(3, 8, 8), factors={"shape": 3, "side": 2}, width=4))
    before = judge_accuracy(judge, test.x, factor_labels(test))
    train_judge(judge, train.x, labels, steps=150, batch_size=32, lr=1e-2)
    after = judge_accuracy(judge, test.x, factor_labels(test))
    assert min(after.values()) > 0.9 and min(after.values()) > max(before.values()), (before, after)


def test_the_judge_is_trained_once_and_then_loaded_from_the_cache(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GENAI_DATA_DIR", str(tmp_path))
    data = toy(64)
    first = factor_judge("scenes", steps=3, data=data)
    assert "Training the factor judge" in capsys.readouterr().out
    second = factor_judge("scenes", steps=3, data=data)
    assert "Training" not in capsys.readouterr().out
    pairs = zip(first.state_dict().values(), second.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)
    assert list((tmp_path / "classifiers").glob("judge-scenes-*.pt"))


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="at least one factor"):
        FactorJudgeConfig(factors={})
    with pytest.raises(ValueError, match="at least 2 values.*'hue': 1"):
        FactorJudgeConfig(factors={"shape": 4, "hue": 1})
    with pytest.raises(ValueError, match="image_shape must be"):
        FactorJudgeConfig(image_shape=(3, 32))
    judge = FactorJudge(FactorJudgeConfig(image_shape=(3, 8, 8), factors={"shape": 3, "side": 2}, width=4))
    with pytest.raises(ValueError, match=r"expects images of shape \(B, 3, 8, 8\)"):
        judge(torch.rand(2, 1, 8, 8))
    data = toy(16)
    with pytest.raises(ValueError, match=r"must name the judge's factors \['shape', 'side'\], got \['shape'\]"):
        train_judge(judge, data.x, {"shape": data.y}, steps=1)
    with pytest.raises(ValueError, match="holds 'cifar10' images, but the judge was asked for 'scenes'"):
        factor_judge("scenes", steps=1, data=toy(16, name="cifar10"))
