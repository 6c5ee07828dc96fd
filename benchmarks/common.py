"""What every benchmark shares: the command line (--budget, --out) and how a result file is written."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import genai_lib as gl

RESULTS = Path(__file__).parent / "results"


def parser(description: str | None) -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark takes; a script adds its own."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budget", choices=gl.config.BUDGETS, default=None, help="default: $GENAI_BUDGET")
    p.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON result")
    return p


def save_result(result: dict, out_dir: Path, name: str, *, shown: dict | None = None) -> Path:
    """Write `result` to out_dir/name.json and print it (or the shorter `shown`)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result if shown is None else shown, indent=2))
    print(f"Wrote {path}")
    return path
