"""A tiny model, data and step function shared by the training tests and their subprocess script."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

import genai_lib as gl
from genai_lib.data import Batches


@dataclass
class TinyConfig:
    n_in: int = 4
    n_hidden: int = 16
    dropout: float = 0.2


class Tiny(nn.Module):
    """An MLP regressor with dropout, so that resuming must also restore the random stream."""

    def __init__(self, config: TinyConfig) -> None:
        super().__init__()
        self.config = config
        self.net = nn.Sequential(
            nn.Linear(config.n_in, config.n_hidden),
            nn.ReLU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.n_hidden, 1),
        )

    def forward(self, x):
        return self.net(x).squeeze(-1)


def make_run(config: TinyConfig | None = None, seed: int = 0):
    """Model, optimizer, scheduler and resumable data, all built from a seed."""
    config = config or TinyConfig()
    gl.setup(seed, quiet=True)
    g = torch.Generator().manual_seed(1234)
    x = torch.randn(64, config.n_in, generator=g)
    y = x.sum(1) + 0.1 * torch.randn(64, generator=g)
    model = Tiny(config)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=7, gamma=0.9)
    return model, opt, sched, Batches(x, y, batch_size=16, seed=seed)


def train(ckpt_path, steps: int, *, ckpt_every: int = 5, hook=None, config: TinyConfig | None = None):
    """Build a fresh run and fit it; `hook(step)` runs inside each step (to interrupt or crash it)."""
    model, opt, sched, data = make_run(config)

    def step(batch, ctx):
        if hook is not None:
            hook(ctx.step)
        x, y = batch
        with ctx.autocast():
            loss = F.mse_loss(model(x), y)
        ctx.backward_step(loss)
        return {"loss": loss}

    cfg = gl.TrainConfig(steps=steps, log_every=3, ckpt_every=ckpt_every, ckpt_path=str(ckpt_path))
    history = gl.fit(step, models=model, optimizers=opt, schedulers=sched, data=data, config=cfg)
    return model, history


if __name__ == "__main__":  # python tiny.py CKPT STEPS [CRASH_AT] OUT: the subprocess used by the kill test
    import os
    import sys

    ckpt, steps, crash_at, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]

    def crash(step):
        if step == crash_at:
            os._exit(17)  # like a killed process: no cleanup, no final save

    model, _ = train(ckpt, steps, hook=crash)
    torch.save(model.state_dict(), out)
