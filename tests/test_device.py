import pytest
import torch
from torch import nn

from genai_lib import device as D


def test_cpu_trains_in_fp32_without_autocast():
    p = D.precision_for("cpu")
    assert p.name == "fp32" and not p.enabled and not p.use_scaler
    with D.autocast("cpu", p):
        y = nn.Linear(4, 4)(torch.randn(2, 4))
    assert y.dtype == torch.float32
    assert not D.grad_scaler("cpu", p).is_enabled()


def test_cuda_policy_follows_compute_capability(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (8, 0))
    assert D.precision_for("cuda").name == "bf16"
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 5))  # a T4
    p = D.precision_for("cuda")
    assert p.name == "fp16" and p.use_scaler


def test_explicit_precision_is_checked():
    assert D.precision_for("cpu", "bf16").dtype == torch.bfloat16
    with pytest.raises(ValueError, match="only supported on CUDA"):
        D.precision_for("cpu", "fp16")
    with pytest.raises(ValueError, match="Unknown precision 'half'"):
        D.precision_for("cpu", "half")


def test_bf16_autocast_on_cpu_runs_matmuls_in_bf16():
    p = D.precision_for("cpu", "bf16")
    with D.autocast("cpu", p):
        y = nn.Linear(4, 4)(torch.randn(2, 4))
    assert y.dtype == torch.bfloat16


def test_asking_for_a_missing_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        D.pick_device("cuda")
    monkeypatch.setenv("GENAI_DEVICE", "cpu")
    assert D.pick_device().type == "cpu"


def test_unwrap_removes_compile_and_ddp_wrappers():
    model = nn.Linear(3, 3)
    compiled = D.maybe_compile(model, enabled=True)
    assert D.unwrap(compiled) is model
    assert D.maybe_compile(model, enabled=False) is model
    assert list(D.unwrap(compiled).state_dict()) == ["weight", "bias"]  # no "_orig_mod." prefix


def test_genai_precision_overrides_auto_only(monkeypatch):
    monkeypatch.setenv("GENAI_PRECISION", "bf16")
    assert D.precision_for("cpu").name == "bf16"
    assert D.precision_for("cpu", "fp32").name == "fp32"  # an explicit choice wins over the variable
    monkeypatch.setenv("GENAI_PRECISION", "fp16")
    with pytest.raises(ValueError, match="fp16 with loss scaling is only supported on CUDA"):
        D.precision_for("cpu")
    monkeypatch.setenv("GENAI_PRECISION", "half")
    with pytest.raises(ValueError, match="Unknown GENAI_PRECISION 'half'"):
        D.precision_for("cpu")
