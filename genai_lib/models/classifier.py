"""A small convolutional classifier whose penultimate layer is the feature space of our image metrics.

Trained once on real images and cached, it plays the role Inception-v3 plays in the FID of Heusel et
al. (2017): generated and real images are compared through its features, and class-conditional
samples are judged by its predictions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genai_lib.config import image_shape
from genai_lib.data.images import load_images
from genai_lib.models.cached import trained_once
from genai_lib.nn.modes import evaluating


@dataclass
class ClassifierConfig:
    image_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W), values in [0, 1]
    n_classes: int = 10
    width: int = 16  # channels of the first conv stage; the second has 2 * width
    feature_dim: int = 128  # dimension of the features the metrics compare

    def __post_init__(self) -> None:
        self.image_shape = image_shape(self.image_shape, "ClassifierConfig")
        if len(self.image_shape) != 3 or self.image_shape[1] % 4 or self.image_shape[2] % 4:
            raise ValueError(f"image_shape must be (C, H, W) with H and W multiples of 4, got {self.image_shape}.")


class Classifier(nn.Module):
    """Two conv stages, a feature layer and a linear read-out: logits = W f(x) + b."""

    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__()
        self.config = c = config
        C, H, W = c.image_shape
        self.body = nn.Sequential(
            nn.Conv2d(C, c.width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # (B, w, H/2, W/2)
            nn.Conv2d(c.width, 2 * c.width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # (B, 2w, H/4, W/4)
            nn.Flatten(),
            nn.Linear(2 * c.width * (H // 4) * (W // 4), c.feature_dim),
            nn.ReLU(),
        )
        self.head = nn.Linear(c.feature_dim, c.n_classes)

    def _check(self, x: torch.Tensor) -> None:
        if x.dim() != 4 or tuple(x.shape[1:]) != self.config.image_shape:
            raise ValueError(
                f"The classifier expects images of shape (B, {', '.join(map(str, self.config.image_shape))}) "
                f"in [0, 1], got {tuple(x.shape)}."
            )

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature vector f(x), (B, feature_dim), compared by the Fréchet distance and precision/recall."""
        self._check(x)
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@torch.no_grad()
def embed(model: Classifier, x: torch.Tensor, *, batch_size: int = 500, logits: bool = False) -> torch.Tensor:
    """Features (or logits) of many images in eval mode, batch by batch, returned on the CPU."""
    with evaluating(model):
        device = next(model.parameters()).device
        fn = model if logits else model.features
        return torch.cat([fn(x[i : i + batch_size].to(device)).float().cpu() for i in range(0, len(x), batch_size)])


def train_classifier(
    model: Classifier,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int = 1000,
    batch_size: int = 128,
    lr: float = 2e-3,
    seed: int = 0,
) -> Classifier:
    """Adam on cross-entropy with small random shifts, so that features do not hinge on exact pixel positions."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(steps, 1))
    device = next(model.parameters()).device
    shift = round(x.shape[-1] / 14)  # 2 pixels on 28x28 MNIST, 1 on 8x8 digits
    model.train()
    for _ in range(steps):
        idx = torch.randint(len(x), (batch_size,), generator=g)
        dx, dy = torch.randint(-shift, shift + 1, (2,), generator=g).tolist()
        xb = torch.roll(x[idx], shifts=(dx, dy), dims=(2, 3))
        loss = F.cross_entropy(model(xb.to(device)), y[idx].to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return model.eval()


def feature_classifier(
    dataset: str = "mnist", *, steps: int = 1000, device: str | torch.device = "cpu", verbose: bool = True
) -> Classifier:
    """The metrics' classifier for `dataset`, trained on its training split once and cached in the data cache."""
    train = load_images(dataset, "train")
    config = ClassifierConfig(image_shape=train.shape, n_classes=int(train.y.max()) + 1)
    with torch.random.fork_rng(devices=[]):  # the same weights on every machine, and the caller's stream untouched
        torch.manual_seed(0)
        model = Classifier(config).to(device)
    # The recipe names everything that changes the weights, including which images were available.
    recipe = {"config": asdict(config), "steps": steps, "source": train.source, "n": len(train)}
    announce = (
        f"Training the feature classifier for {dataset!r} on {len(train):,} images (once; cached in {{path}})."
        if verbose
        else None
    )
    return trained_once(
        model,
        recipe,
        name=dataset,
        map_location=device,
        announce=announce,
        train=lambda m: train_classifier(m, train.x, train.y, steps=steps),
    )
