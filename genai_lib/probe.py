"""Step-time probe: with $GENAI_PROBE set, `fit` times a few steps of each run, records them and stops.

A chapter's full budget trains for tens of thousands of steps; how long that takes on a given device
is (steps) x (seconds per step) plus what the chapter does besides training. The probe measures the
second factor without paying the first: every `fit` call runs `warmup + timed` steps instead of its
planned `config.steps`, appends one JSON line to the file $GENAI_PROBE names, and returns as if it had
finished (a chunked run, trained by several calls that resume each other, plans only what each call adds).
The line holds the planned steps, the seconds per timed step, and the FLOPs and the number of
tensor operations of one step (counted on the first step), which is what an estimate for a device we
have not measured is computed from (benchmarks/probe.py). Claims only warn: a probed model is untrained.

A probed run saves its checkpoint as if it had finished, so that the chapter's next cell finds it, but
only inside $GENAI_CHECKPOINT_DIR, which benchmarks/probe.py points at a temporary folder: a reader's own
checkpoints are never replaced by untrained ones.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from torch.utils import flop_counter
from torch.utils._python_dispatch import TorchDispatchMode

from genai_lib import device as _device


def active() -> bool:
    """Whether $GENAI_PROBE asks `fit` to time steps instead of training."""
    return bool(os.environ.get("GENAI_PROBE", "").strip())


def skips_evaluation() -> bool:
    """Whether a probe run leaves out evaluations (GENAI_PROBE_EVAL=0): a full-size one takes a CPU many minutes.

    `fit` then skips its `evaluate`, and a benchmark stops once it has trained.
    """
    return active() and os.environ.get("GENAI_PROBE_EVAL", "1").strip() == "0"


def _env_int(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a whole number of steps; unset it or use e.g. 20.") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}.")
    return value


@dataclass
class ProbeRecord:
    """One probed `fit` call: which run, how many steps it planned, and what one step costs."""

    label: str
    run: int
    cell: int | None  # the notebook cell that trained it, when benchmarks/chapter_script.py runs the notebook
    planned_steps: int
    timed_steps: int
    seconds_per_step: float
    flops_per_step: int
    ops_per_step: int
    parameters: int
    device: str
    precision: str
    evaluations: int = 0  # how many times the planned run would call its `evaluate`
    seconds_per_evaluation: float = 0.0
    flops_per_evaluation: int = 0
    ops_per_evaluation: int = 0


# FLOP formulas of the aten operations that do arithmetic worth counting (matrix products, convolutions,
# attention), the table torch's FlopCounterMode reads; used directly, without that mode's module hooks,
# which autograd.grad (a gradient penalty, say) does not allow.
_FLOPS = getattr(flop_counter, "flop_registry", {})


class Counters(TorchDispatchMode):
    """FLOPs and tensor operations of the code run inside it: `with Counters() as c: ...; c.flops, c.ops`.

    Every operation that reaches the dispatcher counts once: on a GPU each is about one kernel launch.
    """

    def __init__(self) -> None:
        super().__init__()
        self.flops = self.ops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        self.ops += 1
        formula = _FLOPS.get(func.overloadpacket)
        if formula is not None:
            self.flops += int(formula(*args, **kwargs, out_val=out))
        return out


def allowed_checkpoint(path: Path | None) -> Path | None:
    """`path`, unless a probe run may not write there (then None: the run neither resumes nor saves)."""
    return path if not active() or may_save(path) else None


def may_save(path: Path | None) -> bool:
    """Whether a probed run may write its (untrained) checkpoint at `path`: only inside $GENAI_CHECKPOINT_DIR."""
    folder = os.environ.get("GENAI_CHECKPOINT_DIR", "").strip()
    if path is None or not folder:
        return False
    return Path(path).resolve().is_relative_to(Path(folder).expanduser().resolve())


class Probe:
    """Times steps `warmup + 1 .. warmup + timed` of one `fit` call and appends a ProbeRecord to $GENAI_PROBE."""

    def __init__(self, start: int, steps: int, device: torch.device, precision: _device.Precision) -> None:
        self.path = Path(os.environ["GENAI_PROBE"]).expanduser()
        self.timed = _env_int("GENAI_PROBE_STEPS", 50)
        self.planned_steps = steps - start  # what this call adds to a resumed run
        self.device, self.precision = device, precision
        # Runs shorter than the probe are timed over what they have (at least one step after one warm-up).
        self.warmup = min(_env_int("GENAI_PROBE_WARMUP", 3, minimum=0), max(self.planned_steps - 1, 0))
        self.start = start
        self.evaluating = not skips_evaluation()
        self.end = start + min(self.planned_steps, self.warmup + self.timed)
        self.flops = self.ops = 0
        self._t0 = self._t1 = 0.0
        self.evaluations, self.eval_seconds, self.eval_flops, self.eval_ops = 0, 0.0, 0, 0

    @contextmanager
    def around(self, step: int) -> Iterator[None]:
        """Wrap one step: the first is counted (FLOPs and operations), the timed ones are clocked."""
        if step == self.start + self.warmup:
            _device.synchronize(self.device)
            self._t0 = time.perf_counter()
        if step == self.start:
            with Counters() as counted:
                yield
            self.flops, self.ops = counted.flops, counted.ops
        else:
            yield
        if step == self.end - 1:
            _device.synchronize(self.device)
            self._t1 = time.perf_counter()

    def evaluate(self, evaluate: Callable[[], Mapping[str, float]], eval_every: int | None) -> Mapping[str, float]:
        """Run `evaluate` once, timed and counted, noting how often the planned run would call it."""
        with Counters() as counted:
            evaluate()
        _device.synchronize(self.device)
        t0 = time.perf_counter()
        result = evaluate()
        _device.synchronize(self.device)
        self.eval_seconds = time.perf_counter() - t0
        self.eval_flops, self.eval_ops = counted.flops, counted.ops
        self.evaluations = (self.planned_steps // eval_every if eval_every else 0) + 1  # and one at the end
        return result

    def record(self, models: Mapping[str, nn.Module]) -> ProbeRecord:
        """Append this run's record to $GENAI_PROBE (one JSON line) and print it."""
        label = os.environ.get("GENAI_PROBE_LABEL", "") or "unlabelled"
        earlier = self.path.read_text().splitlines() if self.path.exists() else []
        run = sum(1 for line in earlier if line.strip() and json.loads(line)["label"] == label)
        timed = self.end - self.start - self.warmup
        record = ProbeRecord(
            label=label,
            run=run,
            cell=int(os.environ["GENAI_CELL"]) if os.environ.get("GENAI_CELL", "").isdigit() else None,
            planned_steps=self.planned_steps,
            timed_steps=timed,
            seconds_per_step=(self._t1 - self._t0) / timed if timed else 0.0,
            flops_per_step=self.flops,
            ops_per_step=self.ops,
            parameters=sum(p.numel() for m in models.values() for p in m.parameters()),
            device=_device.describe(self.device),
            precision=self.precision.name,
            evaluations=self.evaluations,
            seconds_per_evaluation=self.eval_seconds,
            flops_per_evaluation=self.eval_flops,
            ops_per_evaluation=self.eval_ops,
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(json.dumps(asdict(record)) + "\n")
        print(
            f"probe: {label} run {run}: {record.seconds_per_step * 1e3:.2f} ms/step over {timed} steps, "
            f"{self.planned_steps:,} planned; {record.flops_per_step / 1e9:.3g} GFLOP and "
            f"{record.ops_per_step:,} operations per step"
        )
        return record
