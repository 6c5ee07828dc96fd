"""What `fit` shows: a progress bar while it trains and a one-line summary when it stops."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from genai_lib import distributed as _dist
from genai_lib.device import Precision
from genai_lib.history import History


class ProgressBar:
    """A tqdm bar over the training steps, on rank 0 only; GENAI_PROGRESS=off hides it, =text forces plain text."""

    def __init__(self, total: int, start: int, *, enabled: bool = True) -> None:
        mode = os.environ.get("GENAI_PROGRESS", "auto").lower()
        self.bar = None
        if not enabled or mode == "off" or total == start or not _dist.is_main():
            return
        if mode == "text":
            from tqdm import tqdm
        else:
            from tqdm.auto import tqdm  # a widget in Jupyter, text in a terminal
        self.bar = tqdm(total=total, initial=start, mininterval=0.5, dynamic_ncols=True)

    def show(self, history: History) -> None:
        """Write the last logged values beside the bar."""
        if self.bar is not None and history.records:
            self.bar.set_postfix({k: f"{v[-1][1]:.4g}" for k, v in history.records.items()}, refresh=False)

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()


def print_summary(
    history: History,
    step: int,
    start: int,
    steps: int,
    device: torch.device,
    precision: Precision,
    ckpt_path: Path | None,
) -> None:
    """One line: where training stopped, how long it took, on what, and the last logged values."""
    if step == start:
        print(f"Already trained: step {step} of {steps} restored from {ckpt_path}.")
        return
    rate = (
        (step - start) / max(history.seconds, 1e-9) if not start else None
    )  # after a resume, seconds count the earlier run too
    values = " | ".join(f"{k} {v[-1][1]:.4g}" for k, v in history.records.items())
    speed = f" ({rate:.1f} steps/s)" if rate else ""
    print(
        f"Trained to step {step} of {steps} in {history.seconds:.1f} s{speed} on "
        f"{device.type}/{precision.name} | {values}"
    )
    if history.interrupted:
        where = f"saved to {ckpt_path}; run again to resume" if ckpt_path else "not saved (no ckpt_path)"
        print(f"Stopped early at step {step}: {where}.")
