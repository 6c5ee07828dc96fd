"""Shared fixtures: an isolated data cache, the repository root, and the shared data folder if present;
the repository root on sys.path."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads: see genai_lib/__init__.py
os.environ.setdefault("GOMP_SPINCOUNT", "1000")

from pathlib import Path

import pytest

from genai_lib import pseudo_device

# The pseudo device must exist before the first backward pass of this process: PyTorch's autograd
# engine sizes its per-device queues once, then, and a device registered later has none.
pseudo_device.enable()

ROOT = Path(__file__).resolve().parents[1]
# The repository's own tools are imported from its root, as `make` runs them: book.chapters (which
# pages are notebooks and chapters, from _toc.yml) and assignments.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture
def repo_root() -> Path:
    return ROOT


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch) -> Path:
    """Every test gets its own empty download cache, so no test sees another's files or the user's."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("GENAI_DATA_DIR", str(cache))
    monkeypatch.delenv("GENAI_DATA_MIRRORS", raising=False)
    monkeypatch.delenv("GENAI_OFFLINE", raising=False)  # tests that need it set it themselves
    monkeypatch.setenv("GENAI_PROGRESS", "off")
    # `make test` runs the notebooks on the pseudo device (genai_lib.pseudo_device); unit tests pick their
    # device themselves (test_benchmarks and test_pseudo_device choose it explicitly).
    monkeypatch.delenv("GENAI_DEVICE", raising=False)
    return cache
