"""The pseudo device (genai_lib.pseudo_device) fails where CUDA fails, and only there."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

import genai_lib as gl
from genai_lib import pseudo_device
from genai_lib.models.gan import GANConfig, Generator

ROOT = Path(__file__).resolve().parents[1]
MIXED = "Expected all tensors to be on the same device"


@pytest.fixture(scope="module")
def dev() -> torch.device:
    return pseudo_device.enable()


def test_a_cpu_latent_fed_to_a_generator_on_the_device_fails(dev):
    # Chapter 03's bug: after fit the generator lives on the device, but the fixed latent was drawn on the CPU.
    torch.manual_seed(0)
    G = Generator(GANConfig(architecture="mlp", data_shape=(1, 8, 8), latent_dim=4, width=16)).to(dev)
    z_fixed = torch.randn(5, 4)
    with pytest.raises(RuntimeError, match=MIXED):
        G(z_fixed)
    assert G(z_fixed.to(dev)).device == dev


def test_a_cpu_generator_cannot_draw_device_noise(dev):
    with pytest.raises(RuntimeError, match="device type for generator but found 'cpu'"):
        torch.randn(3, device=dev, generator=torch.Generator().manual_seed(0))
    # The portable way: draw on the CPU generator's device, then move.
    z = torch.randn(3, generator=torch.Generator().manual_seed(0)).to(dev)
    assert z.device == dev


def test_a_cpu_index_into_a_device_tensor_fails_where_cuda_refuses_it(dev):
    x = torch.arange(12.0).reshape(4, 3).to(dev)
    idx = torch.tensor([0, 2])
    with pytest.raises(RuntimeError, match=MIXED):
        x.index_select(0, idx)
    with pytest.raises(RuntimeError, match=MIXED):
        torch.gather(x, 1, torch.zeros(4, 1, dtype=torch.long))
    with pytest.raises(RuntimeError, match=MIXED):
        nn.Embedding(5, 3).to(dev)(idx)
    # x[idx] with CPU indices is legal on CUDA (it moves them), so it must pass here too.
    assert torch.equal(x[idx].cpu(), torch.tensor([[0.0, 1, 2], [6, 7, 8]]))


def test_cpu_scalars_pass_and_results_stay_on_the_device(dev):
    x = torch.randn(4, 3).to(dev)
    for y in (x * torch.tensor(2.0), torch.where(x > 0, x, torch.tensor(0.0)), x + 1, x.clamp(min=torch.tensor(0.0))):
        assert y.device == dev
    with pytest.raises(RuntimeError, match=MIXED):
        x * torch.ones(3)  # one dimension is no longer a scalar


def test_moving_copying_and_reading_back(dev):
    x = torch.randn(2, 3)
    on = x.to(dev)
    assert type(on.cpu()) is torch.Tensor and torch.equal(on.cpu(), x)
    assert on.sum().item() == pytest.approx(x.sum().item())
    assert f"{on.sum():.3f}" == f"{x.sum():.3f}" and on.tolist() == x.tolist()
    assert float(on[0, 0]) == float(x[0, 0]) and int(on[0, 0] > 0) == int(x[0, 0] > 0)
    with pytest.raises((RuntimeError, TypeError)):
        on.numpy()  # as for a CUDA tensor: .cpu() first
    assert torch.equal(torch.tensor([1.0, 2.0], device=dev).cpu(), torch.tensor([1.0, 2.0]))
    assert torch.as_tensor(3, device=dev).device == dev
    y = on.clone()
    assert y.mul_(2) is y, "an in-place operation returns the tensor it changed"
    assert torch.equal(y.cpu(), 2 * x)
    buf = io.BytesIO()
    torch.save({"w": on}, buf)
    buf.seek(0)
    assert torch.equal(torch.load(buf, map_location="cpu")["w"].cpu(), x)


def test_float64_stays_off_the_device_as_on_apple_gpus(dev):
    x = torch.randn(3).to(dev)
    with pytest.raises(TypeError, match="float64"):
        x.double()
    with pytest.raises(TypeError, match="float64"):
        torch.zeros(2, dtype=torch.float64, device=dev)
    assert x.cpu().double().dtype == torch.float64
    copy = nn.Linear(3, 2).double()
    copy.load_state_dict(nn.Linear(3, 2).to(dev).state_dict())  # into a float64 CPU copy: allowed
    assert copy.weight.dtype == torch.float64


def test_fork_rng_restores_the_stream_the_device_draws_from(dev):
    torch.manual_seed(0)
    with torch.random.fork_rng():  # forks the accelerator's generator too, as it does for CUDA
        torch.randn(5, device=dev)
    after_fork = torch.randn(3, device=dev).cpu()
    torch.manual_seed(0)
    assert torch.equal(after_fork, torch.randn(3, device=dev).cpu())


def test_an_optimizer_made_before_the_move_still_trains_the_model(dev):
    # fit() moves the models after the chapter made its optimizers, as CUDA code usually does.
    torch.manual_seed(0)
    m = nn.Linear(3, 2)
    opt = torch.optim.Adam(m.parameters(), lr=0.1)
    m.to(dev)
    before = m.weight.detach().cpu().clone()
    m(torch.randn(4, 3).to(dev)).square().mean().backward()
    opt.step()
    assert m.weight.device == dev and not torch.equal(before, m.weight.detach().cpu())


def _fit_losses(device: str) -> list[float]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    data = torch.randn(64, 4)

    def step(batch, ctx):
        (x,) = batch
        with ctx.autocast():
            loss = model(x).square().mean()
        ctx.backward_step(loss)
        return {"loss": loss.item()}

    def batches():
        for i in range(0, 64, 16):
            yield (data[i : i + 16],)

    config = gl.TrainConfig(steps=4, log_every=1, device=device, progress=False)
    return gl.fit(step, models=model, optimizers=opt, data=batches(), config=config)["loss"]


def test_fit_on_the_pseudo_device_gives_the_cpu_losses(dev):
    # The device tensors compute with the CPU kernels, so a run is bit-identical to the CPU run.
    assert _fit_losses("pseudo") == _fit_losses("cpu")


def test_genai_device_pseudo_selects_it_in_a_fresh_process():
    code = "import genai_lib as gl, torch; s = gl.setup(quiet=True); print(torch.zeros(1, device=s.device).device)"
    env = {**os.environ, "GENAI_DEVICE": "pseudo", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "pseudo:0"


def test_make_test_runs_the_notebooks_on_the_pseudo_device():
    # One nbval pass checks both the chapters and their device placement; a GPU machine may override it.
    makefile = (ROOT / "Makefile").read_text(encoding="utf8")
    recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "GENAI_DEVICE=$${GENAI_DEVICE:-pseudo}" in recipe and "--nbval-lax" in recipe
