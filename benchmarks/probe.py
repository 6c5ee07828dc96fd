"""Step-time probe of every chapter and benchmark at the full budget, and the time estimates computed from it.

Each notebook (run as a script, benchmarks/chapter_script.py) and each benchmark runs at GENAI_BUDGET=full
with $GENAI_PROBE set, so every `fit` call times a few steps and stops (genai_lib/probe.py). A chapter's
full-budget time on the probed device is then

    sum over its runs of (planned steps x seconds per step)  +  the time of everything else it did,

and `genai_lib/expected_times.json`, which the chapters' banners read, is rewritten from it.

On a GPU that is a measurement. On a CPU it is not a GPU time at all, so the GPU figure is *estimated*
from what the probe counts on the CPU, one step of each run: its FLOPs and its tensor operations, each of
which is at least one kernel launch on a GPU,

    seconds per step on the GPU  ~  operations x LAUNCH_SECONDS  +  FLOPs / GPU_FLOPS,

with the two constants below (a guess, labelled as one in every result, until `make test-gpu` measures).
The time the chapter spends outside `fit` cannot be estimated that way; a CPU-derived estimate covers
training only and says so.

    python benchmarks/probe.py                       # every notebook and benchmark, results/ and the table
    python benchmarks/probe.py --only 03_dcgan gpt_char --steps 5
"""

from __future__ import annotations

import argparse
import ast
import datetime
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import chapter_script

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TABLE = ROOT / "genai_lib" / "expected_times.json"
BENCHMARKS = ("gan_mnist", "vae_mnist", "diffusion_mnist", "gpt_char", "text_to_image")
# The configuration whose full budget a benchmark's GPU target is stated for (benchmarks/README.md).
GPU_ARGS = {"gpt_char": ["--config", "shakespeare-char"]}
# How long a full budget may take on one H100: GPU checks run in 10-minute slots (DESIGN.md §3).
FULL_BUDGET_SECONDS = 8 * 60
# The CPU-derived GPU estimate. Eager PyTorch spends a few microseconds of host time per operation
# (dispatch, autograd bookkeeping, the kernel launch); small models are bound by that, not by FLOPs.
# Dense bf16 matrix work on an H100 reaches a few hundred TFLOP/s, the small matrices of our models a
# fraction of it. Both are guesses to be replaced by a measurement.
LAUNCH_SECONDS = 8e-6
# A cell that trains: it calls `fit` (gl.fit, or a chapter's helper around it, train_vae(...), t2i.train_ar(...)).
# The probe stops a notebook after its last such cell: what follows (sampling, metrics) is too slow at the
# full budget on a CPU, and a GPU slot is short.
TRAINING = re.compile(r"\bfit\(|\btrain_\w+\(")
# Cells the CPU probe never cuts short: those that train, and those that load or make the data they train on
# (the full budget's data can take a CPU minutes to make: the text-to-image chapters draw 50,000 images).
UNCAPPED = re.compile(TRAINING.pattern + r"|\b(?:load|make)_\w+\(")
GPU_FLOPS = 150e12


def sha(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def notebook_fingerprint(md_path: Path) -> str:
    """A hash of what decides a notebook's full budget: the `full=` part of each `budget(...)` call it makes,
    and the text-to-image presets when it uses them; a table older than a change to them is stale."""
    parts = []
    for cell in chapter_script.code_cells(md_path):
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # a cell with IPython magics: no budget in it
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "budget":
                parts += [ast.dump(k.value) for k in node.keywords if k.arg == "full"]
        if "preset(" in cell.source:
            parts.append(t2i_full_settings())
    return sha(*parts)


def benchmark_fingerprint(name: str) -> str:
    """A hash of a benchmark's CONFIGS and BUDGETS, where its full configuration is written down."""
    path = ROOT / "benchmarks" / f"{name}.py"
    parts = [_assignment_sources(path, {"CONFIGS", "BUDGETS"})]
    if name == "text_to_image":
        parts.append(t2i_full_settings())
    return sha(*parts)


def t2i_full_settings() -> str:
    """Every field of the text-to-image models' full budget, the config's defaults included (not the other budgets)."""
    from dataclasses import asdict

    from genai_lib.text_to_image_config import preset

    return json.dumps(asdict(preset("full")), sort_keys=True)


def _assignment_sources(path: Path, names: set[str]) -> str:
    source = path.read_text()
    found = []
    for node in ast.parse(source).body:
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        if any(isinstance(t, ast.Name) and t.id in names for t in targets):
            found.append(ast.dump(node))  # the values, not their layout: a comment or line break changes nothing
    return "\n".join(found)


def notebooks() -> dict[str, Path]:
    """Every notebook of the book by its stem, as book/chapters.py lists them."""
    listed = subprocess.run(
        [sys.executable, str(ROOT / "book" / "chapters.py"), "--notebooks"], capture_output=True, text=True, check=True
    ).stdout.split()
    return {Path(p).stem: ROOT / p for p in listed}


def gpu_seconds(ops: int, flops: int) -> float:
    """The CPU-derived guess of how long work of `ops` operations and `flops` FLOPs takes on an H100."""
    return ops * LAUNCH_SECONDS + flops / GPU_FLOPS


def run_seconds(record: dict, *, measured: bool) -> float:
    """One probed run at its planned length: its steps and its evaluations, measured or guessed for an H100."""
    if measured:
        step, evaluation = record["seconds_per_step"], record.get("seconds_per_evaluation", 0.0)
    else:
        step = gpu_seconds(record["ops_per_step"], record["flops_per_step"])
        evaluation = gpu_seconds(record.get("ops_per_evaluation", 0), record.get("flops_per_evaluation", 0))
    return record["planned_steps"] * step + record.get("evaluations", 0) * evaluation


def _probe_env(label: str, records: Path, checkpoints: str, steps: int, warmup: int, evaluate: bool) -> dict[str, str]:
    return {
        **os.environ,
        "GENAI_BUDGET": "full",
        "GENAI_PROBE": str(records),
        "GENAI_PROBE_LABEL": label,
        "GENAI_PROBE_STEPS": str(steps),
        "GENAI_PROBE_WARMUP": str(warmup),
        "GENAI_PROBE_EVAL": "1" if evaluate else "0",
        "GENAI_CHECKPOINT_DIR": checkpoints,
        "GENAI_WIDGETS": "off",
        "GENAI_PROGRESS": "off",
    }


def last_training_cell(md_path: Path) -> int | None:
    """The index of the notebook's last code cell that calls `fit` or a `train_...` function, or None."""
    cells = [c.index for c in chapter_script.code_cells(md_path) if TRAINING.search(c.source)]
    return max(cells) if cells else None


def probe_one(
    name: str,
    path: Path,
    *,
    steps: int,
    warmup: int,
    timeout: float | None = None,
    last_cell: int | None = None,
    count: bool = False,
    cell_timeout: float | None = None,
    evaluate: bool = True,
) -> dict:
    """Run one notebook or benchmark at the full budget under the probe; its runs, wall time and errors.

    With `timeout`, a notebook still running after that many seconds is stopped; the runs it probed
    before are kept (each is written when it finishes), and the note says it was stopped. With
    `last_cell`, the notebook stops after that cell (its last training cell), skipping what follows.
    With `count` (on a CPU), every cell of a notebook is counted too, so that the tensor work it does
    outside the probed steps (sampling, metrics) enters the GPU estimate as `other_ops` and `other_flops`.
    With `cell_timeout`, a notebook's cells that do not train are stopped after that many seconds: on a
    CPU, full-size evaluations would take hours, and only the training runs are needed there. Without
    `evaluate`, the evaluations `fit` calls are skipped too (GENAI_PROBE_EVAL=0), for the same reason.
    """
    # Taken before the run: the budget it times, even if the file is edited while it runs.
    fingerprint = notebook_fingerprint(path) if path.suffix == ".md" else benchmark_fingerprint(name)
    with tempfile.TemporaryDirectory() as tmp:
        records = Path(tmp) / "probe.jsonl"
        env = _probe_env(name, records, str(Path(tmp) / "checkpoints"), steps, warmup, evaluate)
        t0 = time.perf_counter()
        if path.suffix == ".md":
            command = [sys.executable, str(Path(__file__).parent / "chapter_script.py"), "--keep-going", "--json"]
            command += [str(Path(tmp) / "report.json"), str(path)]
            command += ["--last-cell", str(last_cell)] if last_cell is not None else []
            command += ["--count"] if count else []
            command += ["--cell-timeout", str(cell_timeout), "--uncapped", UNCAPPED.pattern] if cell_timeout else []
        else:
            command = [sys.executable, str(path), "--budget", "full", "--out", str(Path(tmp) / "out")]
            command += GPU_ARGS.get(name, [])
        proc = subprocess.Popen(command, env=env, cwd=path.parent, start_new_session=True)
        try:
            returncode = proc.wait(timeout=timeout)
            stopped = None
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the runner and the notebook's own process with it
            returncode, stopped = proc.wait(), f"stopped after {timeout:.0f} s"
        wall = time.perf_counter() - t0
        runs = [json.loads(line) for line in records.read_text().splitlines()] if records.exists() else []
        errors, cells = [], []
        if path.suffix == ".md" and (Path(tmp) / "report.json").exists():
            report = json.loads((Path(tmp) / "report.json").read_text())[0]
            cells = report["cells"]
            errors = [
                f"cell {c['index']} (line {c['line']}): {c['error'].splitlines()[0]}"
                for c in report["cells"]
                if not c["ok"]
            ]
        elif returncode and not stopped:
            errors = [f"exit status {returncode}"]
    probed = sum(
        min(r["planned_steps"], r["timed_steps"] + warmup) * r["seconds_per_step"]
        + 2 * r.get("seconds_per_evaluation", 0.0)  # one counted, one timed
        for r in runs
    )
    # The probed steps and evaluations ran inside the counted cells: what is left is the chapter's other work.
    ran = [(min(r["planned_steps"], r["timed_steps"] + warmup), r) for r in runs]
    other_ops = sum(c.get("ops") or 0 for c in cells) - sum(
        n * r["ops_per_step"] + 2 * r.get("ops_per_evaluation", 0) for n, r in ran
    )
    other_flops = sum(c.get("flops") or 0 for c in cells) - sum(
        n * r["flops_per_step"] + 2 * r.get("flops_per_evaluation", 0) for n, r in ran
    )
    return {
        "kind": "notebook" if path.suffix == ".md" else "benchmark",
        "counted": count and bool(cells),
        "other_ops": max(other_ops, 0),
        "other_flops": max(other_flops, 0),
        "fingerprint": fingerprint,
        "wall_seconds": round(wall, 2),
        # What ran besides the probed steps: the chapter's other cells, the first (counted) steps, start-up.
        "other_seconds": round(max(wall - probed, 0.0), 2),
        "errors": errors,
        "stopped": stopped,
        "last_cell": last_cell,
        "cell_timeout": cell_timeout,
        "runs": runs,
    }


def estimate(entry: dict, *, measured: bool) -> dict:
    """The full-budget time of one notebook or benchmark: measured on this device, or guessed for an H100."""
    train = sum(run_seconds(r, measured=measured) for r in entry["runs"])
    if entry.get("cell_timeout"):  # other cells were cut short: their time means nothing
        return {"seconds": round(train, 1), "train_seconds": round(train, 1), "covers": "training only"}
    if measured:
        other = entry["other_seconds"]
    elif entry.get("counted"):
        other = gpu_seconds(entry["other_ops"], entry["other_flops"])
    else:
        return {"seconds": round(train, 1), "train_seconds": round(train, 1), "covers": "training only"}
    covers = "training and everything else it runs"
    if entry.get("last_cell") is not None:
        covers = f"training and the rest of its cells up to the last that trains (cell {entry['last_cell']})"
    return {"seconds": round(train + other, 1), "train_seconds": round(train, 1), "covers": covers}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="+", default=None, help="notebook stems or benchmark names (default: all)")
    p.add_argument("--steps", type=int, default=None, help="timed steps per run (default: 50 on a GPU, 1 on a CPU)")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps first (default: 5 on a GPU, 0 on a CPU)")
    p.add_argument("--out", type=Path, default=RESULTS, help="folder for the result JSON")
    p.add_argument("--timeout", type=float, default=None, help="stop a notebook after this many seconds")
    p.add_argument("--whole", action="store_true", help="run every cell, not only up to the last training cell")
    p.add_argument("--count", action="store_true", help="on a CPU: count the other cells' work (slow: full size)")
    p.add_argument(
        "--cell-timeout", type=float, default=None, help="cap cells that do not train (default on a CPU: 30 s)"
    )
    p.add_argument(
        "--jobs", type=int, default=None, help="notebooks probed side by side (default: 1 on a GPU, 2 on a CPU)"
    )
    p.add_argument("--cpu-rows", action="store_true", help="write the smoke and standard CPU rows of the table")
    p.add_argument("--table-from", type=Path, default=None, help="rewrite the table from this probe result only")
    p.add_argument("--no-smoke", action="store_true", help="with --cpu-rows: the standard rows only")
    p.add_argument("--no-table", action="store_true", help="do not rewrite genai_lib/expected_times.json")
    args = p.parse_args(argv)
    if args.table_from:  # e.g. a GPU machine's result, copied into results/
        write_table(json.loads(args.table_from.read_text()))
        return 0
    if args.cpu_rows:
        cpu_rows(smoke=not args.no_smoke, only=args.only)
        return 0

    import torch  # after argparse: `--help` should not wait for torch

    sys.path.insert(0, str(ROOT))
    from common import git_commit

    import genai_lib as gl
    from genai_lib import device as _device

    dev = _device.pick_device()
    gpu = dev.type == "cuda"
    # On a CPU the estimate needs only the counts of one step; its clock times nothing that is used.
    steps = args.steps or (50 if gpu else 1)
    warmup = args.warmup if args.warmup is not None else (5 if gpu else 0)
    targets = {**notebooks(), **{b: ROOT / "benchmarks" / f"{b}.py" for b in BENCHMARKS}}
    unknown = sorted(set(args.only or []) - set(targets))
    if unknown:
        raise SystemExit(f"Unknown notebooks or benchmarks {unknown}; choose from {sorted(targets)}.")
    chosen = {k: v for k, v in targets.items() if not args.only or k in args.only}
    # On a CPU nothing is timed for the estimate (it is computed from counts), so notebooks may share the cores.
    jobs = args.jobs or (1 if gpu else 2)
    cell_timeout = args.cell_timeout if args.cell_timeout is not None else (None if gpu or args.count else 30.0)

    def one(item: tuple[str, Path]) -> tuple[str, dict]:
        name, path = item
        print(f"--- probe {name}", flush=True)
        last = None if args.whole or path.suffix != ".md" else last_training_cell(path)
        entry = probe_one(
            name,
            path,
            steps=steps,
            warmup=warmup,
            timeout=args.timeout,
            last_cell=last,
            count=args.count and not gpu,
            cell_timeout=cell_timeout,
            evaluate=gpu,  # evaluations inside `fit` run where they are timed, not where they would only be slow
        )
        entry["estimate"] = estimate(entry, measured=gpu)
        print(
            f"--- {name}: {entry['estimate']['seconds']:.0f} s at full ({entry['estimate']['covers']}), "
            f"{len(entry['runs'])} runs, {len(entry['errors'])} failing cells"
            + (f", {entry['stopped']}" if entry["stopped"] else ""),
            flush=True,
        )
        return name, entry

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        entries = dict(pool.map(one, chosen.items()))
    result = {
        "what": "full-budget step-time probe (benchmarks/probe.py)",
        "git_commit": git_commit(),
        "genai_lib": gl.__version__,
        "torch": torch.__version__,
        "cuda": torch.version.cuda if gpu else None,
        "device": _device.describe(dev),
        "date": datetime.date.today().isoformat(),
        "timed_steps": steps,
        "warmup_steps": warmup,
        "estimate_for": "this device (measured)" if gpu else "one H100 (estimated from CPU counts)",
        "estimate_method": None if gpu else {"launch_seconds_per_operation": LAUNCH_SECONDS, "gpu_flops": GPU_FLOPS},
        "entries": entries,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"step-times-{'gpu' if gpu else 'cpu'}-{result['date']}.json"
    if args.only and out.exists():  # a re-probe of some entries replaces them in the day's result
        earlier = json.loads(out.read_text())
        result["entries"] = {**earlier["entries"], **entries}
        result["git_commit"] = f"{earlier['git_commit']}; re-probed {', '.join(entries)} at {result['git_commit']}"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"Wrote {out}")
    if not args.no_table and args.out.resolve() == RESULTS.resolve():  # results elsewhere leave the table be
        write_table(result)
    return 0


def cpu_rows(smoke: bool = True, only: list[str] | None = None) -> None:
    """The smoke and standard rows of the table, on a CPU: whole notebooks, timed.

    Standard: the median wall time of the recorded claim runs (results/claims-standard-*.json, every notebook
    under nbval). Smoke: every notebook (or those in `only`) run now as a script, one after the other, here.
    """
    import statistics

    table = json.loads(TABLE.read_text()) if TABLE.exists() else {}
    for path in sorted(RESULTS.glob("claims-standard-*.json")):
        claims = json.loads(path.read_text())
        walls: dict[str, list[float]] = {}
        alone: dict[str, list[dict]] = {}
        for run in claims["runs"]:
            walls.setdefault(run["notebook"], []).append(run["wall_seconds"])
            if "alone_seconds" in run:  # benchmarks/chapter_times.py: the estimate of opening it alone
                alone.setdefault(run["notebook"], []).append(run)
        for name, seconds in walls.items():
            row = table.setdefault(name, {}).setdefault("standard", {})["cpu"] = {
                "seconds": round(statistics.median(seconds), 1),
                "source": f"measured on {claims['device']}, {claims['date']}: "
                + (f"median of {len(seconds)} whole runs" if len(seconds) > 1 else "one whole run"),
            }
            if name in alone:
                row["alone_seconds"] = round(statistics.median(r["alone_seconds"] for r in alone[name]), 1)
                row["alone_trains_first"] = alone[name][-1]["alone_trains_first"]
    cores = os.cpu_count()
    for name, path in notebooks().items() if smoke else []:
        if only and name not in only:
            continue
        env = {**os.environ, "GENAI_BUDGET": "smoke", "GENAI_WIDGETS": "off", "GENAI_PROGRESS": "off"}
        with tempfile.TemporaryDirectory() as tmp:
            env["GENAI_CHECKPOINT_DIR"] = tmp
            t0 = time.perf_counter()
            done = subprocess.run(
                [sys.executable, str(Path(__file__).parent / "chapter_script.py"), str(path)],
                env=env,
                cwd=path.parent,
                capture_output=True,
                text=True,
                check=False,
            )
            wall = time.perf_counter() - t0
        if done.returncode:
            raise SystemExit(f"{name} failed at the smoke budget:\n{done.stdout[-2000:]}")
        table.setdefault(name, {}).setdefault("smoke", {})["cpu"] = {
            "seconds": round(wall, 1),
            "source": f"measured on a {cores}-core CPU (load average {os.getloadavg()[0]:.1f}), "
            f"{datetime.date.today().isoformat()}: one whole run",
        }
        print(f"smoke {name}: {wall:.1f} s", flush=True)
    TABLE.write_text(json.dumps(table, indent=2, sort_keys=True) + "\n")
    print(f"Wrote {TABLE}")


def write_table(result: dict) -> None:
    """Rewrite the full-budget rows of genai_lib/expected_times.json from one probe result."""
    table = json.loads(TABLE.read_text()) if TABLE.exists() else {}
    gpu = result["cuda"] is not None
    source = (
        f"measured by benchmarks/probe.py on {result['device']}, {result['date']}"
        if gpu
        else f"estimated for an H100 from FLOP and operation counts on a CPU, {result['date']} (not yet measured)"
    )
    for name, entry in result["entries"].items():
        row = table.setdefault(name, {})
        row.setdefault("full", {})["cuda"] = {
            **entry["estimate"],
            "runs": len(entry["runs"]),
            "source": source,
            "fingerprint": entry["fingerprint"],
        }
    TABLE.write_text(json.dumps(table, indent=2, sort_keys=True) + "\n")
    print(f"Wrote {TABLE}")


if __name__ == "__main__":
    sys.exit(main())
