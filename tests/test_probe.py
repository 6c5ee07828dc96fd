"""The step-time probe (genai_lib/probe.py): `fit` times a few steps, records them, and stops."""

import json
import warnings

import pytest
import torch
from helpers.tiny import train

import genai_lib as gl
from genai_lib.claims import ClaimWarning


@pytest.fixture
def probing(tmp_path, monkeypatch):
    """$GENAI_PROBE on, 2 warm-up and 4 timed steps, checkpoints in their own folder; yields the records file."""
    records = tmp_path / "probe.jsonl"
    monkeypatch.setenv("GENAI_PROBE", str(records))
    monkeypatch.setenv("GENAI_PROBE_LABEL", "tiny")
    monkeypatch.setenv("GENAI_PROBE_WARMUP", "2")
    monkeypatch.setenv("GENAI_PROBE_STEPS", "4")
    monkeypatch.setenv("GENAI_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    return records


def read(records):
    return [json.loads(line) for line in records.read_text().splitlines()]


def test_a_probed_run_times_a_few_steps_records_the_plan_and_stops(probing, tmp_path):
    _, history = train(tmp_path / "checkpoints" / "a.pt", steps=1_000)
    (record,) = read(probing)
    assert record["label"] == "tiny" and record["run"] == 0
    assert record["planned_steps"] == 1_000 and record["timed_steps"] == 4
    assert history.steps("loss")[-1] == 6  # 2 warm-up + 4 timed steps, not 1,000
    assert record["seconds_per_step"] > 0 and record["parameters"] == 4 * 16 + 16 + 16 + 1
    # One step of a 4-16-1 MLP on a batch of 16, 2 FLOPs per multiply-add: each layer's product forward
    # and its weight gradient backward, and the input gradient of the second layer only (x needs none).
    assert record["flops_per_step"] == 2 * 16 * (4 * 16 * 2 + 16 * 1 * 3)
    assert record["ops_per_step"] > 10


def test_a_chunked_run_plans_only_what_each_call_adds(probing, tmp_path):
    """Chapters train in chunks that resume each other: the probe saves as if finished, so the next chunk
    resumes after it and plans only its own steps (summing the plans gives the run's length)."""
    path = tmp_path / "checkpoints" / "chunked.pt"
    for until in (300, 600, 1_000):
        train(path, steps=until)
    assert [r["planned_steps"] for r in read(probing)] == [300, 300, 400]
    assert [r["run"] for r in read(probing)] == [0, 1, 2]


def test_a_probe_never_writes_an_untrained_checkpoint_outside_its_own_folder(probing, tmp_path):
    mine = tmp_path / "my_checkpoints" / "model.pt"
    train(mine, steps=1_000)
    assert not mine.exists()  # a reader's checkpoint folder is left alone
    train(tmp_path / "checkpoints" / "model.pt", steps=1_000)
    assert (tmp_path / "checkpoints" / "model.pt").exists()


def test_a_run_shorter_than_the_probe_is_timed_over_the_steps_it_has(probing, tmp_path):
    _, history = train(tmp_path / "checkpoints" / "short.pt", steps=3)
    (record,) = read(probing)
    assert record["planned_steps"] == 3 and record["timed_steps"] == 1  # 2 warm-up + 1 timed
    assert history.steps("loss")[-1] == 3


def test_claims_only_warn_in_a_probe_run_even_at_the_full_budget(probing, monkeypatch):
    monkeypatch.setenv("GENAI_BUDGET", "full")
    with pytest.warns(ClaimWarning):
        assert gl.claim("an untrained model is good", False) is False
    monkeypatch.delenv("GENAI_PROBE")
    with pytest.raises(gl.claims.ClaimError), warnings.catch_warnings():
        gl.claim("an untrained model is good", False)


def test_a_bad_probe_setting_says_what_to_use(probing, monkeypatch, tmp_path):
    monkeypatch.setenv("GENAI_PROBE_STEPS", "many")
    with pytest.raises(ValueError, match="GENAI_PROBE_STEPS='many' is not a whole number"):
        train(tmp_path / "checkpoints" / "x.pt", steps=10)


def test_a_probed_run_evaluates_once_timed_and_counts_the_evaluations_it_plans(probing):
    model = torch.nn.Linear(3, 1)

    def step(batch, ctx):
        ctx.backward_step(model(batch).pow(2).mean())
        return {}

    config = gl.TrainConfig(steps=1_000, eval_every=100, progress=False)
    history = gl.fit(
        step,
        models=model,
        optimizers=torch.optim.SGD(model.parameters(), lr=0.1),
        data=lambda: torch.randn(8, 3),
        config=config,
        evaluate=lambda: {"val": model(torch.ones(4, 3)).mean()},
    )
    (record,) = read(probing)
    assert history.steps("val") == [6]  # the chapter finds what the run logs, after the probed steps
    assert record["evaluations"] == 1_000 // 100 + 1 and record["seconds_per_evaluation"] > 0
    assert record["flops_per_evaluation"] == 2 * 4 * 3


def test_the_counters_allow_a_gradient_penalty():
    """torch's FlopCounterMode hooks modules, which autograd.grad refuses; the probe's counters do not."""
    from genai_lib.probe import Counters

    model, x = torch.nn.Linear(3, 1), torch.randn(4, 3, requires_grad=True)
    with Counters() as counted:
        (grad,) = torch.autograd.grad(model(x).sum(), x, create_graph=True)
        grad.pow(2).sum().backward()
    assert counted.flops >= 2 * 4 * 3 and counted.ops > 5


def test_on_a_cpu_one_counted_step_is_enough(probing, monkeypatch, tmp_path):
    monkeypatch.setenv("GENAI_PROBE_WARMUP", "0")
    monkeypatch.setenv("GENAI_PROBE_STEPS", "1")
    _, history = train(tmp_path / "checkpoints" / "one.pt", steps=500)
    (record,) = read(probing)
    assert history.steps("loss")[-1] == 1 and record["timed_steps"] == 1 and record["ops_per_step"] > 10


def test_genai_probe_eval_0_skips_the_evaluation(probing, monkeypatch):
    monkeypatch.setenv("GENAI_PROBE_EVAL", "0")
    model = torch.nn.Linear(3, 1)

    def step(batch, ctx):
        ctx.backward_step(model(batch).pow(2).mean())
        return {}

    history = gl.fit(
        step,
        models=model,
        optimizers=torch.optim.SGD(model.parameters(), lr=0.1),
        data=lambda: torch.randn(8, 3),
        config=gl.TrainConfig(steps=100, eval_every=10, progress=False),
        evaluate=lambda: {"val": model(torch.ones(4, 3)).mean()},
    )
    assert "val" not in history and read(probing)[0]["evaluations"] == 0
