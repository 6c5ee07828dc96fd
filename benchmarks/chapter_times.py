"""Chapter times: notebooks run in book order under nbval, sharing one fresh checkpoint folder, each timed.

Every notebook runs as `make test` runs it (pytest --nbval-lax) at --budget with GENAI_SEED=--seed; gl.claim
raises at `standard`, so a run whose cells all pass has every claim true. After each notebook the script reads
the training seconds of the checkpoints it created (the History saved in each). A chapter that loads earlier
chapters' models (NEEDS) trains them itself when opened alone; its `alone_seconds` is its own wall time plus
the recorded training seconds of those checkpoints: an estimate, labelled so. The result is a
claims-standard file that `probe.py --cpu-rows` turns into the banners' standard rows.

    .venv/bin/python benchmarks/chapter_times.py 13_text_to_image 14_autoregressive_t2i 15_evaluating_t2i
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from common import git_commit, parser

# The checkpoint-name prefixes a chapter loads from earlier chapters (and trains first when they are missing).
NEEDS = {
    "13_text_to_image": {"t2i-vqvae-": "chapter 7's VQ-VAE of shapes"},
    "20_video": {"t2i-vqvae-": "chapter 7's VQ-VAE of shapes"},
    "14_autoregressive_t2i": {"t2i-vqvae-": "chapter 7's VQ-VAE of shapes"},
    "15_evaluating_t2i": {
        "t2i-vqvae-": "chapter 7's VQ-VAE of shapes",
        "t2i-latent-diffusion-": "chapter 13's latent diffusion model",
        "t2i-ar-": "chapter 14's GPT",
    },
}
ROOT = Path(__file__).resolve().parents[1]
BUDGET_SECONDS = 300  # a chapter at the standard budget on 2 CPU cores (issue 23, "the book's clock")


def training_seconds(path: Path) -> float:
    """The seconds of training recorded in a checkpoint's History (0 if it has none)."""
    saved = torch.load(path, map_location="cpu", weights_only=False)
    return float((saved.get("history") or {}).get("seconds", 0.0))


def run(names: list[str], budget: str, seed: int, out: Path, tag: str, reuse: Path | None = None) -> dict:
    """Run the notebooks in order in one checkpoint folder; write and return the claims-style record.

    With `reuse`, the folder starts with the checkpoints found there, as if the notebooks that train them had
    run first (their recorded training seconds still count towards alone_seconds).
    """
    runs, created = [], {}  # created: checkpoint name -> training seconds
    with tempfile.TemporaryDirectory() as checkpoints:
        for path in sorted(reuse.glob(f"*-{budget}.pt")) if reuse else []:
            shutil.copy(path, checkpoints)
            created[path.stem] = training_seconds(path)
        reused = sorted(created)
        env = {**os.environ, "GENAI_BUDGET": budget, "GENAI_SEED": str(seed), "GENAI_WIDGETS": "off",
               "GENAI_PROGRESS": "off", "GENAI_CHECKPOINT_DIR": checkpoints}  # fmt: skip
        for name in names:
            notebook = next(ROOT.glob(f"book/*/{name}.ipynb"))
            before, earlier = set(Path(checkpoints).glob("*.pt")), dict(created)
            t0 = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "--nbval-lax", "--nbval-current-env", str(notebook)],
                env=env, cwd=ROOT, capture_output=True, text=True, check=False,
            )  # fmt: skip
            wall = time.perf_counter() - t0
            for path in sorted(set(Path(checkpoints).glob("*.pt")) - before):
                created[path.stem] = training_seconds(path)
            summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-300:]
            row = {"notebook": name, "seed": seed, "all_cells_passed": done.returncode == 0, "cells": summary,
                   "wall_seconds": round(wall, 1)}  # fmt: skip
            if done.returncode != 0:  # which cell and claim failed: kept, since the checkpoints are not
                row["failure"] = [line for line in done.stdout.splitlines() if "Error" in line][-6:]
            needs = NEEDS.get(name, {})
            needed = {what: s for c, s in earlier.items() for prefix, what in needs.items() if c.startswith(prefix)}
            if needed:
                row["alone_seconds"] = round(wall + sum(needed.values()), 1)
                row["alone_trains_first"] = [what for what in needs.values() if what in needed]
            runs.append(row)
            print(json.dumps(row), flush=True)
    result = {
        "what": f"notebooks at GENAI_BUDGET={budget} under nbval (--nbval-lax), in book order, one fresh "
        "checkpoint folder; alone_seconds = wall + recorded training seconds of the earlier chapters' "
        "checkpoints the notebook loads (an estimate of opening it alone)",
        "command": "benchmarks/chapter_times.py " + " ".join(names) + (f" --reuse {reuse}" if reuse else ""),
        "reused": reused,
        "commit": git_commit(),
        "torch": torch.__version__,
        "device": f"cpu, {os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f} at the end)",
        "date": datetime.date.today().isoformat(),
        "runs": runs,
        # the book's clock: every chapter within 5 minutes at standard on 2 cores
        "over_budget": [r["notebook"] for r in runs if r["wall_seconds"] > BUDGET_SECONDS],
    }
    for name in result["over_budget"]:
        print(f"OVER BUDGET: {name} took more than {BUDGET_SECONDS} s", flush=True)
    path = out / f"claims-{budget}-{result['date']}_{tag}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"Wrote {path}")
    return result


if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("names", nargs="+", help="notebook stems, in book order")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tag", default="times", help="the result file's suffix")
    p.add_argument("--reuse", type=Path, help="a folder of checkpoints the first notebooks would have trained")
    a = p.parse_args()
    run(a.names, a.budget or "standard", a.seed, a.out, a.tag, a.reuse)
