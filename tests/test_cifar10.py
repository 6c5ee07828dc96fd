"""CIFAR-10 from a small archive built here in the real format, served from a file:// URL."""

import hashlib
import io
import pickle
import tarfile

import numpy as np
import pytest
import torch

from genai_lib.data import availability, load_images
from genai_lib.data.cifar10 import CifarSource, load_cifar10

NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _add(tar: tarfile.TarFile, name: str, obj) -> None:
    payload = pickle.dumps(obj, protocol=2)  # dicts with bytes keys, as the real (Python 2) batches
    info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
    info.size = len(payload)
    tar.addfile(info, io.BytesIO(payload))


@pytest.fixture
def archive(tmp_path):
    """A tar.gz laid out as cifar-10-python.tar.gz, 3 images per train batch and 4 in the test batch."""
    rng = np.random.default_rng(0)
    batches = {f"data_batch_{i}": 3 for i in range(1, 6)} | {"test_batch": 4}
    written = {}
    path = tmp_path / "remote" / "cifar-10-python.tar.gz"
    path.parent.mkdir()
    with tarfile.open(path, "w:gz") as tar:
        for name, n in batches.items():
            data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
            labels = rng.integers(0, 10, n).tolist()
            written[name] = (data, labels)
            _add(tar, name, {b"batch_label": name.encode(), b"labels": labels, b"data": data, b"filenames": []})
        _add(tar, "batches.meta", {b"label_names": [c.encode() for c in NAMES], b"num_vis": 3072})
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    return path, CifarSource(url=path.as_uri(), sha256=sha), written


def _expected(written, names):
    x = np.concatenate([written[n][0] for n in names])  # (N, 3072) = 1024 R, 1024 G, 1024 B per row
    y = sum((written[n][1] for n in names), [])
    return torch.from_numpy(x).float().div(255).reshape(-1, 3, 32, 32), torch.tensor(y)


def test_download_verify_extract_and_load(archive, isolated_cache):
    path, source, written = archive
    train = load_images("cifar10", "train", source=source)
    test = load_images("cifar10", "test", source=source)
    x, y = _expected(written, [f"data_batch_{i}" for i in range(1, 6)])
    assert train.x.shape == (15, 3, 32, 32) and train.x.dtype == torch.float32
    assert torch.equal(train.x, x) and torch.equal(train.y, y)
    x, y = _expected(written, ["test_batch"])
    assert torch.equal(test.x, x) and torch.equal(test.y, y)
    # channel order: row 0's first 1024 bytes are the red plane, read row-major
    assert train.x[0, 0, 0, 1] == written["data_batch_1"][0][0, 1] / 255
    assert train.x[0, 2, 31, 31] == written["data_batch_1"][0][0, 3071] / 255
    assert train.classes == tuple(NAMES) and train.name == "cifar10"
    assert (isolated_cache / "cifar-10-python.tar.gz").read_bytes() == path.read_bytes()


def test_a_second_load_uses_the_cache_even_offline(archive, isolated_cache, monkeypatch):
    path, source, _ = archive
    first = load_cifar10("test", source=source)
    path.unlink()  # the "server" is gone ...
    (isolated_cache / "cifar-10-python.tar.gz").unlink()  # ... and so is the archive: only the decoded cache is left
    monkeypatch.setenv("GENAI_OFFLINE", "1")
    again = load_cifar10("test", source=source)
    assert torch.equal(again.x, first.x) and torch.equal(again.y, first.y) and again.classes == first.classes
    monkeypatch.setattr("genai_lib.data.cifar10.CIFAR10", source)  # availability() asks about the real archive
    status = {s.name: s for s in availability()}
    assert status["cifar10"].offline and "cifar-10-" in status["cifar10"].detail


def test_a_wrong_checksum_is_refused_and_nothing_is_extracted(archive, isolated_cache):
    _, source, _ = archive
    bad = CifarSource(url=source.url, sha256="0" * 64)
    with pytest.raises(
        RuntimeError, match="CIFAR-10 archive failed its checksum and was not extracted.*expected 0{64}"
    ):
        load_cifar10("train", source=bad)
    assert not list(isolated_cache.glob("*"))  # neither the archive nor a decoded cache was kept


def test_a_corrupted_archive_is_refused(archive, isolated_cache):
    path, source, _ = archive
    path.write_bytes(path.read_bytes()[:-100])  # truncated upstream: the published hash no longer matches
    with pytest.raises(RuntimeError, match="failed its checksum and was not extracted"):
        load_cifar10("train", source=source)
    assert not list(isolated_cache.glob("*.npz"))


def test_offline_names_the_manual_path_and_the_procedural_alternative(archive, isolated_cache, monkeypatch, tmp_path):
    _, source, _ = archive
    unreachable = CifarSource(url=(tmp_path / "nowhere.tar.gz").as_uri(), sha256=source.sha256)
    where = str(isolated_cache / "cifar-10-python.tar.gz")
    with pytest.raises(RuntimeError, match="CIFAR-10 could not be downloaded") as err:
        load_cifar10("train", source=unreachable)  # the download fails: no network
    assert where in str(err.value) and "load_images('scenes')" in str(err.value)
    monkeypatch.setenv("GENAI_OFFLINE", "1")
    with pytest.raises(RuntimeError, match=r"could not be downloaded \(GENAI_OFFLINE is set.*load_images\('scenes'\)"):
        load_cifar10("train", source=source)  # reachable, but downloads are switched off
    monkeypatch.delenv("GENAI_OFFLINE")
    with pytest.raises(RuntimeError, match=r"could not be downloaded \(download=False"):
        load_images("cifar10", "train", source=source, download=False)


def test_an_archive_in_a_mirror_folder_is_used(archive, isolated_cache, monkeypatch):
    path, source, written = archive
    monkeypatch.setenv("GENAI_DATA_MIRRORS", str(path.parent))
    monkeypatch.setenv("GENAI_OFFLINE", "1")
    data = load_cifar10("test", source=source)
    assert torch.equal(data.y, torch.tensor(written["test_batch"][1]))
    assert not (isolated_cache / "cifar-10-python.tar.gz").exists()  # read in place, not copied


def test_an_archive_without_the_cifar_layout_is_a_clear_error(tmp_path, isolated_cache):
    path = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        _add(tar, "data_batch_1", {b"labels": [1], b"data": np.zeros((1, 3072), np.uint8)})
    source = CifarSource(url=path.as_uri(), sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    with pytest.raises(RuntimeError, match="has no cifar-10-batches-py/data_batch_2; it is not the CIFAR-10"):
        load_cifar10("train", source=source)


def test_availability_without_a_copy_points_to_scenes(isolated_cache):
    status = {s.name: s for s in availability()}
    assert not status["cifar10"].offline and "'scenes'" in status["cifar10"].detail
    assert status["scenes"].offline
    with pytest.raises(ValueError, match="Unknown split 'valid'"):
        load_cifar10("valid")


def test_a_colour_set_that_cannot_be_had_gives_way_to_the_scenes_and_says_why(isolated_cache, monkeypatch, capsys):
    from genai_lib.data import load_colour_images

    monkeypatch.setenv("GENAI_OFFLINE", "1")
    train, test = load_colour_images("cifar10", 40, 12)  # nothing cached, downloads off
    assert (train.name, test.name, len(train), len(test), train.shape) == ("scenes", "scenes", 40, 12, (3, 32, 32))
    notice = capsys.readouterr().out
    assert "cifar10 is not available here, so this run trains on the procedural scenes instead" in notice


def test_a_colour_set_that_can_be_had_is_cut_to_the_sizes_asked_for(archive, isolated_cache):
    from genai_lib.data import load_colour_images

    _, source, written = archive
    train, test = load_colour_images("cifar10", 10, 3, source=source)
    assert (train.name, len(train), len(test)) == ("cifar10", 10, 3)
    assert torch.equal(test.y, torch.tensor(written["test_batch"][1][:3]))
