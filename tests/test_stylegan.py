"""The style-based GAN's parts: shapes, demodulation's unit variance, truncation, mixing, noise, R1 and the step."""

import pytest
import torch
import torch.nn.functional as F
from helpers.gan_ctx import RecordingCtx

import genai_lib as gl
from genai_lib.data import Batches
from genai_lib.ema import EMA
from genai_lib.models.gan import Discriminator, GANConfig
from genai_lib.models.stylegan import (
    MappingNetwork,
    ModulatedConv2d,
    StyleGANConfig,
    StyleGenerator,
    adain,
    pixel_norm,
    r1_penalty,
    stylegan_step,
)


def tiny(H=16, modulation="demod"):
    c = StyleGANConfig(
        image_shape=(3, H, H), latent_dim=8, w_dim=8, mapping_layers=2, width=4, max_channels=8, modulation=modulation
    )
    return StyleGenerator(c)


def warmed_up(G):
    """G with a non-zero w_avg (a few training-mode mapping passes), then in eval mode."""
    torch.manual_seed(0)
    G.train()
    for _ in range(5):
        G.mapping(torch.randn(16, G.config.latent_dim))
    return G.eval()


def set_noise_strength(G, b):
    for layer in G.layers:
        torch.nn.init.constant_(layer.noise.strength, b)


@pytest.mark.parametrize("modulation", ["adain", "demod"])
@pytest.mark.parametrize("H, n_layers", [(16, 5), (32, 7)])
def test_the_generator_makes_images_of_the_configured_size_in_gan_range(modulation, H, n_layers):
    G = tiny(H, modulation)
    x = G(torch.randn(3, 8))
    assert x.shape == (3, 3, H, H) and x.abs().max() <= 1
    assert G.n_style_layers == n_layers and len(G.noise_shapes) == n_layers
    assert G.noise_shapes[-1] == (1, H, H) and [m.shape for m in G.make_noise(2)][0] == (2, 1, 4, 4)
    assert G.sample(2, generator=torch.Generator().manual_seed(0)).shape == (2, 3, H, H)
    assert StyleGANConfig(image_shape=(3, H, H), width=32, max_channels=64).channels(4) == 64  # the cap
    assert StyleGANConfig(image_shape=(3, 32, 32), width=32).channels(16) == 64  # doubled per halving


def test_pixel_norm_gives_every_latent_unit_rms():
    z = 5 * torch.randn(6, 10) + 2
    rms = pixel_norm(z).square().mean(1).sqrt()
    assert torch.allclose(rms, torch.ones(6), atol=1e-5)


def test_mapping_keeps_a_running_mean_of_w_only_in_training_mode():
    f = MappingNetwork(8, 6, n_layers=3, w_avg_beta=0.9)
    z = torch.randn(32, 8)
    f.eval()
    f(z)
    assert torch.equal(f.w_avg, torch.zeros(6))
    f.train()
    w = f(z)
    assert torch.allclose(f.w_avg, 0.1 * w.mean(0))  # lerp from 0 toward the batch mean by 1 - beta


def test_adain_gives_each_channel_the_styles_mean_and_std():
    x = 3 * torch.randn(2, 4, 16, 16) + 1
    scale, bias = torch.rand(2, 4) + 0.5, torch.randn(2, 4)
    y = adain(x, scale, bias)
    assert torch.allclose(y.mean((2, 3)), bias, atol=1e-4)
    assert torch.allclose(y.std((2, 3), unbiased=False), scale, atol=1e-3)


def test_modulated_conv_equals_one_ordinary_conv_per_sample_with_its_own_weights():
    torch.manual_seed(0)
    conv = ModulatedConv2d(5, 3, 3, 4)
    x, w = torch.randn(2, 5, 6, 6), torch.randn(2, 4)
    y = conv(x, w)
    for b in range(2):
        s = conv.affine(w)[b]  # (in,)
        wt = conv.scale * conv.weight * s[None, :, None, None]  # w'_ijk = s_i w_ijk
        wt = wt / (wt.square().sum((1, 2, 3), keepdim=True) + 1e-8).sqrt()  # demodulated per output j
        assert torch.allclose(y[b : b + 1], F.conv2d(x[b : b + 1], wt, padding=1), atol=1e-5)


def output_variance(conv, styles_bias):
    """Variance of each (sample, output channel) of conv over interior pixels, for i.i.d. N(0, 1) inputs."""
    torch.nn.init.constant_(conv.affine.weight, 0.0)
    with torch.no_grad():
        conv.affine.bias.copy_(styles_bias)  # s = A(w) = this bias, whatever w is
        y = conv(torch.randn(4, conv.in_channels, 66, 66), torch.randn(4, 8))
    return y[:, :, 1:-1, 1:-1].var(dim=(2, 3))  # (B, out): the border sees zero padding, not unit-variance input


def test_demodulation_restores_unit_output_variance_and_without_it_the_styles_scale_it():
    torch.manual_seed(0)
    s = torch.rand(16) * 2.5 + 0.5  # styles far from 1: s_i in [0.5, 3]
    var = output_variance(ModulatedConv2d(16, 12, 3, 8, demodulate=True), s)
    assert abs(var.mean().item() - 1) < 0.03 and ((var - 1).abs() < 0.12).all(), var
    var_raw = output_variance(ModulatedConv2d(16, 12, 3, 8, demodulate=False), s)
    # Without demodulation the variance is sum_{i,k} (s_i w_ijk / sqrt(fan_in))^2 ~ mean(s^2) ~ 3.6
    assert var_raw.mean().item() > 2.0, var_raw


def test_truncation_psi_0_gives_the_average_image_for_every_z_and_psi_1_changes_nothing():
    G = warmed_up(tiny())
    assert G.w_avg.abs().sum() > 0
    z, noise = torch.randn(2, 8), G.make_noise(1)
    w = G.mapping(z)
    assert torch.allclose(G.truncate(w, 1.0), w, atol=1e-6)
    assert torch.allclose(G.truncate(w, 0.5), (w + G.w_avg) / 2, atol=1e-6)
    x0 = G(z, psi=0.0, noise=noise)
    assert torch.allclose(x0[0], x0[1], atol=1e-6)
    avg = G.synthesis(G.w_avg.expand(1, G.n_style_layers, -1), noise)
    assert torch.allclose(x0[:1], avg, atol=1e-5)
    x1 = G(z, psi=1.0, noise=noise)
    assert (x1[0] - x1[1]).abs().max() > 1e-3  # the two z differ without truncation
    assert torch.allclose(x1, G.synthesis(w[:, None].expand(-1, G.n_style_layers, -1), noise), atol=1e-6)


def test_style_mixing_crossover_n_is_no_mixing_and_crossover_0_is_the_second_latent():
    G = warmed_up(tiny())
    z1, z2, noise = torch.randn(2, 8), torch.randn(2, 8), G.make_noise(2)
    n = G.n_style_layers
    assert torch.allclose(G(z1, mix=(z2, n), noise=noise), G(z1, noise=noise), atol=1e-6)
    assert torch.allclose(G(z1, mix=(z2, 0), noise=noise), G(z2, noise=noise), atol=1e-6)
    ws = G.mix_styles(G.mapping(z1), G.mapping(z2), 2)
    assert torch.equal(ws[:, 1], G.mapping(z1)) and torch.equal(ws[:, 2], G.mapping(z2))
    middle = G(z1, mix=(z2, 2), noise=noise)
    for end in (G(z1, noise=noise), G(z2, noise=noise)):
        assert (middle - end).abs().max() > 1e-3


def test_fixed_noise_is_deterministic_other_noise_changes_the_image_unless_its_strength_is_zero():
    G = warmed_up(tiny())
    set_noise_strength(G, 0.5)
    z = torch.randn(2, 8)
    n1, n2 = G.make_noise(2, generator=torch.Generator().manual_seed(1)), G.make_noise(2)
    assert torch.equal(G(z, noise=n1), G(z, noise=n1))
    assert (G(z, noise=n1) - G(z, noise=n2)).abs().max() > 1e-3
    shared = G.make_noise(1)  # one map per layer for the whole batch: hold noise fixed, vary w
    assert torch.allclose(G(z, noise=shared), G(z, noise=[m.expand(2, -1, -1, -1) for m in shared]))
    set_noise_strength(G, 0.0)
    assert torch.equal(G(z, noise=n1), G(z, noise=n2))
    assert torch.equal(G(z, noise=n1), G(z))  # fresh random noise, but with b = 0 it adds nothing


def test_sampling_with_a_seeded_generator_is_reproducible_and_leaves_training_mode():
    G = tiny()
    set_noise_strength(G, 0.5)
    G.train()
    a = G.sample(3, generator=torch.Generator().manual_seed(0))
    b = G.sample(3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and G.training
    assert torch.equal(G.w_avg, torch.zeros(8)), "sampling must not move w_avg"


def test_r1_equals_a_hand_computation_on_a_linear_and_a_quadratic_critic():
    lin = torch.nn.Linear(3 * 4 * 4, 1)
    critic = lambda x: lin(x.flatten(1)).squeeze(1)  # noqa: E731
    x = torch.randn(5, 3, 4, 4)
    r1 = r1_penalty(critic, x, gamma=4.0)
    assert torch.allclose(r1, 2.0 * lin.weight.square().sum())  # gamma/2 ||w||^2 for every x
    r1.backward()
    assert torch.allclose(lin.weight.grad, 4.0 * lin.weight)  # differentiable in D's weights: gamma w
    quadratic = lambda x: x.square().flatten(1).sum(1)  # noqa: E731  grad = 2x
    assert torch.allclose(r1_penalty(quadratic, x, gamma=1.0), 0.5 * (2 * x).square().flatten(1).sum(1).mean())


def players(H=16):
    torch.manual_seed(0)
    G, D = tiny(H), Discriminator(GANConfig(data_shape=(3, H, H), width=4))
    opts = {"D": torch.optim.SGD(D.parameters(), lr=0.1), "G": torch.optim.SGD(G.parameters(), lr=0.1)}
    return G, D, opts


def test_one_step_updates_every_parameter_of_both_players_and_r1_comes_every_r1_every_steps():
    G, D, opts = players()
    ema = EMA(G)
    before = {f"{who}.{k}": p.detach().clone() for who, m in (("G", G), ("D", D)) for k, p in m.named_parameters()}
    step = stylegan_step(G, D, r1_gamma=1.0, r1_every=2, mix_prob=1.0, ema=ema)
    ctx = RecordingCtx(G, D, opts, step=0)
    logs = step(torch.rand(4, 3, 16, 16) * 2 - 1, ctx)
    assert ctx.log == [("D", False, True), ("G", True, False)]  # each half leaves the other player alone
    after = {f"{who}.{k}": p for who, m in (("G", G), ("D", D)) for k, p in m.named_parameters()}
    unchanged = [k for k in before if torch.equal(before[k], after[k])]
    assert not unchanged, f"not updated: {unchanged}"
    assert set(logs) == {"d_loss", "g_loss", "r1", "d_real", "d_fake"}
    assert all(torch.isfinite(v).all() for v in logs.values()) and logs["r1"] > 0
    assert int(ema.num_updates) == 1 and all(p.requires_grad for p in D.parameters())
    ctx.step = 1
    assert step(torch.rand(4, 3, 16, 16) * 2 - 1, ctx)["r1"] == 0  # the lazy penalty skips odd steps


@pytest.mark.parametrize("device", ["cpu", "pseudo"])  # pseudo: fails, as CUDA would, on a tensor left on the CPU
def test_stylegan_step_runs_through_fit_on_fake_data_and_samples_on_the_models_device(device):
    G, D, opts = players(H=32)
    ema = EMA(G)
    x = torch.rand(8, 3, 32, 32) * 2 - 1
    hist = gl.fit(
        stylegan_step(G, D, r1_every=2, ema=ema),
        models={"G": G, "D": D, "ema": ema},
        optimizers=opts,
        data=Batches(x, batch_size=4),
        config=gl.TrainConfig(steps=3, log_every=1, progress=False, device=device),
    )
    assert "d_loss" in hist and "r1" in hist and "g_loss" in hist
    x = ema.module.sample(2, psi=0.7, generator=torch.Generator().manual_seed(0))
    assert x.shape == (2, 3, 32, 32) and x.device == G.const.device


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match=r"power of two >= 8.*got 24x24"):
        StyleGANConfig(image_shape=(3, 24, 24))
    with pytest.raises(ValueError, match=r"power of two >= 8.*got 4x4"):
        StyleGANConfig(image_shape=(3, 4, 4))
    with pytest.raises(ValueError, match="square images"):
        StyleGANConfig(image_shape=(3, 16, 32))
    with pytest.raises(ValueError, match=r"Unknown modulation 'adain2'"):
        StyleGANConfig(modulation="adain2")
    G = tiny()
    z = torch.randn(2, 8)
    with pytest.raises(ValueError, match=r"expects z of shape \(B, 8\), got \(2, 5\)"):
        G(torch.randn(2, 5))
    for bad in (-1, 6, 1.5):
        with pytest.raises(ValueError, match=r"crossover must be an integer in \[0, 5\]"):
            G.mix_styles(z[:, :8], z[:, :8], bad)
    with pytest.raises(ValueError, match=r"crossover must be an integer in \[0, 5\]"):
        G(z, mix=(torch.randn(2, 8), 9))
    with pytest.raises(ValueError, match=r"list of 5 maps.*got a list of 4.*G.make_noise\(2\)"):
        G(z, noise=G.make_noise(2)[:4])
    wrong = G.make_noise(2)
    wrong[3] = torch.randn(2, 1, 8, 8)
    with pytest.raises(ValueError, match=r"style layer 3 \(16x16\) must have shape \(2, 1, 16, 16\)"):
        G(z, noise=wrong)
    with pytest.raises(ValueError, match=r"ws of shape \(B, 5, 8\)"):
        G.synthesis(torch.randn(2, 8))
    with pytest.raises(ValueError, match=r"expects x of shape \(B, 5, H, W\)"):
        ModulatedConv2d(5, 3, 3, 4)(torch.randn(2, 4, 6, 6), torch.randn(2, 4))
    with pytest.raises(TypeError, match="torch.Generator"):
        G.sample(2, generator=G)
    D = Discriminator(GANConfig(data_shape=(3, 16, 16), width=4, n_classes=10))
    with pytest.raises(ValueError, match="unconditional"):
        stylegan_step(G, D)
    with pytest.raises(ValueError, match="must be >= 0"):
        stylegan_step(G, Discriminator(GANConfig(data_shape=(3, 16, 16), width=4)), r1_every=-1)
