import hashlib

import pytest

from genai_lib.data.download import download


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "remote" / "corpus.txt"
    path.parent.mkdir()
    path.write_bytes(b"To be, or not to be, that is the question.\n" * 100)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def test_download_verifies_and_caches(source, isolated_cache):
    path, sha = source
    got = download(path.as_uri(), sha)
    assert got == isolated_cache / "corpus.txt" and got.read_bytes() == path.read_bytes()
    path.unlink()  # a second call must not touch the network (here: the vanished source)
    assert download(path.as_uri(), sha) == got


def test_corrupt_cache_is_fetched_again(source, isolated_cache, capsys):
    path, sha = source
    isolated_cache.mkdir(parents=True)
    (isolated_cache / "corpus.txt").write_bytes(b"half a fi")  # an interrupted, non-atomic copy
    got = download(path.as_uri(), sha)
    assert got.read_bytes() == path.read_bytes()
    assert "corrupt or incomplete" in capsys.readouterr().out


def test_wrong_hash_is_refused_and_nothing_is_kept(source, isolated_cache):
    path, _ = source
    with pytest.raises(RuntimeError, match="has sha256 .* expected 0{64}.*discarded"):
        download(path.as_uri(), "0" * 64)
    assert not list(isolated_cache.glob("*"))  # no partial or bad file left behind


def test_offline_download_says_what_to_do(tmp_path, isolated_cache):
    missing = (tmp_path / "nowhere" / "file.txt").as_uri()
    with pytest.raises(RuntimeError, match="You seem to be offline. Copy the file to .*file.txt"):
        download(missing, "0" * 64)
    with pytest.raises(RuntimeError, match="offline"):
        download("http://nonexistent.invalid/data.txt", "0" * 64, timeout=5)


def test_mirror_folders_are_used_read_only(source, tmp_path, monkeypatch, isolated_cache):
    path, sha = source
    monkeypatch.setenv("GENAI_DATA_MIRRORS", str(path.parent))
    assert download("http://nonexistent.invalid/corpus.txt", sha) == path
    assert not isolated_cache.exists()


def test_genai_offline_switches_downloads_off(source, monkeypatch):
    path, sha = source
    monkeypatch.setenv("GENAI_OFFLINE", "1")
    with pytest.raises(RuntimeError, match="downloads are switched off .GENAI_OFFLINE is set."):
        download(path.as_uri(), sha)  # reachable, but not fetched
