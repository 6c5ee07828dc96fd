"""One training loop for every model family: device, precision, clipping, logging, checkpoints, resume."""

from __future__ import annotations

import math
import os
import random
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from genai_lib import device as _device
from genai_lib import distributed as _dist
from genai_lib.checkpoint import atomic_save, check_compatible, model_record, safe_load
from genai_lib.device import unwrap

Batch = Any
StepFn = Callable[[Batch, "StepContext"], Mapping[str, Any]]


@dataclass
class TrainConfig:
    """How long to train and how to log, clip and checkpoint; the model's own settings live elsewhere."""

    steps: int
    grad_clip: float | None = 1.0
    log_every: int = 10
    eval_every: int | None = None
    ckpt_every: int | None = None
    ckpt_path: str | None = None
    resume: bool = True
    precision: str = "auto"
    device: str | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        if self.steps < 0:
            raise ValueError(f"steps must be >= 0, got {self.steps}.")
        if self.log_every < 1:
            raise ValueError(f"log_every must be >= 1, got {self.log_every}.")
        if self.ckpt_every is not None and not self.ckpt_path:
            raise ValueError("ckpt_every is set but ckpt_path is not: say where checkpoints should go.")


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


class StepContext:
    """What a step function gets besides its batch: autocast, `update(loss, optimizer)` and the step number."""

    def __init__(self, *, optimizers: dict[str, torch.optim.Optimizer], scaler: torch.amp.GradScaler,
                 device: torch.device, precision: _device.Precision, grad_clip: float | None) -> None:
        self.optimizers = optimizers
        self.scaler = scaler
        self.device = device
        self.precision = precision
        self.grad_clip = grad_clip
        self.step = 0
        self.stepped: set[str] = set()  # optimizers stepped since the scaler's last update

    def autocast(self):
        """Run the forward pass inside this: bf16/fp16 on GPUs that support it, nothing on CPU."""
        return _device.autocast(self.device, self.precision)

    def update(self, loss: torch.Tensor, optimizer: str | None = None) -> torch.Tensor | None:
        """Backpropagate `loss` and step one optimizer (scaled, unscaled, clipped); returns the grad norm."""
        name = self._name(optimizer)
        if name in self.stepped and self.scaler.is_enabled():
            # A second update of one optimizer within a step (several critic updates, say): the fp16 scaler
            # must close the first before it can unscale this one.
            self.scaler.update()
            self.stepped.clear()
        self.stepped.add(name)
        opt = self.optimizers[name]
        opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        params = [p for group in opt.param_groups for p in group["params"]]
        _dist.average_gradients(params)  # under torchrun: every rank now holds the global batch's gradient
        norm = None
        if self.grad_clip is not None:
            self.scaler.unscale_(opt)  # clip the true gradients, not the scaled ones
            norm = nn.utils.clip_grad_norm_(params, self.grad_clip)
        self.scaler.step(opt)
        return norm

    def _name(self, optimizer: str | None) -> str:
        if optimizer is None:
            if len(self.optimizers) != 1:
                raise ValueError(f"Several optimizers ({sorted(self.optimizers)}): name one in ctx.update(loss, name).")
            return next(iter(self.optimizers))
        if optimizer not in self.optimizers:
            raise KeyError(f"No optimizer named {optimizer!r}; fit was given {sorted(self.optimizers)}.")
        return optimizer


# ----- random state, so that a resumed run continues the same random stream -----------------------

def rng_state() -> dict[str, Any]:
    """Python, NumPy, torch CPU and CUDA generator states, in types `weights_only` loading accepts."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": pos,
                  "has_gauss": has_gauss, "gauss": gauss},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# ----- batches ----------------------------------------------------------------------------------------

def _to_device(batch: Batch, device: torch.device) -> Batch:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(b, device) for b in batch)
    if isinstance(batch, Mapping):
        return {k: _to_device(v, device) for k, v in batch.items()}
    return batch


class _BatchSource:
    """Draws batches from a callable, an iterator with state (exact resume) or any iterable (cycled)."""

    def __init__(self, data: Callable[[], Batch] | Iterable[Batch]) -> None:
        self.data = data
        self._it = None

    def next(self) -> Batch:
        if callable(self.data) and not hasattr(self.data, "__next__") and not hasattr(self.data, "__iter__"):
            return self.data()
        if hasattr(self.data, "__next__"):
            return next(self.data)
        if self._it is None:
            self._it = iter(self.data)
        try:
            return next(self._it)
        except StopIteration:  # an epoch ended: start the next one
            self._it = iter(self.data)
            try:
                return next(self._it)
            except StopIteration:
                raise ValueError("The data iterable is empty: fit has nothing to train on.") from None

    def state_dict(self) -> dict | None:
        return self.data.state_dict() if hasattr(self.data, "state_dict") else None

    def load_state_dict(self, state: dict | None) -> None:
        if state is not None and hasattr(self.data, "load_state_dict"):
            self.data.load_state_dict(state)
        elif not callable(self.data) or hasattr(self.data, "__iter__"):
            print("Note: this data iterable has no state_dict, so the resumed run sees batches in another "
                  "order than an uninterrupted one would (genai_lib.data.Batches resumes exactly).")


# ----- stopping cleanly on Ctrl-C ------------------------------------------------------------------------

class _GracefulInterrupt:
    """Turn the first Ctrl-C into a request to stop after the current step; a second one aborts."""

    def __init__(self) -> None:
        self.requested = False
        self._installed = False
        self._previous = None

    def __enter__(self) -> _GracefulInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nInterrupt received: stopping after this step and saving (interrupt again to abort at once).")

    def __exit__(self, *exc) -> None:
        if self._installed:  # None means a handler installed outside Python: fall back to the default one
            signal.signal(signal.SIGINT, self._previous if self._previous is not None else signal.default_int_handler)


# ----- the loop -------------------------------------------------------------------------------------------

def _named(obj, default: str) -> dict:
    if obj is None:
        return {}
    return dict(obj) if isinstance(obj, Mapping) else {default: obj}


def fit(step_fn: StepFn, *, models: nn.Module | Mapping[str, nn.Module],
        optimizers: torch.optim.Optimizer | Mapping[str, torch.optim.Optimizer],
        data: Callable[[], Batch] | Iterable[Batch], config: TrainConfig,
        evaluate: Callable[[], Mapping[str, Any]] | None = None,
        schedulers: Any | Mapping[str, Any] | None = None) -> History:
    """Train by calling `step_fn(batch, ctx)` config.steps times; returns the History of logged values.

    `step_fn` runs its forward passes under `ctx.autocast()`, calls `ctx.update(loss, name)` once per
    optimizer it steps, and returns a dict of scalars to log. `evaluate()` (no gradients, eval mode) is
    called every `eval_every` steps and at the end. With `ckpt_path`, training resumes from the last
    checkpoint, so re-running the same call continues where it stopped. Launched by `torchrun`, each
    process trains on its shard of every global batch (see genai_lib.distributed); rank 0 logs and saves.
    """
    models, optimizers = _named(models, "model"), _named(optimizers, "main")
    schedulers = _named(schedulers, "main")
    if not models or not optimizers:
        raise ValueError("fit needs at least one model and one optimizer.")
    _dist.init(config.device)  # joins torchrun's process group; nothing in a single process
    dev = _device.pick_device(config.device)
    precision = _device.precision_for(dev, config.precision)
    for model in models.values():
        model.to(dev)
    scaler = _device.grad_scaler(dev, precision)
    ctx = StepContext(optimizers=optimizers, scaler=scaler, device=dev, precision=precision,
                      grad_clip=config.grad_clip)
    source = _BatchSource(data)
    history, pending = History(), _Pending()
    start = 0

    ckpt_path = Path(config.ckpt_path) if config.ckpt_path else None
    if ckpt_path is not None and config.resume and ckpt_path.exists():
        state = safe_load(ckpt_path)
        if int(state["step"]) > config.steps:
            raise ValueError(f"The checkpoint {ckpt_path} is at step {state['step']}, beyond steps={config.steps}. "
                             "Ask for at least that many steps, or use another ckpt_path to train afresh.")
        start = _restore(state, models, optimizers, schedulers, scaler, source, history)
        pending.load_state_dict(state["pending"])
        if start < config.steps and _dist.is_main():
            print(f"Resuming from {ckpt_path} at step {start} of {config.steps}.")

    for model in models.values():
        _dist.broadcast_module(model)  # every rank starts from rank 0's weights
    _dist.seed_rank_streams()

    def check_finite(step: int) -> dict[str, float]:
        means = _dist.average_scalars(pending.means())
        bad = [k for k, v in means.items() if not math.isfinite(v)]
        if bad:
            where = f" The last good checkpoint is {ckpt_path}." if ckpt_path and ckpt_path.exists() else ""
            raise FloatingPointError(
                f"{', '.join(bad)} became {means[bad[0]]} between steps {step - pending.count + 1} and {step}. "
                f"Lower the learning rate, keep gradient clipping on, or look for bad inputs.{where}"
            )
        return means

    def flush(step: int) -> None:
        if pending.count:
            history.log(step, check_finite(step))
            pending.clear()

    def run_eval(step: int) -> None:
        saved = rng_state()  # evaluation must not change the training's random stream
        modes = {name: m.training for name, m in models.items()}
        for m in models.values():
            m.eval()
        try:
            with torch.no_grad(), ctx.autocast():
                values = {k: float(v) for k, v in evaluate().items()}
        finally:
            for name, m in models.items():
                m.train(modes[name])
            set_rng_state(saved)
        history.log(step, values)

    def save(step: int) -> None:
        if not _dist.is_main():
            return
        atomic_save({
            "format": 1,
            "step": step,
            "models": {name: model_record(m) for name, m in models.items()},
            "optimizers": {name: opt.state_dict() for name, opt in optimizers.items()},
            "schedulers": {name: s.state_dict() for name, s in schedulers.items()},
            "scaler": scaler.state_dict(),
            "rng": rng_state(),
            "data": source.state_dict(),
            "history": history.state_dict(),
            "pending": pending.state_dict(),
        }, ckpt_path)

    for model in models.values():
        model.train()
    bar = _progress(config, start)
    t0 = time.perf_counter() - history.seconds
    step = start
    with _GracefulInterrupt() as interrupt:
        try:
            while step < config.steps and not interrupt.requested:
                batch = _to_device(_dist.shard(source.next()), dev)
                ctx.step = step
                logs = step_fn(batch, ctx)
                if ctx.stepped:
                    scaler.update()
                    ctx.stepped.clear()
                _dist.sync_buffers(models.values())
                for s in schedulers.values():
                    s.step()
                step += 1
                pending.add(logs or {})
                if step % config.log_every == 0 or step == config.steps:
                    flush(step)
                    if bar is not None and history.records:
                        bar.set_postfix({k: f"{v[-1][1]:.4g}" for k, v in history.records.items()}, refresh=False)
                if evaluate is not None and config.eval_every and step % config.eval_every == 0:
                    run_eval(step)
                if ckpt_path is not None and config.ckpt_every and step % config.ckpt_every == 0:
                    check_finite(step)  # never checkpoint weights that have gone NaN
                    history.seconds = time.perf_counter() - t0
                    save(step)
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()

    history.seconds = time.perf_counter() - t0
    if interrupt.requested and step < config.steps:
        # Save the unlogged partial averages too, so the resumed history equals an uninterrupted one.
        history.interrupted = True
        if ckpt_path is not None:
            check_finite(step)
            save(step)
        flush(step)
    else:
        flush(step)
        if evaluate is not None and step > start and (not config.eval_every or step % config.eval_every):
            run_eval(step)
        if ckpt_path is not None and (step > start or not ckpt_path.exists()):
            save(step)
    _dist.check_in_sync(models)
    _dist.barrier()  # no rank leaves (or reads the checkpoint) before rank 0 has written it
    if _dist.is_main():
        _summary(history, step, start, config, dev, precision, ckpt_path)
    if history.interrupted:
        # Raising (after saving) is what makes Jupyter skip the cells queued after this one.
        raise KeyboardInterrupt(f"training stopped at step {step} of {config.steps}")
    return history


class _Pending:
    """Running sums of the values a step function returns, averaged when they are logged."""

    def __init__(self) -> None:
        self.sums: dict[str, torch.Tensor] = {}
        self.count = 0

    def add(self, logs: Mapping[str, Any]) -> None:
        for key, value in logs.items():
            # Detached tensors are summed on the device: no GPU sync until the values are logged.
            value = value.detach().float() if isinstance(value, torch.Tensor) else torch.tensor(float(value))
            self.sums[key] = self.sums.get(key, 0.0) + value
        self.count += 1

    def means(self) -> dict[str, float]:
        return {k: (v / self.count).item() for k, v in self.sums.items()}

    def clear(self) -> None:
        self.sums, self.count = {}, 0

    def state_dict(self) -> dict[str, Any]:
        return {"sums": {k: float(v) for k, v in self.sums.items()}, "count": self.count}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.sums = {k: torch.tensor(v) for k, v in state["sums"].items()}
        self.count = int(state["count"])


def _restore(state, models, optimizers, schedulers, scaler, source, history) -> int:
    for kind, mine in (("models", models), ("optimizers", optimizers)):
        if set(state[kind]) != set(mine):
            raise ValueError(f"The checkpoint has {kind} {sorted(state[kind])}, this run has {sorted(mine)}. "
                             "Use another ckpt_path for a different set-up.")
    for name, model in models.items():
        check_compatible(model, state["models"][name], name=name)
        unwrap(model).load_state_dict(state["models"][name]["state_dict"])
    for name, opt in optimizers.items():
        opt.load_state_dict(state["optimizers"][name])
    for name, sched in schedulers.items():
        if name in state["schedulers"]:
            sched.load_state_dict(state["schedulers"][name])
    if state["scaler"]:  # empty when saved without fp16 (CPU, bf16): the fresh scaler is right then
        scaler.load_state_dict(state["scaler"])
    set_rng_state(state["rng"])
    source.load_state_dict(state["data"])
    history.load_state_dict(state["history"])
    return int(state["step"])


def _progress(config: TrainConfig, start: int):
    mode = os.environ.get("GENAI_PROGRESS", "auto").lower()
    if not config.progress or mode == "off" or config.steps == start or not _dist.is_main():
        return None
    if mode == "text":
        from tqdm import tqdm
    else:
        from tqdm.auto import tqdm
    return tqdm(total=config.steps, initial=start, mininterval=0.5, dynamic_ncols=True)


def _summary(history, step, start, config, dev, precision, ckpt_path) -> None:
    if step == start:
        print(f"Already trained: step {step} of {config.steps} restored from {ckpt_path}.")
        return
    rate = (step - start) / max(history.seconds, 1e-9) if not start else None
    values = " | ".join(f"{k} {v[-1][1]:.4g}" for k, v in history.records.items())
    speed = f" ({rate:.1f} steps/s)" if rate else ""
    print(f"Trained to step {step} of {config.steps} in {history.seconds:.1f} s{speed} on "
          f"{dev.type}/{precision.name} | {values}")
    if history.interrupted:
        where = f"saved to {ckpt_path}; run again to resume" if ckpt_path else "not saved (no ckpt_path)"
        print(f"Stopped early at step {step}: {where}.")
