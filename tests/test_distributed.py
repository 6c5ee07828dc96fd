"""Data-parallel `fit` under torchrun: two CPU processes (gloo) end where one process on the global batch ends."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from genai_lib import distributed

HELPERS = Path(__file__).parent / "helpers"
sys.path.insert(0, str(HELPERS))
from ddp_tiny import DETERMINISTIC  # noqa: E402
from tiny import train  # noqa: E402

STEPS = 20


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    """Launch the tiny run on 2 processes with torchrun once; return the output folder and the log."""
    if not torch.distributed.is_available():
        pytest.skip("this torch build has no torch.distributed")
    ckpt, out = tmp_path_factory.mktemp("ddp_ckpt"), tmp_path_factory.mktemp("ddp_out")
    env = {
        **os.environ,
        "PYTHONPATH": str(HELPERS),
        "OMP_NUM_THREADS": "1",
        "GENAI_DEVICE": "cpu",
        "GENAI_PROGRESS": "off",
        "GLOO_SOCKET_IFNAME": "lo",
        "MASTER_ADDR": "127.0.0.1",
    }
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "--max_restarts=0",
        str(HELPERS / "ddp_tiny.py"),
        str(ckpt),
        str(out),
        str(STEPS),
    ]
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"torchrun did not finish in 120 s (a rank waiting on another?):\n{e.stdout}\n{e.stderr}")
    assert done.returncode == 0, f"torchrun failed:\n{done.stdout}\n{done.stderr}"
    return out, done.stdout


def test_two_processes_end_with_the_weights_of_one_process_on_the_global_batch(two_ranks, tmp_path):
    out, log = two_ranks
    r0, r1 = torch.load(out / "rank0.pt"), torch.load(out / "rank1.pt")
    assert r0["world_size"] == r1["world_size"] == 2
    for name, w in r0["weights"].items():  # the replicas never drift apart: bit-identical
        assert torch.equal(w, r1["weights"][name]), name
    train(tmp_path / "single.pt", STEPS // 2, config=DETERMINISTIC)  # batch 16 in one process, also resumed
    single, history = train(tmp_path / "single.pt", STEPS, config=DETERMINISTIC)
    for name, w in single.state_dict().items():
        torch.testing.assert_close(r0["weights"][name], w, rtol=1e-4, atol=1e-5, msg=name)
    # The logged loss is the mean over both shards, i.e. the global batch's loss, and survives the resume.
    steps, losses = zip(*r0["loss"], strict=True)
    assert list(steps) == history.steps("loss")
    torch.testing.assert_close(torch.tensor(losses), torch.tensor(history["loss"]), rtol=1e-4, atol=1e-6)
    # Only rank 0 prints: one resume notice and one summary per fit call, not two.
    assert log.count("Resuming from") == 1 and log.count(f"Trained to step {STEPS} of {STEPS}") == 1, log


def test_a_global_batch_that_does_not_split_evenly_is_refused_on_every_rank(two_ranks):
    out, _ = two_ranks
    for r in (0, 1):
        message = (out / f"error{r}.txt").read_text()
        assert "global batch of 15 examples does not split evenly over 2 processes" in message
        assert "divisible by 2" in message


def test_in_one_process_the_helpers_are_no_ops():
    assert not distributed.is_distributed() and distributed.rank() == 0 and distributed.world_size() == 1
    batch = (torch.arange(6), {"y": torch.arange(6)})
    assert distributed.shard(batch) is batch
    assert distributed.average_scalars({"loss": 1.5}) == {"loss": 1.5}
    assert distributed.is_main()


def test_shard_slices_every_tensor_of_a_batch_alike(monkeypatch):
    monkeypatch.setattr(distributed, "is_distributed", lambda: True)
    monkeypatch.setattr(distributed, "world_size", lambda: 2)
    monkeypatch.setattr(distributed, "rank", lambda: 1)
    x, y = torch.arange(8).reshape(4, 2), torch.arange(4)
    xs, extra = distributed.shard((x, {"y": y, "name": "digits"}))
    assert torch.equal(xs, x[2:]) and torch.equal(extra["y"], y[2:]) and extra["name"] == "digits"
    with pytest.raises(ValueError, match="different first dimensions"):
        distributed.shard((x, torch.arange(5)))
    with pytest.raises(ValueError, match="global batch of 5 examples does not split evenly over 2"):
        distributed.shard(torch.arange(5))
