"""Benchmark: Part VI (chapters 18 music, 19 sound, 20 video) run whole, its results held against the targets.

Each chapter runs as a script (chapter_script.py, as `make test-gpu` runs it) at --budget with $GENAI_RECORD set, so
that every `gl.record`ed number and every `gl.claim` of the run is kept. The result file lists, per chapter, the
targets of the budget (the minimums at `standard`, the goals at `full`; issue 21 and DESIGN §7), each with the
measured value, the bound and whether it is met, then every recorded number and claim. A chapter that failed a
cell is reported as failed, with the cell; its targets are not judged.

    .venv/bin/python benchmarks/part6.py --budget standard                  # all three, one after the other
    .venv/bin/python benchmarks/part6.py --budget full --chapter 19_sound    # one chapter, on a GPU

--checkpoints DIR starts from the checkpoints already in DIR (chapter 20 loads chapter 7's VQ-VAE, and trains it
first when it is missing).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from common import parser, provenance, save_result

import genai_lib as gl  # after torch, so OpenMP waits as the caller set it (make: genai_lib/__init__.py)

HERE = Path(__file__).resolve().parent
CHAPTERS = {
    "18_music": HERE.parent / "book" / "part6" / "18_music.md",
    "19_sound": HERE.parent / "book" / "part6" / "19_sound.md",
    "20_video": HERE.parent / "book" / "part6" / "20_video.md",
}


@dataclass(frozen=True)
class Target:
    """`value` (a recorded name) compared by `op` with `bound`: a number, or another recorded name."""

    what: str
    value: str
    op: str  # ">=", "<=" or "<"
    bound: float | str

    def judge(self, records: dict[str, float]) -> dict:
        value = records.get(self.value)
        bound = records.get(self.bound) if isinstance(self.bound, str) else self.bound
        if value is None or bound is None:
            missing = self.value if value is None else self.bound
            return {"what": self.what, "met": None, "why": f"the run recorded no {missing!r}"}
        met = {">=": value >= bound, "<=": value <= bound, "<": value < bound}[self.op]
        return {"what": self.what, "value": value, "op": self.op, "bound": bound, "met": bool(met)}


# The minimums at `standard` and the goals at `full` (issue 21; DESIGN §7). `smoke` runs the code and judges nothing.
TARGETS: dict[str, dict[str, list[Target]]] = {
    "18_music": {
        "standard": [
            Target("validation NLL per token below the best n-gram's", "nll_per_token", "<", "nll_best_ngram"),
            Target(
                "copying no longer than held-out Bach's (median longest stretch found in training, beats)",
                "copy_median_beats",
                "<=",
                "copy_median_beats_heldout",
            ),
        ],
        "full": [
            Target("in-key share within the real-vs-real spread (low end)", "in_key", ">=", "in_key_real_min"),
            Target("in-key share within the real-vs-real spread (high end)", "in_key", "<=", "in_key_real_max"),
            Target(
                "pitch-class distance within the real-vs-real spread",
                "pitch_class_distance",
                "<=",
                "pitch_class_distance_real_max",
            ),
        ],
    },
    "19_sound": {
        "standard": [
            Target("WaveNet's notes within 50 cents of the pitch asked", "pitch_correct", ">=", 0.80),
            Target("cached generation's speed-up at batch 1, at the chapter's R", "cache_speedup_batch1", ">=", 20.0),
        ],
        "full": [
            Target("WaveNet's notes within 50 cents of the pitch asked", "pitch_correct", ">=", 0.95),
            Target("text to sound: the instrument asked, seen captions", "instrument_seen", ">=", 0.95),
        ],
    },
    "20_video": {
        "standard": [
            Target("direction right, seen captions", "direction_seen", ">=", 0.80),
            Target("colour right, seen captions", "colour_seen", ">=", 0.80),
        ],
        "full": [
            Target("exact match, seen captions", "exact_seen", ">=", 0.90),
            Target("exact match, held-out captions", "exact_held_out", ">=", 0.60),
            Target("temporal consistency, seen captions", "consistent_seen", ">=", 0.95),
        ],
    },
}


def run_chapter(name: str, budget: str, checkpoints: Path) -> dict:
    """Run one chapter as a script with $GENAI_RECORD set; its report, records and claims."""
    with tempfile.TemporaryDirectory() as tmp:
        record, report = Path(tmp) / "record.jsonl", Path(tmp) / "report.json"
        env = {
            **os.environ,
            "GENAI_BUDGET": budget,
            "GENAI_RECORD": str(record),
            "GENAI_CHECKPOINT_DIR": str(checkpoints),
            "GENAI_WIDGETS": "off",
            "GENAI_PROGRESS": "off",
        }
        command = [sys.executable, str(HERE / "chapter_script.py"), "--json", str(report), str(CHAPTERS[name])]
        start = time.perf_counter()
        code = subprocess.run(command, env=env, cwd=CHAPTERS[name].parent, check=False).returncode
        seconds = time.perf_counter() - start
        lines = [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []
        cells = json.loads(report.read_text())[0] if report.exists() else {}
    failed = [c for c in cells.get("cells", []) if not c.get("ok", True)]
    records = {e["record"]: e["value"] for e in lines if "record" in e}
    return {
        "ok": code == 0,
        "seconds": round(seconds, 1),
        "failed_cell": failed[0] if failed else None,
        "records": records,
        "record_details": {
            e["record"]: {k: v for k, v in e.items() if k not in ("record", "value")} for e in lines if "record" in e
        },
        "claims": [e for e in lines if "claim" in e],
    }


def run(budget: str, out_dir: Path, names: list[str] | None = None, checkpoints: Path | None = None) -> dict:
    """Run the named chapters (default: all three) at `budget`, judge their targets, and write the result file."""
    session = gl.setup(0, quiet=True)  # where the chapters will run: the same device and precision
    names = sorted(names or CHAPTERS)
    with tempfile.TemporaryDirectory() as tmp:
        chapters = {}
        for name in names:
            print(f"part6: running {name} at {budget}", flush=True)
            ran = run_chapter(name, budget, checkpoints or Path(tmp))
            targets = [t.judge(ran["records"]) for t in TARGETS[name].get(budget, [])] if ran["ok"] else []
            chapters[name] = {"targets": targets, **ran}
    result = {
        "benchmark": "part6",
        "budget": budget,
        **provenance(session.device, session.precision),
        "what": "chapters 18-20 run whole as scripts (benchmarks/chapter_script.py); targets of issue 21 and DESIGN §7",
        "checkpoints_reused": checkpoints is not None,
        "chapters": chapters,
        "targets_met": {n: [t["met"] for t in c["targets"]] for n, c in chapters.items()},
    }
    suffix = "" if len(names) == len(CHAPTERS) else "-" + "-".join(names)
    shown = {n: {"ok": c["ok"], "seconds": c["seconds"], "targets": c["targets"]} for n, c in chapters.items()}
    save_result(result, out_dir, f"part6-{budget}-{session.device.type}{suffix}", shown=shown)
    return result


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--chapter", choices=sorted(CHAPTERS), action="append", help="default: all three")
    p.add_argument("--checkpoints", type=Path, default=None, help="start from the checkpoints in this folder")
    args = p.parse_args()
    result = run(args.budget or gl.get_budget(), args.out, args.chapter, args.checkpoints)
    if not all(c["ok"] for c in result["chapters"].values()):
        raise SystemExit("part6: a chapter failed; its failing cell is in the result file")


if __name__ == "__main__":
    main()
