"""Cached downloads: looked up locally first, sha256-verified, written atomically, clear errors offline."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path


def cache_dir() -> Path:
    """Where downloads are kept: $GENAI_DATA_DIR, else ~/.cache/genai_lib."""
    return Path(os.environ.get("GENAI_DATA_DIR") or Path.home() / ".cache" / "genai_lib").expanduser()


def mirror_dirs() -> list[Path]:
    """Read-only folders searched before downloading: $GENAI_DATA_MIRRORS, separated by os.pathsep."""
    return [Path(p).expanduser() for p in os.environ.get("GENAI_DATA_MIRRORS", "").split(os.pathsep) if p]


def offline() -> bool:
    """Whether downloads are switched off ($GENAI_OFFLINE set to 1, true or yes)."""
    return os.environ.get("GENAI_OFFLINE", "").lower() in ("1", "true", "yes")


def sha256sum(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def find_local(filename: str, sha256: str) -> Path | None:
    """A verified copy of `filename` in the cache or a mirror; a corrupt cached copy is deleted."""
    cached = cache_dir() / filename
    if cached.exists():
        if sha256sum(cached) == sha256:
            return cached
        print(f"The cached {cached} is corrupt or incomplete (sha256 mismatch); fetching it again.")
        cached.unlink()
    for folder in mirror_dirs():
        candidate = folder / filename
        if candidate.exists() and sha256sum(candidate) == sha256:
            return candidate
    return None


def download(url: str, sha256: str, filename: str | None = None, *, timeout: float = 30.0) -> Path:
    """The path of a verified local copy of `url`, downloading it into the cache if needed."""
    filename = filename or url.rsplit("/", 1)[-1]
    found = find_local(filename, sha256)
    if found is not None:
        return found
    target = cache_dir() / filename
    if offline():
        raise RuntimeError(
            f"{filename} is not in the cache and downloads are switched off (GENAI_OFFLINE is set). Unset it to "
            f"download from {url}, or copy the file to {target} (sha256 {sha256}); offline either way."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{filename}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            shutil.copyfileobj(response, out)
        digest = sha256sum(tmp)
        if digest != sha256:
            raise RuntimeError(
                f"The file downloaded from {url} has sha256 {digest}, expected {sha256}. The download was "
                "damaged or the file changed upstream; it was discarded. Try again, or place a good copy at "
                f"{target}."
            )
        os.replace(tmp, target)
    except (urllib.error.URLError, OSError) as err:
        raise RuntimeError(
            f"Could not download {filename} from {url} ({getattr(err, 'reason', err)}). You seem to be offline. "
            f"Copy the file to {target} (sha256 {sha256}), or set GENAI_DATA_DIR to a folder that has it."
        ) from err
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target
