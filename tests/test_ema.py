"""The exponential moving average of weights: its arithmetic, its copy, and checkpoint/resume through gl.fit."""

from dataclasses import dataclass

import pytest
import torch
from torch import nn

import genai_lib as gl
from genai_lib.ema import EMA


@dataclass
class NetConfig:
    width: int = 8


class Net(nn.Module):
    def __init__(self, config: NetConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or NetConfig()
        self.fc = nn.Linear(3, config.width)
        self.bn = nn.BatchNorm1d(config.width)
        self.drop = nn.Dropout(0.5)
        self.out = nn.Linear(config.width, 1)

    def forward(self, x):
        return self.out(self.drop(self.bn(self.fc(x))))


def test_the_average_follows_its_recursion_without_warmup():
    model = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    ema = EMA(model, decay=0.9, warmup=False)
    expected = 0.0
    for value in (1.0, 1.0, -2.0, 5.0):
        with torch.no_grad():
            model.weight.fill_(value)
        ema.update(model)
        expected = 0.9 * expected + 0.1 * value
        assert ema.module.weight.item() == pytest.approx(expected, rel=1e-6)
    assert int(ema.num_updates) == 4


def test_warmup_uses_the_smaller_decay_early_on():
    model = nn.Linear(1, 1, bias=False)
    ema = EMA(model, decay=0.99)
    decays = []
    for _ in range(1000):  # (1 + n) / (10 + n) passes 0.99 at n = 891
        decays.append(ema.current_decay())
        ema.update(model)
    assert decays[0] == pytest.approx(0.1) and decays[1] == pytest.approx(2 / 11)
    assert decays[-1] == 0.99 and all(a <= b for a, b in zip(decays, decays[1:], strict=False))


def test_the_copy_is_frozen_independent_and_in_eval_mode():
    torch.manual_seed(0)
    model = Net()
    ema = EMA(model, decay=0.5)
    assert all(not p.requires_grad for p in ema.parameters())
    assert ema.module.fc.weight is not model.fc.weight
    before = ema.module.fc.weight.clone()
    with torch.no_grad():
        model.fc.weight.add_(1.0)
    assert torch.equal(ema.module.fc.weight, before)  # nothing moves until update
    model.train()
    model(torch.randn(16, 3))  # BatchNorm statistics move
    ema.update(model)
    assert torch.equal(ema.module.bn.running_mean, model.bn.running_mean)  # buffers are copied
    assert ema.module.bn.num_batches_tracked == model.bn.num_batches_tracked
    ema.train()
    assert ema.training and not ema.module.training  # never dropout in the average
    x = torch.randn(4, 3)
    assert torch.equal(ema(x), ema(x)) and torch.equal(ema(x), ema.module(x))


def test_clear_errors():
    with pytest.raises(ValueError, match="decay must be in \\[0, 1\\)"):
        EMA(nn.Linear(2, 2), decay=1.0)
    ema = EMA(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="another architecture"):
        ema.update(nn.Linear(2, 2, bias=False))
    with pytest.raises(ValueError, match="has shape \\(3, 2\\) in the model"):
        ema.update(nn.Linear(2, 3))


def _train(path, steps, config=None):
    torch.manual_seed(0)
    model = Net(config)
    ema = EMA(model, decay=0.9)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def data():
        x = torch.randn(16, 3)
        return x, x.sum(dim=1, keepdim=True)

    def step(batch, ctx):
        x, y = batch
        with ctx.autocast():
            loss = (model(x) - y).square().mean()
        ctx.backward_step(loss)
        ema.update(model)
        return {"loss": loss}

    gl.fit(
        step,
        models={"model": model, "ema": ema},
        optimizers=opt,
        data=data,
        config=gl.TrainConfig(
            steps=steps, log_every=2, ckpt_every=4, ckpt_path=str(path), device="cpu", progress=False
        ),
    )
    return model, ema


def test_the_average_is_checkpointed_and_resumed_through_fit_bit_identically(tmp_path):
    _, reference = _train(tmp_path / "ref.pt", 12)
    _train(tmp_path / "run.pt", 6)  # stopped half-way ...
    _, resumed = _train(tmp_path / "run.pt", 12)  # ... and resumed from its checkpoint
    assert int(resumed.num_updates) == 12
    for (name, a), b in zip(reference.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    with pytest.raises(ValueError, match="width: 16 here, 8 in the checkpoint"):
        _train(tmp_path / "run.pt", 14, config=NetConfig(width=16))
