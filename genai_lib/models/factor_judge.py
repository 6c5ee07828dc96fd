"""A judge of image factors: the book's feature classifier with one read-out per labelled factor, trained once.

Karras et al. (2019) read attributes off generated faces with classifiers trained on real, labelled faces, and
measured how well a linear model predicts them from z or from w. This is that judge for the book's data: for
`scenes` the factors are the main shape (the label y) and the labels the scene generator records (object count,
background hue bin, texture of the main object, its quadrant); for a set with class labels only (cifar10) the
one factor is the class. Its penultimate features are also a feature space for the Fréchet distance and
precision/recall (`genai_lib.sample_quality.measure` accepts it in place of a `Classifier`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from genai_lib.config import image_shape
from genai_lib.data.images import ImageData, load_images
from genai_lib.models.cached import trained_once
from genai_lib.models.classifier import Classifier, ClassifierConfig, embed


@dataclass
class FactorJudgeConfig:
    image_shape: tuple[int, int, int] = (3, 32, 32)  # (C, H, W), values in [0, 1]
    factors: dict[str, int] = field(default_factory=lambda: {"class": 10})  # factor name -> number of values
    width: int = 16  # channels of the first conv stage of the feature classifier

    def __post_init__(self) -> None:
        self.image_shape = image_shape(self.image_shape, "FactorJudgeConfig")
        if not self.factors:
            raise ValueError("A factor judge needs at least one factor, e.g. factors={'class': 10}.")
        few = {name: n for name, n in self.factors.items() if int(n) < 2}
        if few:
            raise ValueError(f"Every factor needs at least 2 values to be judged; got {few}.")


def factor_labels(data: ImageData) -> dict[str, torch.Tensor]:
    """{factor: labels (N,)}: the set's label y (called 'shape' for scenes, 'class' otherwise), then its factors."""
    main = "shape" if data.name == "scenes" else "class"
    return {main: data.y, **data.factors}


class FactorJudge(nn.Module):
    """Shared conv features f(x) (B, 128), then one linear read-out per factor: {factor: logits (B, n_values)}."""

    def __init__(self, config: FactorJudgeConfig) -> None:
        super().__init__()
        self.config = config
        self.sizes = {name: int(n) for name, n in config.factors.items()}
        inner = ClassifierConfig(image_shape=config.image_shape, n_classes=sum(self.sizes.values()), width=config.width)
        self.classifier = Classifier(inner)  # its head holds every factor's logits, side by side

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """f(x): (B, C, H, W) in [0, 1] -> (B, 128), the space the Fréchet distance compares."""
        return self.classifier.features(x)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        logits = self.classifier(x)  # (B, sum of the factors' sizes)
        return dict(zip(self.sizes, logits.split(list(self.sizes.values()), dim=1), strict=True))

    def predict(self, x: torch.Tensor, *, batch_size: int = 500) -> dict[str, torch.Tensor]:
        """The most likely value of every factor, {factor: (N,)} on the CPU, in eval mode batch by batch."""
        logits = embed(self.classifier, x, batch_size=batch_size, logits=True)  # (N, sum of the factors' sizes)
        parts = logits.split(list(self.sizes.values()), dim=1)
        return {name: part.argmax(1) for name, part in zip(self.sizes, parts, strict=True)}


def train_judge(
    judge: FactorJudge,
    x: torch.Tensor,
    labels: dict[str, torch.Tensor],
    *,
    steps: int,
    batch_size: int = 64,
    lr: float = 2e-3,
    seed: int = 0,
) -> FactorJudge:
    """Adam on the sum of the factors' cross-entropies (one-cycle schedule); no shifts: position is a factor."""
    if set(labels) != set(judge.sizes):
        raise ValueError(f"labels must name the judge's factors {sorted(judge.sizes)}, got {sorted(labels)}.")
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(judge.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(steps, 1))
    dev = next(judge.parameters()).device
    judge.train()
    for _ in range(steps):
        idx = torch.randint(len(x), (batch_size,), generator=g)
        logits = judge(x[idx].to(dev))
        loss = torch.stack([F.cross_entropy(logits[k], labels[k][idx].to(dev)) for k in judge.sizes]).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return judge.eval()


def judge_accuracy(judge: FactorJudge, x: torch.Tensor, labels: dict[str, torch.Tensor]) -> dict[str, float]:
    """The share of images x whose every factor the judge reads as `labels` says, factor by factor."""
    predicted = judge.predict(x)
    return {k: (predicted[k] == labels[k]).float().mean().item() for k in judge.sizes}


def factor_judge(
    dataset: str = "scenes",
    *,
    steps: int = 400,
    data: ImageData | None = None,
    device: str | torch.device = "cpu",
    verbose: bool = True,
) -> FactorJudge:
    """The factor judge of a data set, trained once on its training split (or on `data`) and cached."""
    train = load_images(dataset, "train") if data is None else data
    if train.name != dataset:
        raise ValueError(f"data holds {train.name!r} images, but the judge was asked for {dataset!r}.")
    labels = factor_labels(train)
    config = FactorJudgeConfig(image_shape=train.shape, factors={k: int(v.max()) + 1 for k, v in labels.items()})
    with torch.random.fork_rng(devices=[]):  # the same weights on every machine; the caller's stream untouched
        torch.manual_seed(0)
        judge = FactorJudge(config).to(device)
    recipe = {"config": asdict(config), "steps": steps, "source": train.source, "n": len(train), "version": 1}
    announce = (
        f"Training the factor judge of {dataset!r} on {len(train):,} images for {steps} steps "
        "(once; cached in {path})."
        if verbose
        else None
    )
    return trained_once(
        judge,
        recipe,
        name=f"judge-{dataset}",
        map_location=device,
        announce=announce,
        train=lambda m: train_judge(m, train.x, labels, steps=steps),
    )
