import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import vae_mnist  # noqa: E402


def test_vae_benchmark_writes_its_result(tmp_path, monkeypatch):
    monkeypatch.setenv("GENAI_OFFLINE", "1")
    result = vae_mnist.run("smoke", tmp_path)
    saved = json.loads(next(tmp_path.glob("vae_mnist-smoke-*.json")).read_text())
    assert saved == result
    for key in ("budget", "device", "date", "wall_seconds", "test_neg_elbo_nats", "test_neg_iwae_k10_nats"):
        assert key in saved
    # the importance-weighted bound is tighter than the ELBO, and both are plausible for 784 binary pixels
    assert saved["test_neg_iwae_k10_nats"] < saved["test_neg_elbo_nats"] < 784 * 0.6931 + 50
