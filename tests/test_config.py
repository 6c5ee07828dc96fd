import random

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
