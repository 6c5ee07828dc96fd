"""What training logs: `History` holds values against steps; `RunningMeans` averages them between two logs."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from genai_lib import distributed as _dist


class History:
    """Logged values over training: `history['loss']` are the values, `history.steps('loss')` their steps."""

    def __init__(self) -> None:
        self.records: dict[str, list[tuple[int, float]]] = {}
        self.interrupted = False
        self.seconds = 0.0

    def log(self, step: int, values: Mapping[str, float]) -> None:
        for key, value in values.items():
            self.records.setdefault(key, []).append((step, float(value)))

    def __getitem__(self, key: str) -> list[float]:
        if key not in self.records:
            raise KeyError(f"Nothing was logged under {key!r}; logged keys are {sorted(self.records)}.")
        return [v for _, v in self.records[key]]

    def __contains__(self, key: str) -> bool:
        return key in self.records

    def steps(self, key: str) -> list[int]:
        self[key]  # same error for an unknown key
        return [s for s, _ in self.records[key]]

    def last(self, key: str) -> float:
        return self[key][-1]

    def keys(self) -> list[str]:
        return list(self.records)

    def state_dict(self) -> dict[str, Any]:
        return {"records": {k: list(v) for k, v in self.records.items()}, "seconds": self.seconds}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.records = {k: [tuple(p) for p in v] for k, v in state["records"].items()}
        self.seconds = float(state.get("seconds", 0.0))

    def __repr__(self) -> str:
        last = ", ".join(f"{k}={v[-1][1]:.4g}" for k, v in self.records.items())
        return f"History({last})"


class RunningMeans:
    """The values a step function returns, kept until they are logged, then averaged (and checked)."""

    def __init__(self) -> None:
        self.values: dict[str, list[torch.Tensor | float]] = {}
        self.count = 0

    def add(self, logs: Mapping[str, Any]) -> None:
        for key, value in logs.items():
            # Kept detached and summed when logged: no GPU sync, and no tensor op in the step's own time.
            self.values.setdefault(key, []).append(value.detach() if isinstance(value, torch.Tensor) else float(value))
        self.count += 1

    def sums(self) -> dict[str, float]:
        """The sum of each key's values since the last log (one device sync per key)."""
        return {key: _sum(_floats(key, values)) for key, values in self.values.items()}

    def finite_means(self, step: int, ckpt_path: Path | None = None) -> dict[str, float]:
        """The means since the last log, over all ranks; FloatingPointError, with advice, if one is NaN or inf."""
        means = _dist.average_scalars({k: v / self.count for k, v in self.sums().items()})
        bad = [k for k, v in means.items() if not math.isfinite(v)]
        if bad:
            where = f" The last good checkpoint is {ckpt_path}." if ckpt_path and ckpt_path.exists() else ""
            raise FloatingPointError(
                f"{', '.join(bad)} became {means[bad[0]]} between steps {step - self.count + 1} and {step}. "
                f"Lower the learning rate, keep gradient clipping on, or look for bad inputs.{where}"
            )
        return means

    def log_to(self, history: History, step: int, ckpt_path: Path | None = None) -> None:
        """Write the means into `history` at `step` and start afresh (nothing to write if nothing was added)."""
        if self.count:
            history.log(step, self.finite_means(step, ckpt_path))
            self.clear()

    def clear(self) -> None:
        self.values, self.count = {}, 0

    def state_dict(self) -> dict[str, Any]:
        # The values, not their sums: a resumed run then logs exactly what an uninterrupted one does.
        return {"values": {k: _floats(k, v) for k, v in self.values.items()}, "count": self.count}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if "values" in state:
            self.values = {k: [float(x) for x in v] for k, v in state["values"].items()}
        else:  # a checkpoint from an earlier genai_lib kept sums; a sum is one value to add to
            self.values = {k: [float(v)] for k, v in state["sums"].items()}
        self.count = int(state["count"])


def _floats(key: str, values: list[torch.Tensor | float]) -> list[float]:
    """The values as Python floats, in order; the tensors among them are fetched from their device in one copy."""
    tensors = [v for v in values if isinstance(v, torch.Tensor)]
    if any(t.numel() != 1 for t in tensors):
        shape = next(tuple(t.shape) for t in tensors if t.numel() != 1)
        raise ValueError(f"The step function logged {key!r} with shape {shape}; log one number per key (e.g. .mean()).")
    fetched = iter(torch.stack([t.float().reshape(()) for t in tensors]).cpu().tolist() if tensors else [])
    return [next(fetched) if isinstance(v, torch.Tensor) else v for v in values]


def _sum(xs: list[float]) -> float:
    """The correctly rounded sum (math.fsum): the order of the values cannot change it. NaN and inf pass through."""
    return math.fsum(xs) if all(map(math.isfinite, xs)) else sum(xs)
