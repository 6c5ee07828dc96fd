import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from helpers.tiny import TinyConfig, make_run, train
from torch import nn

import genai_lib as gl
from genai_lib.data import Batches

HELPERS = Path(__file__).parent / "helpers"


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_training_reduces_the_loss_and_logs_history(tmp_path):
    model, history = train(tmp_path / "c.pt", steps=60, ckpt_every=20)
    assert history.steps("loss")[:3] == [3, 6, 9] and history.steps("loss")[-1] == 60
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert not history.interrupted and history.seconds > 0


def test_ctrl_c_saves_and_resuming_is_bit_identical(tmp_path, capsys):
    reference, ref_history = train(tmp_path / "ref.pt", steps=40)
    before = signal.getsignal(signal.SIGINT)  # Python's default, or SIG_IGN when started in the background

    def interrupt(step):
        if step == 22:  # mid-way between two periodic checkpoints
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt, match="stopped at step 23 of 40"):  # so Jupyter skips queued cells
        train(tmp_path / "run.pt", steps=40, hook=interrupt)
    out = capsys.readouterr().out
    assert "Stopped early at step 23" in out and "run again to resume" in out
    assert signal.getsignal(signal.SIGINT) is before  # the caller's handler is restored
    resumed, history = train(tmp_path / "run.pt", steps=40)
    assert "Resuming from" in capsys.readouterr().out
    assert same_weights(resumed, reference)
    assert history.records == ref_history.records


def test_a_killed_process_resumes_from_its_last_checkpoint_bit_identical(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(HELPERS.parent), "OMP_NUM_THREADS": "1"}

    def run(ckpt, crash_at, out):
        return subprocess.run(
            [sys.executable, str(HELPERS / "tiny.py"), str(ckpt), "40", str(crash_at), str(out)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert run(tmp_path / "ref.pt", -1, tmp_path / "ref_w.pt").returncode == 0
    crashed = run(tmp_path / "run.pt", 27, tmp_path / "never.pt")
    assert crashed.returncode == 17 and not (tmp_path / "never.pt").exists()
    assert gl.checkpoint.safe_load(tmp_path / "run.pt")["step"] == 25  # the last periodic checkpoint
    resumed = run(tmp_path / "run.pt", -1, tmp_path / "run_w.pt")
    assert resumed.returncode == 0 and "Resuming from" in resumed.stdout and "at step 25" in resumed.stdout
    ref, got = torch.load(tmp_path / "ref_w.pt"), torch.load(tmp_path / "run_w.pt")
    assert all(torch.equal(ref[k], got[k]) for k in ref)


def test_running_again_after_the_end_restores_instead_of_retraining(tmp_path, capsys):
    first, _ = train(tmp_path / "c.pt", steps=12)
    again, history = train(tmp_path / "c.pt", steps=12)
    assert same_weights(first, again) and history.steps("loss")[-1] == 12
    assert "Already trained: step 12 of 12" in capsys.readouterr().out
    longer, _ = train(tmp_path / "c.pt", steps=15)  # asking for more steps continues training
    assert not same_weights(first, longer)
    with pytest.raises(ValueError, match="at step 15, beyond steps=10"):
        train(tmp_path / "c.pt", steps=10)


def test_a_checkpoint_of_another_model_config_is_refused(tmp_path):
    train(tmp_path / "c.pt", steps=5)
    with pytest.raises(ValueError, match="n_hidden: 32 here, 16 in the checkpoint"):
        train(tmp_path / "c.pt", steps=10, config=TinyConfig(n_hidden=32))


def test_nan_loss_stops_training_with_advice(tmp_path):
    model, opt, _, data = make_run()

    def step(batch, ctx):
        x, y = batch
        loss = F.mse_loss(model(x), y) * (float("nan") if ctx.step == 4 else 1.0)
        ctx.backward_step(loss)
        return {"loss": loss}

    cfg = gl.TrainConfig(steps=10, log_every=3)
    with pytest.raises(FloatingPointError, match="loss became nan between steps 4 and 6. Lower the learning rate"):
        gl.fit(step, models=model, optimizers=opt, data=data, config=cfg)


def test_logged_values_are_exact_means_and_a_non_scalar_log_is_a_clear_error():
    from genai_lib.history import RunningMeans

    means = RunningMeans()
    for v in (torch.tensor(1e8), 1.0, torch.tensor(-1e8), torch.tensor(2.0, dtype=torch.bfloat16), torch.tensor([3.0])):
        means.add({"loss": v})
    assert means.sums() == {"loss": 6.0}  # exactly: float32 summed in order would have lost the 1.0
    restored = RunningMeans()
    restored.load_state_dict(means.state_dict())
    assert restored.sums() == means.sums() and restored.count == 5
    old = RunningMeans()
    old.load_state_dict({"sums": {"loss": 6.0}, "count": 3})  # a checkpoint written when sums were kept
    old.add({"loss": torch.tensor(2.0)})
    assert old.finite_means(4) == {"loss": 2.0}
    means.add({"loss": torch.ones(2, 3)})
    with pytest.raises(ValueError, match=r"logged 'loss' with shape \(2, 3\); log one number per key"):
        means.sums()


def test_evaluation_does_not_change_the_training_stream(tmp_path):
    runs = []
    for evaluate in (None, lambda: {"val": torch.rand(()).item()}):  # evaluation that draws random numbers
        model, opt, _, data = make_run()

        def step(batch, ctx, model=model):
            x, y = batch
            loss = F.mse_loss(model(x), y)
            ctx.backward_step(loss)
            return {"loss": loss}

        history = gl.fit(
            step,
            models=model,
            optimizers=opt,
            data=data,
            evaluate=evaluate,
            config=gl.TrainConfig(steps=12, eval_every=4),
        )
        runs.append(model)
    assert same_weights(*runs)
    assert history.steps("val") == [4, 8, 12]


def test_two_optimizers_as_in_a_gan_step():
    gl.setup(0, quiet=True)
    G, D = nn.Linear(2, 2), nn.Linear(2, 1)
    opt_G, opt_D = torch.optim.SGD(G.parameters(), lr=0.1), torch.optim.SGD(D.parameters(), lr=0.1)
    real = torch.randn(32, 2) + 3
    seen = {}

    def gan_step(x, ctx):
        z = torch.randn(len(x), 2)
        fake = G(z)
        # discriminator: maximise log D(x) + log(1 - D(G(z))); fake is detached so G gets no gradient
        d_loss = F.binary_cross_entropy_with_logits(D(x), torch.ones(len(x), 1)) + F.binary_cross_entropy_with_logits(
            D(fake.detach()), torch.zeros(len(x), 1)
        )
        g_before = [p.clone() for p in G.parameters()]
        ctx.backward_step(d_loss, "D")
        seen["G untouched by D step"] = all(torch.equal(a, b) for a, b in zip(g_before, G.parameters(), strict=True))
        # generator: maximise log D(G(z)) (the non-saturating loss)
        g_loss = F.binary_cross_entropy_with_logits(D(fake), torch.ones(len(x), 1))
        ctx.backward_step(g_loss, "G")
        with pytest.raises(ValueError, match="name one in ctx.backward_step"):
            ctx.backward_step(g_loss.detach().requires_grad_())
        return {"d_loss": d_loss, "g_loss": g_loss}

    history = gl.fit(
        gan_step,
        models={"G": G, "D": D},
        optimizers={"G": opt_G, "D": opt_D},
        data=Batches(real, batch_size=8),
        config=gl.TrainConfig(steps=6, log_every=2),
    )
    assert seen["G untouched by D step"] and history.keys() == ["d_loss", "g_loss"]


def test_gradient_clipping_bounds_the_update():
    gl.setup(0, quiet=True)
    w = nn.Linear(1, 1, bias=False)
    opt = torch.optim.SGD(w.parameters(), lr=1.0)
    norms = []

    def step(x, ctx):
        loss = (1000 * w(x)).pow(2).mean()
        norms.append(float(ctx.backward_step(loss)))
        return {"loss": loss}

    before = w.weight.detach().clone()
    gl.fit(step, models=w, optimizers=opt, data=lambda: torch.ones(4, 1), config=gl.TrainConfig(steps=1, grad_clip=0.5))
    assert norms[0] > 100  # the returned norm is the one before clipping
    assert (w.weight.detach() - before).norm().item() == pytest.approx(0.5, rel=1e-5)


def test_bad_configs_are_clear_errors():
    with pytest.raises(ValueError, match="ckpt_every is set but ckpt_path is not"):
        gl.TrainConfig(steps=10, ckpt_every=5)
    with pytest.raises(ValueError, match="steps must be >= 0"):
        gl.TrainConfig(steps=-1)
    model = nn.Linear(1, 1)
    with pytest.raises(ValueError, match="empty"):
        gl.fit(
            lambda b, c: {},
            models=model,
            optimizers=torch.optim.SGD(model.parameters(), lr=1),
            data=[],
            config=gl.TrainConfig(steps=1),
        )


def test_an_interrupt_during_the_last_step_completes_the_run(tmp_path):
    def interrupt(step):
        if step == 11:
            os.kill(os.getpid(), signal.SIGINT)

    _, history = train(tmp_path / "c.pt", steps=12, hook=interrupt)  # no KeyboardInterrupt: it finished
    assert not history.interrupted and history.steps("loss")[-1] == 12


class EnabledScaler(torch.amp.GradScaler):
    """fp16's loss scaling, switched on for the CPU so that its bookkeeping is exercised without a GPU."""

    def __init__(self, *args, **kwargs):
        super().__init__("cpu", enabled=True)


def test_fp16_scaler_with_two_updates_of_one_optimizer_and_steps_without_update(monkeypatch, tmp_path):
    monkeypatch.setattr(gl.device, "grad_scaler", lambda device, precision: EnabledScaler())
    model, opt, _, data = make_run()

    def step(batch, ctx):
        x, y = batch
        if ctx.step % 3 == 2:
            return {}  # a step that updates nothing
        for _ in range(2):  # e.g. several critic updates per step
            loss = F.mse_loss(model(x), y)
            ctx.backward_step(loss)
        return {"loss": loss}

    history = gl.fit(
        step,
        models=model,
        optimizers=opt,
        data=data,
        config=gl.TrainConfig(steps=9, log_every=3, ckpt_every=3, ckpt_path=str(tmp_path / "c.pt")),
    )
    assert len(history["loss"]) == 3 and gl.checkpoint.safe_load(tmp_path / "c.pt")["scaler"]


def test_a_checkpoint_without_loss_scaling_resumes_with_it(monkeypatch, tmp_path):
    train(tmp_path / "c.pt", steps=5)  # CPU: the scaler is off and saves an empty state
    monkeypatch.setattr(gl.device, "grad_scaler", lambda device, precision: EnabledScaler())
    _, history = train(tmp_path / "c.pt", steps=10)  # as if moved to a T4 with fp16
    assert history.steps("loss")[-1] == 10


def test_the_old_name_ctx_update_warns_and_does_what_backward_step_does():
    runs = []
    for name in ("backward_step", "update"):
        model, opt, _, data = make_run()

        def step(batch, ctx, model=model, name=name):
            x, y = batch
            loss = F.mse_loss(model(x), y)
            getattr(ctx, name)(loss)
            return {"loss": loss}

        with (
            pytest.warns(DeprecationWarning, match=r"ctx.update\(loss, ...\) is now called ctx.backward_step")
            if name == "update"
            else contextlib.nullcontext()
        ):
            gl.fit(step, models=model, optimizers=opt, data=data, config=gl.TrainConfig(steps=4, progress=False))
        runs.append(model)
    assert same_weights(*runs)


def test_the_names_train_exported_before_its_helpers_moved_out_still_import_from_it():
    from genai_lib import batch_source, history, rng, step_context
    from genai_lib.train import Batch, History, StepContext, StepFn, TrainConfig, fit, rng_state, set_rng_state

    assert History is history.History and StepContext is step_context.StepContext and StepFn is step_context.StepFn
    assert rng_state is rng.rng_state and set_rng_state is rng.set_rng_state and Batch is batch_source.Batch
    assert gl.fit is fit and gl.TrainConfig is TrainConfig and gl.History is History
