"""Every full budget fits a GPU slot: its time, computed from the recorded step-time probe, is at most 8 minutes.

The estimates live in genai_lib/expected_times.json (the chapters' banners read it) and come from the
newest probe result in benchmarks/results/step-times-*.json (benchmarks/probe.py). These tests hold the
table to that result, the result to the notebooks' current full budgets, and every estimate to 8 minutes.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import probe  # noqa: E402

TABLE = json.loads(probe.TABLE.read_text()) if probe.TABLE.exists() else {}
CHAPTERS = subprocess.run(
    [sys.executable, str(ROOT / "book" / "chapters.py"), "--chapters"], capture_output=True, text=True, check=True
).stdout.split()
PATHS = {Path(p).stem: ROOT / p for p in CHAPTERS}
NAMES = list(PATHS) + list(probe.BENCHMARKS)


def newest_probe() -> dict:
    """The newest recorded probe: a GPU measurement when there is one, else the CPU-derived estimate."""
    results = [json.loads(p.read_text()) for p in probe.RESULTS.glob("step-times-*.json")]
    assert results, "no probe result in benchmarks/results: run `make probe`"
    return max(results, key=lambda r: (r["cuda"] is not None, r["date"]))


def full_row(name: str) -> dict:
    row = TABLE.get(name, {}).get("full", {}).get("cuda")
    assert row is not None, f"{name} has no full-budget estimate in {probe.TABLE.name}: run `make probe`"
    return row


@pytest.mark.parametrize("name", NAMES)
def test_each_full_budget_fits_eight_minutes_on_one_h100(name):
    row = full_row(name)
    assert row["seconds"] <= probe.FULL_BUDGET_SECONDS, (
        f"{name}'s full budget needs about {row['seconds'] / 60:.1f} min on one H100 ({row['source']}), more than "
        f"the {probe.FULL_BUDGET_SECONDS // 60} min a GPU slot allows: make it smaller (DESIGN.md §3)"
    )


@pytest.mark.parametrize("name", NAMES)
def test_each_estimate_is_up_to_date_with_the_full_budget_it_times(name):
    now = probe.notebook_fingerprint(PATHS[name]) if name in PATHS else probe.benchmark_fingerprint(name)
    assert full_row(name)["fingerprint"] == now, (
        f"{name}'s full budget changed since it was probed: run `make probe` (or, on a GPU, `make test-gpu`)"
    )


def test_the_table_is_computed_from_the_newest_probe_and_that_probe_saw_every_run():
    result = newest_probe()
    measured = result["cuda"] is not None
    for name in NAMES:
        entry = result["entries"].get(name)
        assert entry is not None, f"the newest probe ({result['date']}) did not run {name}"
        assert not entry.get("stopped"), f"the probe of {name} was {entry['stopped']}: its later runs were not timed"
        assert entry["fingerprint"] == full_row(name)["fingerprint"]
        assert probe.estimate(entry, measured=measured)["seconds"] == full_row(name)["seconds"]


def test_the_estimate_adds_each_runs_steps_and_evaluations():
    record = dict(
        planned_steps=1_000,
        seconds_per_step=0.01,
        evaluations=11,
        seconds_per_evaluation=0.5,
        ops_per_step=400,
        flops_per_step=3e9,
        ops_per_evaluation=100,
        flops_per_evaluation=0,
    )
    entry = {"runs": [record, {**record, "planned_steps": 0, "evaluations": 0}], "other_seconds": 7.0}
    assert probe.estimate(entry, measured=True)["seconds"] == pytest.approx(1_000 * 0.01 + 11 * 0.5 + 7.0)
    guess = 1_000 * (400 * probe.LAUNCH_SECONDS + 3e9 / probe.GPU_FLOPS) + 11 * 100 * probe.LAUNCH_SECONDS
    assert probe.estimate(entry, measured=False)["seconds"] == pytest.approx(guess, abs=0.05)
    assert probe.estimate(entry, measured=False)["covers"] == "training only"


def test_the_fingerprint_follows_the_budgets_values_not_their_layout(tmp_path):
    def notebook(full: str) -> Path:
        path = tmp_path / "nb.md"
        path.write_text(f"# t\n\n```{{code-cell}} ipython3\ncfg = gl.budget(smoke=dict(steps=1), full={full})\n```\n")
        return path

    before = probe.notebook_fingerprint(notebook("dict(steps=6_000, batch_size=512)"))
    assert probe.notebook_fingerprint(notebook("dict(steps=6_000,  # a GPU slot\n  batch_size=512)")) == before
    assert probe.notebook_fingerprint(notebook("dict(steps=7_000, batch_size=512)")) != before


def test_the_fingerprint_follows_the_text_to_image_full_preset_and_no_other(tmp_path, monkeypatch):
    from genai_lib import text_to_image_config as t2c

    path = tmp_path / "nb.md"
    path.write_text("# t\n\n```{code-cell} ipython3\ntcfg = t2i.preset(gl.get_budget())\n```\n")
    before = (probe.notebook_fingerprint(path), probe.benchmark_fingerprint("text_to_image"))
    monkeypatch.setitem(t2c.PRESETS, "standard", {**t2c.PRESETS["standard"], "diffusion_steps": 1})
    assert (probe.notebook_fingerprint(path), probe.benchmark_fingerprint("text_to_image")) == before
    monkeypatch.setitem(t2c.PRESETS, "full", {**t2c.PRESETS["full"], "diffusion_steps": 1})
    after = (probe.notebook_fingerprint(path), probe.benchmark_fingerprint("text_to_image"))
    assert after[0] != before[0] and after[1] != before[1]
