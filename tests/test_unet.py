"""The U-Net ε-predictor: shapes, conditioning by labels and by a context, clear errors, a diffusion dry run."""

import dataclasses

import pytest
import torch
from torch import nn

import genai_lib as gl
from genai_lib.diffusion import NoiseSchedule, diffusion_step, sample_diffusion
from genai_lib.models.unet import SpatialTransformer, UNet, UNetConfig

SMALL = UNetConfig(image_shape=(1, 8, 8), base_channels=16, channel_mults=(1, 2), num_res_blocks=1, n_heads=2)


def randomised(model: nn.Module) -> nn.Module:
    """Undo the zero initialisation of the output layers, so that every input can show in the output."""
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.1)
    return model


@pytest.mark.parametrize(
    "cfg",
    [
        SMALL,
        dataclasses.replace(SMALL, attention=False),
        UNetConfig(image_shape=(3, 12, 12), base_channels=8, channel_mults=(1, 2, 2), num_res_blocks=2, n_heads=2),
        UNetConfig(image_shape=(1, 28, 28)),  # the MNIST default: 28 -> 14 -> 7
    ],
)
def test_output_has_the_input_shape(cfg):
    model = UNet(cfg)
    x = torch.randn(2, *cfg.image_shape)
    assert model(x, torch.tensor([0, 999])).shape == x.shape
    assert model(x, 5).shape == x.shape  # a scalar t is broadcast over the batch


def test_the_output_starts_at_zero_so_the_loss_starts_at_one():
    model = UNet(SMALL)
    assert model(torch.randn(3, 1, 8, 8), torch.tensor([1, 2, 3])).abs().max() == 0


def test_time_and_class_labels_change_the_output_and_the_null_class_is_accepted():
    model = randomised(UNet(dataclasses.replace(SMALL, n_classes=10)))
    assert model.null_cond == 10
    x = torch.randn(2, 1, 8, 8)
    t = torch.tensor([10, 10])
    a = model(x, t, torch.tensor([3, 3]))
    assert not torch.allclose(a, model(x, t, torch.tensor([4, 4])))
    assert not torch.allclose(a, model(x, torch.tensor([11, 11]), torch.tensor([3, 3])))
    assert torch.equal(model(x, t, torch.tensor([10, 10])), model(x, t))  # None means the null class


def test_a_context_changes_the_output_and_padded_positions_do_not():
    model = randomised(UNet(dataclasses.replace(SMALL, context_dim=12)))
    assert model.null_cond is None
    x, t = torch.randn(2, 1, 8, 8), torch.tensor([3, 700])
    ctx = torch.randn(2, 5, 12)
    a = model(x, t, ctx)
    assert not torch.allclose(a, model(x, t, torch.randn(2, 5, 12)))
    mask = torch.tensor([[False, False, False, True, True]] * 2)  # the last two tokens are padding
    other = ctx.clone()
    other[:, 3:] = torch.randn(2, 2, 12)
    assert torch.allclose(model(x, t, (ctx, mask)), model(x, t, (other, mask)), atol=1e-5)


def test_every_parameter_gets_a_gradient():
    model = randomised(UNet(dataclasses.replace(SMALL, n_classes=3)))
    model(torch.randn(2, 1, 8, 8), torch.tensor([1, 2]), torch.tensor([0, 3])).square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert not missing


def test_clear_errors():
    with pytest.raises(ValueError, match="divisible by 4; got 10x10"):
        UNetConfig(image_shape=(1, 10, 10), channel_mults=(1, 2, 2))
    with pytest.raises(ValueError, match="one kind of condition"):
        UNetConfig(n_classes=10, context_dim=8)
    with pytest.raises(ValueError, match="set attention=True"):
        UNetConfig(context_dim=8, attention=False)
    with pytest.raises(ValueError, match="norm_groups"):
        UNetConfig(base_channels=12)
    model = UNet(dataclasses.replace(SMALL, n_classes=10))
    with pytest.raises(ValueError, match=r"expects x_t of shape \(B, 1, 8, 8\).*got \(2, 1, 16, 16\)"):
        model(torch.randn(2, 1, 16, 16), torch.tensor([1, 2]))
    with pytest.raises(ValueError, match=r"Labels must lie in \[0, 10\).*from 0 to 11"):
        model(torch.randn(2, 1, 8, 8), torch.tensor([1, 2]), torch.tensor([0, 11]))
    with pytest.raises(ValueError, match="integer labels of shape \\(2,\\)"):
        model(torch.randn(2, 1, 8, 8), torch.tensor([1, 2]), torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="t must be a scalar or have shape \\(B,\\)"):
        model(torch.randn(2, 1, 8, 8), torch.tensor([1, 2, 3]))
    ctx_model = UNet(dataclasses.replace(SMALL, context_dim=12))
    with pytest.raises(ValueError, match=r"\(2, S, 12\), got \(2, 5, 16\)"):
        ctx_model(torch.randn(2, 1, 8, 8), 3, torch.randn(2, 5, 16))
    with pytest.raises(ValueError, match="cross-attends"):
        ctx_model(torch.randn(2, 1, 8, 8), 3)
    with pytest.raises(ValueError, match="unconditional"):
        UNet(SMALL)(torch.randn(2, 1, 8, 8), 3, torch.tensor([1, 2]))


def test_a_class_conditional_dry_run_trains_samples_with_guidance_and_checkpoints(tmp_path):
    torch.manual_seed(0)
    model = UNet(dataclasses.replace(SMALL, n_classes=3))
    sched = NoiseSchedule(num_timesteps=50, kind="cosine")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def data():
        return torch.rand(4, 1, 8, 8) * 2 - 1, torch.randint(0, 3, (4,))

    path = tmp_path / "unet.pt"
    gl.fit(
        diffusion_step(model, sched, p_uncond=0.2),
        models=model,
        optimizers=opt,
        data=data,
        config=gl.TrainConfig(steps=3, log_every=1, device="cpu", progress=False, ckpt_path=str(path)),
    )
    x = sample_diffusion(
        model,
        sched,
        (3, 1, 8, 8),
        cond=torch.tensor([0, 1, 2]),
        guidance_scale=2.0,
        null_cond=model.null_cond,
        sampler="ddim",
        num_inference_steps=3,
        clip_sample=1.0,
    )
    assert x.shape == (3, 1, 8, 8) and torch.isfinite(x).all() and x.abs().max() <= 1 + 1e-6
    gl.save_model(model, tmp_path / "w.pt")  # the config (tuples included) survives a weights_only load
    gl.load_model(UNet(dataclasses.replace(SMALL, n_classes=3)), tmp_path / "w.pt")
    with pytest.raises(ValueError, match="n_classes: 4 here, 3 in the checkpoint"):
        gl.load_model(UNet(dataclasses.replace(SMALL, n_classes=4)), tmp_path / "w.pt")


def test_attention_positions_are_one_learned_vector_per_pixel_of_the_lowest_grid():
    torch.manual_seed(0)
    cfg = UNetConfig(
        image_shape=(4, 8, 8), base_channels=16, channel_mults=(1, 2, 2), context_dim=8, attention_positions=True
    )
    net = UNet(cfg)
    with torch.no_grad():
        net.conv_out.weight.normal_(0, 0.1)  # zero-initialised: let the prediction depend on the input
    layers = [m for m in net.modules() if isinstance(m, SpatialTransformer)]
    assert layers and all(tuple(m.pos.shape) == (2 * 2, 32) for m in layers)  # 8x8 halved twice: 2x2 pixels
    x, ctx = torch.randn(2, 4, 8, 8), torch.randn(2, 3, 8)
    out = net(x, 5, ctx)
    with torch.no_grad():
        for m in layers:
            m.pos.add_(torch.randn_like(m.pos))
    assert not torch.allclose(net(x, 5, ctx), out)  # the positions reach the prediction
    with pytest.raises(ValueError, match="learned positions for 4 pixels"):
        layers[0](torch.randn(1, 32, 4, 4))
    assert all(
        m.pos is None
        for m in UNet(UNetConfig(image_shape=(4, 8, 8), base_channels=16)).modules()
        if isinstance(m, SpatialTransformer)
    )
