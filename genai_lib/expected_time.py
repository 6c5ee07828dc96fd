"""How long a chapter takes at a budget on a kind of device, as recorded in genai_lib/expected_times.json.

The table is written by benchmarks/probe.py, never by hand: the `full` rows from the step-time probe
(measured on a GPU, or estimated from a CPU's FLOP and operation counts, and then labelled so), the
`smoke` and `standard` rows from whole runs of each notebook on a 2-core CPU. A chapter's banner
(`gl.setup(chapter=...)`) prints its row for the active budget and device.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import torch

TABLE = Path(__file__).with_name("expected_times.json")


@cache
def table() -> dict[str, Any]:
    """The whole table: chapter -> budget -> device kind ('cpu', 'cuda', 'mps') -> {seconds, source, ...}."""
    return json.loads(TABLE.read_text()) if TABLE.exists() else {}


def device_kind(device: torch.device) -> str:
    """The column of the table a device reads: the pseudo device runs on the CPU, so it reads 'cpu'."""
    return device.type if device.type in {"cuda", "mps"} else "cpu"


def minutes(seconds: float) -> str:
    """A duration as a reader would say it: '40 s', 'about 3 min', 'about 1.5 h'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"about {seconds / 60:.0f} min"
    return f"about {seconds / 3600:.1f} h"


def expected(chapter: str, budget: str, device: torch.device) -> str:
    """One line for the banner: how long `chapter` takes at `budget` on this kind of device, and how we know."""
    kind = device_kind(device)
    row = table().get(chapter, {}).get(budget, {}).get(kind)
    if row is None:
        return f"expected time: not recorded for the {budget} budget on {kind}"
    if row.get("runs") == 0 and row.get("covers") == "training only":
        return f"expected time: not estimated (the chapter trains nothing that `fit` times; {row['source']})"
    covers = "" if row.get("covers", "").startswith("training and") or "covers" not in row else f", {row['covers']}"
    line = f"expected time: {minutes(row['seconds'])} ({row['source']}{covers})"
    if "alone_seconds" in row:  # the chapter loads earlier chapters' models, and trains them when they are missing
        models = ", ".join(row.get("alone_trains_first", [])) or "earlier chapters' models"
        line += (
            f" with the earlier chapters' checkpoints here; opened on its own, it first trains {models}: "
            f"{minutes(row['alone_seconds'])} (estimated: this time plus their recorded training time)"
        )
    return line
