"""CIFAR-10 (Krizhevsky, 2009): the python archive downloaded once, checked by sha256, read into a uint8 cache."""

from __future__ import annotations

import os
import pickle
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from genai_lib.data.download import cache_dir, download, find_local, offline
from genai_lib.data.images import ImageData

FOLDER = "cifar-10-batches-py"  # the one folder inside the archive
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCHES = ("test_batch",)


@dataclass(frozen=True)
class CifarSource:
    """Where the archive comes from and the sha256 it must have; tests pass a local archive and its own hash."""

    url: str = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    # The sha256 Keras verifies for this 170,498,071-byte archive (keras-team/keras, keras/src/datasets/cifar10.py);
    # torchvision checks the same file against md5 c58f30108f718f92721af3b95e74349a (torchvision/datasets/cifar.py).
    sha256: str = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
    filename: str = "cifar-10-python.tar.gz"


CIFAR10 = CifarSource()


def _cache_file(source: CifarSource) -> Path:
    """The decoded arrays; named by the archive's hash, so a different archive never reuses them."""
    return cache_dir() / f"cifar-10-{source.sha256[:16]}.npz"


def cached(source: CifarSource | None = None) -> Path | None:
    """The decoded cache or a verified archive, if either is here already; downloads nothing."""
    source = source or CIFAR10
    npz = _cache_file(source)
    return npz if npz.exists() else find_local(source.filename, source.sha256)


def _offline_error(source: CifarSource, reason: str) -> RuntimeError:
    return RuntimeError(
        f"CIFAR-10 could not be downloaded ({reason}). To use it offline, fetch {source.url} on a machine with a "
        f"network and copy it to {cache_dir() / source.filename} (sha256 {source.sha256}), or into a folder named "
        "in GENAI_DATA_MIRRORS. Without it, the procedural colour images work offline: load_images('scenes')."
    )


def _archive(source: CifarSource, allow_download: bool) -> Path:
    """A local copy of the archive whose sha256 matched, so it is safe to unpickle what it holds."""
    found = find_local(source.filename, source.sha256)
    if found is not None:
        return found
    if offline() or not allow_download:
        why = "GENAI_OFFLINE is set" if offline() else "download=False"
        raise _offline_error(source, f"{why}, and it is not in the cache")
    try:
        return download(source.url, source.sha256, source.filename)
    except RuntimeError as err:
        if err.__cause__ is not None:  # download() chains the network error it could not get past
            raise _offline_error(source, f"{getattr(err.__cause__, 'reason', err.__cause__)}") from err
        raise RuntimeError(  # the bytes arrived but their sha256 is wrong: nothing was extracted or kept
            f"The CIFAR-10 archive failed its checksum and was not extracted. {err}"
        ) from err


def _read_pickle(tar: tarfile.TarFile, name: str) -> dict:
    """One pickled dict from the archive, read in memory (nothing is written to disk, so no path can escape)."""
    try:
        member = tar.extractfile(f"{FOLDER}/{name}")
    except KeyError:
        member = None
    if member is None:
        raise RuntimeError(f"The archive has no {FOLDER}/{name}; it is not the CIFAR-10 python archive.")
    # The batches were pickled by Python 2: encoding="bytes" keeps their keys as bytes (b"data", b"labels").
    return pickle.load(member, encoding="bytes")  # safe: the archive's sha256 was checked first


def _read_batches(tar: tarfile.TarFile, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images (N, 3, 32, 32) and int64 labels (N,) from the pickled batches."""
    xs, ys = [], []
    for name in names:
        batch = _read_pickle(tar, name)
        data = np.asarray(batch[b"data"], dtype=np.uint8)  # (n, 3072): 1024 red, then green, then blue, row-major
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
            raise RuntimeError(f"{name} holds data of shape {data.shape}; CIFAR-10 rows have 3072 values.")
        xs.append(data.reshape(-1, 3, 32, 32))  # (n, C, H, W)
        ys.append(np.asarray(batch[b"labels"], dtype=np.int64))
    return np.concatenate(xs), np.concatenate(ys)


def _decode(archive: Path, target: Path) -> dict[str, np.ndarray]:
    """Read all six batches and the class names; save them as one npz, written atomically, and return them."""
    with tarfile.open(archive, "r:gz") as tar:
        x_train, y_train = _read_batches(tar, TRAIN_BATCHES)
        x_test, y_test = _read_batches(tar, TEST_BATCHES)
        classes = [c.decode() for c in _read_pickle(tar, "batches.meta")[b"label_names"]]
    arrays = dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, classes=np.array(classes))
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:  # a file object, so numpy does not add a second .npz suffix
            np.savez(out, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, classes=arrays["classes"])
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return arrays


def _arrays(source: CifarSource, allow_download: bool) -> dict[str, np.ndarray]:
    """The decoded arrays from the cache, decoding (and first downloading) the archive if needed."""
    target = _cache_file(source)
    if target.exists():
        try:
            with np.load(target) as npz:  # no pickles inside: the class names are a unicode array
                return {k: npz[k] for k in npz.files}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            print(f"The cached {target} is unreadable; decoding the archive again.")
            target.unlink()
    archive = _archive(source, allow_download)
    target.parent.mkdir(parents=True, exist_ok=True)
    return _decode(archive, target)


def load_cifar10(split: str = "train", *, download: bool = True, source: CifarSource = CIFAR10) -> ImageData:
    """CIFAR-10: 50,000 train / 10,000 test colour images (3, 32, 32) in [0, 1], labels 0..9 with class names."""
    if split not in ("train", "test"):
        raise ValueError(f"Unknown split {split!r}; use 'train' or 'test'.")
    arrays = _arrays(source, download)
    x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
    return ImageData(
        torch.from_numpy(x).float().div_(255),
        torch.from_numpy(y),
        "cifar10",
        f"CIFAR-10 ({len(x):,} {split} images, {source.url})",
        classes=tuple(str(c) for c in arrays["classes"]),
    )
