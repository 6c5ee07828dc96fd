"""AdamW decays matrices only; the warm-up + cosine schedule has the right shape and survives a checkpoint."""

import math

import pytest
import torch
from torch import nn

import genai_lib as gl
from genai_lib.models.gpt import GPT, GPTConfig
from genai_lib.optim import adamw, warmup_cosine, warmup_cosine_factor


def test_adamw_decays_matrices_and_embeddings_only():
    model = GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=8))
    opt = adamw(model, lr=1e-3, weight_decay=0.1)
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.dim() >= 2 for p in decay["params"]) and all(p.dim() == 1 for p in no_decay["params"])
    assert any(p is model.tok_emb.weight for p in decay["params"])  # tied with the head, counted once
    n = sum(p.numel() for g in opt.param_groups for p in g["params"])
    assert n == model.num_params()


def test_adamw_needs_parameters():
    with pytest.raises(ValueError, match="no trainable parameters"):
        adamw(nn.Linear(2, 2).requires_grad_(False), lr=1e-3)


def test_warmup_cosine_factor_shape():
    f = lambda s: warmup_cosine_factor(s, warmup_steps=10, total_steps=110, min_ratio=0.1)  # noqa: E731
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(10) == pytest.approx(1.0) and f(60) == pytest.approx(0.55) and f(110) == pytest.approx(0.1)
    assert f(500) == pytest.approx(0.1)
    values = [f(s) for s in range(10, 111)]
    assert all(a >= b for a, b in zip(values, values[1:], strict=False))  # never increases after the warm-up
    assert warmup_cosine_factor(0, warmup_steps=0, total_steps=10) == pytest.approx(1.0)


def test_warmup_cosine_sets_the_lr_and_resumes_in_fit(tmp_path):
    torch.manual_seed(0)

    def run(steps):
        model = nn.Linear(3, 1)
        opt = adamw(model, lr=0.5)
        sched = warmup_cosine(opt, warmup_steps=4, total_steps=20, min_ratio=0.2)
        x = torch.randn(16, 3)

        def step(batch, ctx):
            loss = (model(batch) ** 2).mean()
            ctx.backward_step(loss)
            return {"loss": loss.detach(), "lr": opt.param_groups[0]["lr"]}

        h = gl.fit(
            step,
            models=model,
            optimizers=opt,
            schedulers=sched,
            data=lambda: x,
            config=gl.TrainConfig(
                steps=steps, log_every=1, ckpt_path=str(tmp_path / "c.pt"), ckpt_every=1, progress=False
            ),
        )
        return h, opt

    h, _ = run(8)
    assert h["lr"][:4] == pytest.approx([0.125, 0.25, 0.375, 0.5])
    h, opt = run(20)  # resumes at step 8: the schedule must continue, not restart
    expected = [0.5 * warmup_cosine_factor(s, warmup_steps=4, total_steps=20, min_ratio=0.2) for s in range(20)]
    assert h["lr"] == pytest.approx(expected)
    assert opt.param_groups[1]["lr"] == pytest.approx(0.5 * 0.2)
    assert math.isclose(opt.param_groups[0]["lr"], 0.1)


def test_warmup_cosine_rejects_bad_arguments():
    with pytest.raises(ValueError, match="min_ratio"):
        warmup_cosine(
            torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0), warmup_steps=1, total_steps=10, min_ratio=2.0
        )
