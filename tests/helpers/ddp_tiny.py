"""Run under torchrun by tests/test_distributed.py: train the tiny model data-parallel, resume, and misuse fit."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from tiny import TinyConfig, train

import genai_lib as gl
from genai_lib import distributed
from genai_lib.data import Batches

DETERMINISTIC = TinyConfig(dropout=0.0)  # no dropout, so one process and two can be compared


if __name__ == "__main__":  # python -m torch.distributed.run ... ddp_tiny.py CKPT_DIR OUT_DIR STEPS
    ckpt_dir, out, steps = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    train(ckpt_dir / "run.pt", steps // 2, config=DETERMINISTIC)  # interrupted half-way ...
    model, history = train(ckpt_dir / "run.pt", steps, config=DETERMINISTIC)  # ... and resumed
    r = distributed.rank()
    torch.save(
        {"weights": model.state_dict(), "loss": history.records["loss"], "world_size": distributed.world_size()},
        out / f"rank{r}.pt",
    )

    # Misuse: a global batch of 15 does not split over 2 processes; fit must say so on every rank.
    x = torch.randn(30, DETERMINISTIC.n_in)

    def step(batch, ctx):
        loss = F.mse_loss(model(batch[0]), batch[1])
        ctx.backward_step(loss)
        return {"loss": loss}

    try:
        gl.fit(
            step,
            models=model,
            optimizers=torch.optim.SGD(model.parameters(), lr=0.1),
            data=Batches(x, x.sum(1), batch_size=15),
            config=gl.TrainConfig(steps=2),
        )
    except ValueError as e:
        (out / f"error{r}.txt").write_text(str(e))
