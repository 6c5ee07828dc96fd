import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import genai_lib as gl
from genai_lib.config import config_diff


def test_budget_picks_the_active_one(monkeypatch):
    monkeypatch.setenv("GENAI_BUDGET", "smoke")
    cfg = gl.budget(smoke=dict(steps=3, lr=1e-3), standard=dict(steps=30, lr=1e-3), full=dict(steps=300, lr=3e-4))
    assert (cfg.steps, cfg.lr) == (3, 1e-3)
    monkeypatch.setenv("GENAI_BUDGET", "full")
    assert gl.budget(smoke=dict(s=1), standard=dict(s=2), full=dict(s=3)).s == 3


def test_budget_default_depends_on_cuda(monkeypatch):
    monkeypatch.delenv("GENAI_BUDGET", raising=False)
    assert gl.get_budget() == ("full" if torch.cuda.is_available() else "standard")


def test_unknown_budget_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("GENAI_BUDGET", "huge")
    with pytest.raises(ValueError, match="'huge' is not a budget; use one of smoke, standard, full"):
        gl.get_budget()


def test_budgets_must_name_the_same_keys():
    with pytest.raises(ValueError, match=r"Missing: \{'smoke': \['lr'\]\}"):
        gl.budget(smoke=dict(steps=1), standard=dict(steps=2, lr=1), full=dict(steps=3, lr=1))


def test_setup_seeds_everything_and_prints_one_banner(capsys, monkeypatch):
    monkeypatch.setenv("GENAI_BUDGET", "smoke")
    session = gl.setup(seed=123)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    gl.setup(seed=123, quiet=True)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first
    banner = capsys.readouterr().out.strip().splitlines()
    assert len(banner) == 1 and "budget: smoke" in banner[0] and "seed: 123" in banner[0]
    assert session.device.type in ("cpu", "cuda", "mps") and session.precision.name in ("fp32", "bf16", "fp16")


def test_config_diff_names_fields():
    assert config_diff({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4}) == [
        "b: 2 here, 3 in the other",
        "c: absent here, 4 in the other",
    ]


def test_the_banner_states_the_chapters_expected_time_and_where_it_comes_from(monkeypatch, capsys):
    from genai_lib import expected_time

    rows = {
        "03_dcgan": {
            "standard": {"cpu": {"seconds": 312.0, "source": "measured on a 2-core CPU"}},
            "full": {"cuda": {"seconds": 95.0, "source": "estimated for an H100", "covers": "training only"}},
        }
    }
    monkeypatch.setattr(expected_time, "table", lambda: rows)
    monkeypatch.setenv("GENAI_BUDGET", "standard")
    gl.setup(chapter="03_dcgan", device="cpu")
    assert "expected time: about 5 min (measured on a 2-core CPU)" in capsys.readouterr().out
    monkeypatch.setenv("GENAI_BUDGET", "full")
    gl.setup(chapter="03_dcgan", device="cpu")
    assert "expected time: not recorded for the full budget on cpu" in capsys.readouterr().out
    assert expected_time.expected("03_dcgan", "full", torch.device("cuda")) == (
        "expected time: about 2 min (estimated for an H100, training only)"
    )
    rows["03_dcgan"]["standard"]["cpu"].update(alone_seconds=600.0, alone_trains_first=["chapter 13's VQ-VAE"])
    assert expected_time.expected("03_dcgan", "standard", torch.device("cpu")) == (
        "expected time: about 5 min (measured on a 2-core CPU) with the earlier chapters' checkpoints here; "
        "opened on its own, it first trains chapter 13's VQ-VAE: about 10 min (estimated: this time plus their "
        "recorded training time)"
    )
    rows["03_dcgan"]["full"]["cuda"].update(seconds=0.0, runs=0)
    assert "not estimated (the chapter trains nothing that `fit` times" in expected_time.expected(
        "03_dcgan", "full", torch.device("cuda")
    )


def test_every_chapter_names_itself_to_setup_so_that_its_banner_can_state_its_time():
    root = Path(__file__).resolve().parents[1]
    listed = subprocess.run(
        [sys.executable, str(root / "book/chapters.py"), "--chapters"], capture_output=True, text=True, check=True
    ).stdout.split()
    for md in listed:
        stem = Path(md).stem
        assert re.search(rf'gl\.setup\([^)]*chapter="{stem}"', (root / md).read_text()), f"{md}: gl.setup(chapter=...)"
