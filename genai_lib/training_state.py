"""A training run's checkpoint: everything `fit` changes while it trains, saved together and restored together.

Weights alone would resume a different run: the optimizer's moments, the learning-rate schedule, the
loss scale, the random streams, the position in the data and the values not yet logged all go into
one file (written atomically by `genai_lib.checkpoint`), so that a resumed run on CPU with a fixed seed
ends bit-identical to an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from genai_lib import distributed as _dist
from genai_lib.batch_source import BatchSource
from genai_lib.checkpoint import atomic_save, check_compatible, model_record, safe_load
from genai_lib.device import unwrap
from genai_lib.history import History, RunningMeans
from genai_lib.rng import rng_state, set_rng_state


@dataclass
class TrainingState:
    """The state of a training run that a checkpoint holds (format 1)."""

    models: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    schedulers: dict[str, Any]
    scaler: torch.amp.GradScaler
    data: BatchSource
    history: History
    pending: RunningMeans  # values logged by the steps since the last line of the history

    def state_dict(self, step: int) -> dict[str, Any]:
        return {
            "format": 1,
            "step": step,
            "models": {name: model_record(m) for name, m in self.models.items()},
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
            "schedulers": {name: s.state_dict() for name, s in self.schedulers.items()},
            "scaler": self.scaler.state_dict(),
            "rng": rng_state(),
            "data": self.data.state_dict(),
            "history": self.history.state_dict(),
            "pending": self.pending.state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> int:
        """Restore everything from a checkpoint of the same set-up; returns its step."""
        for kind, mine in (("models", self.models), ("optimizers", self.optimizers)):
            if set(state[kind]) != set(mine):
                raise ValueError(
                    f"The checkpoint has {kind} {sorted(state[kind])}, this run has {sorted(mine)}. "
                    "Use another ckpt_path for a different set-up."
                )
        for name, model in self.models.items():
            check_compatible(model, state["models"][name], name=name)
            unwrap(model).load_state_dict(state["models"][name]["state_dict"])
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
        for name, sched in self.schedulers.items():
            if name in state["schedulers"]:
                sched.load_state_dict(state["schedulers"][name])
        if state["scaler"]:  # empty when saved without fp16 (CPU, bf16): the fresh scaler is right then
            self.scaler.load_state_dict(state["scaler"])
        set_rng_state(state["rng"])
        self.data.load_state_dict(state["data"])
        self.history.load_state_dict(state["history"])
        self.pending.load_state_dict(state["pending"])
        return int(state["step"])

    def save(self, path: Path, step: int) -> None:
        """Write the checkpoint (rank 0 only), after checking that no value waiting to be logged went NaN."""
        self.pending.finite_means(step, path)  # never checkpoint weights that have gone NaN
        if _dist.is_main():
            atomic_save(self.state_dict(step), path)

    def resume(self, path: Path, steps: int) -> int:
        """Restore the checkpoint at `path` if there is one; returns the step to train from (0 without one)."""
        if not path.exists():
            return 0
        state = safe_load(path)
        if int(state["step"]) > steps:
            raise ValueError(
                f"The checkpoint {path} is at step {state['step']}, beyond steps={steps}. "
                "Ask for at least that many steps, or use another ckpt_path to train afresh."
            )
        start = self.load_state_dict(state)
        if start < steps and _dist.is_main():
            print(f"Resuming from {path} at step {start} of {steps}.")
        return start
