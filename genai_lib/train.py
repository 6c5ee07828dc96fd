"""One training loop for every model family: device, precision, clipping, logging, checkpoints, resume.

`fit` is the loop; what it calls lives in modules named for what they do: `step_context` (what a
step function gets), `batch_source`, `history`, `training_state` (the checkpoint of a run), `rng`,
`interrupt` (Ctrl-C), `progress` and `distributed` (several processes under torchrun).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from genai_lib import device as _device
from genai_lib import distributed as _dist
from genai_lib import probe as _probe
from genai_lib.batch_source import Batch, BatchSource, to_device
from genai_lib.history import History, RunningMeans
from genai_lib.interrupt import GracefulInterrupt
from genai_lib.progress import ProgressBar, print_summary
from genai_lib.rng import preserved_rng, rng_state, set_rng_state  # noqa: F401  (importable from here, as before)
from genai_lib.step_context import StepContext, StepFn
from genai_lib.training_state import TrainingState


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


def fit(
    step_fn: StepFn,
    *,
    models: nn.Module | Mapping[str, nn.Module],
    optimizers: torch.optim.Optimizer | Mapping[str, torch.optim.Optimizer],
    data: Callable[[], Batch] | Iterable[Batch],
    config: TrainConfig,
    evaluate: Callable[[], Mapping[str, Any]] | None = None,
    schedulers: Any | Mapping[str, Any] | None = None,
) -> History:
    """Train by calling `step_fn(batch, ctx)` config.steps times; returns the History of logged values.

    `step_fn` runs its forward passes under `ctx.autocast()`, calls `ctx.backward_step(loss, name)` once
    per optimizer it steps, and returns a dict of scalars to log. `evaluate()` (no gradients, eval mode) is
    called every `eval_every` steps and at the end. With `ckpt_path`, training resumes from the last
    checkpoint, so re-running the same call continues where it stopped. Launched by `torchrun`, each
    process trains on its shard of every global batch (see genai_lib.distributed); rank 0 logs and saves.
    """
    models, optimizers = _named(models, "model"), _named(optimizers, "main")
    if not models or not optimizers:
        raise ValueError("fit needs at least one model and one optimizer.")
    _dist.init(config.device)  # joins torchrun's process group; nothing in a single process
    dev = _device.pick_device(config.device)
    precision = _device.precision_for(dev, config.precision)
    for model in models.values():
        model.to(dev)
    scaler = _device.grad_scaler(dev, precision)
    ctx = StepContext(optimizers=optimizers, scaler=scaler, device=dev, precision=precision, grad_clip=config.grad_clip)
    run = TrainingState(
        models, optimizers, _named(schedulers, "main"), scaler, BatchSource(data), History(), RunningMeans()
    )
    history = run.history
    ckpt_path = _probe.allowed_checkpoint(Path(config.ckpt_path) if config.ckpt_path else None)
    start = run.resume(ckpt_path, config.steps) if ckpt_path is not None and config.resume else 0
    # Under $GENAI_PROBE a run times a few steps and stops (genai_lib.probe).
    probe = _probe.Probe(start, config.steps, dev, precision) if _probe.active() else None
    steps = probe.end if probe else config.steps
    for model in models.values():
        _dist.broadcast_module(model)  # every rank starts from rank 0's weights
    _dist.seed_rank_streams()

    for model in models.values():
        model.train()
    t0, step = time.perf_counter() - history.seconds, start
    with GracefulInterrupt() as interrupt, ProgressBar(config.steps, start, enabled=config.progress) as bar:
        while step < steps and not interrupt.requested:
            ctx.step = step
            with probe.around(step) if probe else contextlib.nullcontext():
                logs = step_fn(to_device(_dist.shard(run.data.next()), dev), ctx)
                ctx.finish_step()
            _dist.sync_buffers(models.values())  # under torchrun: rank 0's BatchNorm statistics everywhere
            for scheduler in run.schedulers.values():
                scheduler.step()
            step += 1
            run.pending.add(logs or {})
            if step % config.log_every == 0 or step == steps:
                run.pending.log_to(history, step, ckpt_path)
                bar.show(history)
            if evaluate is not None and config.eval_every and step % config.eval_every == 0 and not probe:
                history.log(step, _evaluate(evaluate, models, ctx))
            if ckpt_path is not None and config.ckpt_every and step % config.ckpt_every == 0 and not probe:
                history.seconds = time.perf_counter() - t0
                run.save(ckpt_path, step)
            bar.advance()

    history.seconds = time.perf_counter() - t0
    history.interrupted = interrupt.requested and step < steps
    if probe and not history.interrupted:
        return _finish_probe(probe, run, step, start, evaluate, models, ctx, config, ckpt_path)
    _save_at_the_end(run, step, start, evaluate, models, ctx, config, ckpt_path)
    _dist.check_in_sync(models)
    _dist.barrier()  # no rank leaves (or reads the checkpoint) before rank 0 has written it
    if _dist.is_main():
        print_summary(history, step, start, config.steps, dev, precision, ckpt_path)
    if history.interrupted:  # raising (after saving) is what makes Jupyter skip the cells queued after this one
        raise KeyboardInterrupt(f"training stopped at step {step} of {config.steps}")
    return history


def _save_at_the_end(run, step, start, evaluate, models, ctx, config, ckpt_path) -> None:
    """After the loop: the last log, the final evaluation and checkpoint (or, when interrupted, the resume point)."""
    history = run.history
    if history.interrupted and ckpt_path is not None:
        run.save(ckpt_path, step)  # with the unlogged partial sums: the resumed history equals an uninterrupted one
    run.pending.log_to(history, step, ckpt_path)
    if not history.interrupted:
        if evaluate is not None and step > start and (not config.eval_every or step % config.eval_every):
            history.log(step, _evaluate(evaluate, models, ctx))
        if ckpt_path is not None and (step > start or not ckpt_path.exists()):
            run.save(ckpt_path, step)


def _finish_probe(probe, run, step, start, evaluate, models, ctx, config, ckpt_path) -> History:
    """A probed run's end: log, evaluate once (timed), record, and save as if finished (genai_lib.probe)."""
    run.pending.log_to(run.history, step, None)
    if evaluate is not None and step > start and probe.evaluating:  # once: the chapter finds what it logs
        run.history.log(step, probe.evaluate(lambda: _evaluate(evaluate, models, ctx), config.eval_every))
    probe.record(models)
    if ckpt_path is not None:
        run.save(ckpt_path, config.steps)  # as if finished: the chapter's next chunk resumes after it
    return run.history


def _named(obj, default: str) -> dict:
    if obj is None:
        return {}
    return dict(obj) if isinstance(obj, Mapping) else {default: obj}


def _evaluate(
    evaluate: Callable[[], Mapping[str, Any]], models: Mapping[str, nn.Module], ctx: StepContext
) -> dict[str, float]:
    """Call `evaluate()` in eval mode without gradients, leaving the training's random stream as it was."""
    with preserved_rng():
        modes = {name: m.training for name, m in models.items()}
        for m in models.values():
            m.eval()
        try:
            with torch.no_grad(), ctx.autocast():
                return {k: float(v) for k, v in evaluate().items()}
        finally:
            for name, m in models.items():
                m.train(modes[name])
