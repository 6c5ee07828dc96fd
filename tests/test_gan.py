"""GAN players, losses on logits and the two-optimizer step: shapes, clear errors, detach, and that it learns."""

import pytest
import torch
from helpers.gan_ctx import RecordingCtx

import genai_lib as gl
from genai_lib.data import Batches
from genai_lib.losses import gan_d_loss, gan_g_loss, gradient_penalty, hinge_d_loss, hinge_g_loss
from genai_lib.models import gan as gan_module
from genai_lib.models.gan import (
    Discriminator,
    GANConfig,
    Generator,
    dcgan_stages,
    from_gan_range,
    gan_step,
    init_dcgan_weights,
    to_gan_range,
)


@pytest.mark.parametrize("shape, stages", [((1, 8, 8), 1), ((1, 28, 28), 2), ((3, 32, 32), 3), ((3, 64, 64), 4)])
@pytest.mark.parametrize("n_classes", [0, 10])
def test_dcgan_players_make_and_judge_images_of_the_configured_size(shape, stages, n_classes):
    c = GANConfig(data_shape=shape, latent_dim=16, width=8, n_classes=n_classes)
    assert dcgan_stages(shape) == stages
    G, D = Generator(c), Discriminator(c)
    init_dcgan_weights(G)
    y = torch.arange(5) % 10 if n_classes else None
    x = G(torch.randn(5, 16), y)
    assert x.shape == (5, *shape) and x.abs().max() <= 1
    assert D(x, y).shape == (5,)


def test_mlp_players_work_on_points_with_unbounded_outputs():
    c = GANConfig(data_shape=(2,), architecture="mlp", latent_dim=4, width=32, tanh=False)
    G, D = Generator(c), Discriminator(c)
    x = G(torch.randn(7, 4))
    assert x.shape == (7, 2) and D(x).shape == (7,)


def test_spectral_norm_bounds_each_discriminator_layer():
    D = Discriminator(GANConfig(data_shape=(1, 28, 28), width=8, spectral_norm=True))
    D(torch.randn(4, 1, 28, 28))  # one forward pass runs the power iteration
    for m in D.modules():
        if isinstance(m, torch.nn.Conv2d):
            sigma = torch.linalg.matrix_norm(m.weight.flatten(1), ord=2)
            assert sigma < 1.3  # the reshaped kernel's norm, which spectral_norm normalises to ~1
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules())


def test_wrong_shapes_and_labels_are_clear_errors():
    c = GANConfig(data_shape=(1, 28, 28), latent_dim=16, width=8, n_classes=10)
    G, D = Generator(c), Discriminator(c)
    with pytest.raises(ValueError, match=r"expects z of shape \(B, 16\), got \(4, 100\)"):
        G(torch.randn(4, 100), torch.zeros(4, dtype=torch.long))
    # The seed literature's bug: a discriminator for 28x28 grey digits fed 64x64 RGB images.
    with pytest.raises(ValueError, match=r"expects inputs of shape \(B, 1, 28, 28\), got \(2, 3, 64, 64\)"):
        D(torch.randn(2, 3, 64, 64), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"pass labels y of shape \(3,\)"):
        G(torch.randn(3, 16))
    with pytest.raises(ValueError, match=r"lie in \[0, 10\), got values from 0 to 10"):
        D(torch.randn(2, 1, 28, 28), torch.tensor([0, 10]))
    with pytest.raises(ValueError, match="unconditional"):
        Generator(GANConfig(latent_dim=16, width=8))(torch.randn(2, 16), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"cannot produce 6x6 images"):
        GANConfig(data_shape=(1, 6, 6))
    with pytest.raises(ValueError, match="square images"):
        GANConfig(data_shape=(1, 28, 32))
    with pytest.raises(ValueError, match="Unknown GAN loss 'wgan'"):
        gan_step(G, D, loss="wgan")


def test_gan_losses_equal_their_definitions_on_probabilities():
    lr, lf = torch.tensor([2.0, -0.5, 0.3]), torch.tensor([-1.0, 0.7, -3.0])
    d_real, d_fake = torch.sigmoid(lr), torch.sigmoid(lf)
    assert torch.allclose(gan_d_loss(lr, lf), -(d_real.log().mean() + (1 - d_fake).log().mean()))
    assert torch.allclose(gan_g_loss(lf), -d_fake.log().mean())
    assert torch.allclose(gan_g_loss(lf, saturating=True), (1 - d_fake).log().mean())
    assert torch.allclose(hinge_d_loss(lr, lf), torch.relu(1 - lr).mean() + torch.relu(1 + lf).mean())
    assert torch.allclose(hinge_g_loss(lf), -lf.mean())


def test_saturating_loss_starves_the_generator_where_d_rejects_its_samples():
    l = torch.tensor([-6.0], requires_grad=True)  # D(G(z)) = sigmoid(-6) ~ 0.0025: an early generator
    (g_sat,) = torch.autograd.grad(gan_g_loss(l, saturating=True), l)
    (g_ns,) = torch.autograd.grad(gan_g_loss(l), l)
    assert abs(g_sat.item()) < 0.003 and abs(g_ns.item()) > 0.99  # -sigmoid(l) vs -(1 - sigmoid(l))


def test_gradient_penalty_of_a_linear_critic_is_its_slope_minus_one_squared():
    w = torch.tensor([3.0, 4.0])  # ||w|| = 5 everywhere
    critic = lambda x, *cond: x @ w  # noqa: E731
    gp = gradient_penalty(critic, torch.randn(6, 2), torch.randn(6, 2))
    assert torch.allclose(gp, torch.tensor(16.0))


@pytest.mark.parametrize("loss", ["bce", "hinge", "wgan-gp"])
def test_the_d_step_leaves_g_alone_and_the_g_step_leaves_d_alone(loss):
    c = GANConfig(data_shape=(1, 8, 8), latent_dim=8, width=8)
    G, D = Generator(c), Discriminator(c)
    opts = {"D": torch.optim.SGD(D.parameters(), lr=0.1), "G": torch.optim.SGD(G.parameters(), lr=0.1)}
    ctx = RecordingCtx(G, D, opts)
    logs = gan_step(G, D, loss=loss, n_critic=2)(torch.rand(4, 1, 8, 8) * 2 - 1, ctx)
    assert ctx.log == [("D", False, True), ("D", False, True), ("G", True, False)]
    assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(p.requires_grad for p in D.parameters())  # D is trainable again after the G step


def test_a_conditional_gan_learns_two_class_conditional_gaussians_through_fit(tmp_path):
    gl.setup(0, quiet=True)
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (4096,), generator=g)
    x = (torch.where(y == 0, -2.0, 2.0) + 0.3 * torch.randn(4096, generator=g)).unsqueeze(1)  # (N, 1)
    c = GANConfig(data_shape=(1,), architecture="mlp", latent_dim=4, width=64, n_classes=2, tanh=False)
    G, D = Generator(c), Discriminator(c)
    opts = {
        "D": torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999)),
        "G": torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999)),
    }
    hist = gl.fit(
        gan_step(G, D),
        models={"G": G, "D": D},
        optimizers=opts,
        data=Batches(x, y, batch_size=128),
        config=gl.TrainConfig(steps=1500, log_every=100, progress=False, device="cpu"),
    )
    assert "d_loss" in hist and "g_loss" in hist
    rng = torch.Generator().manual_seed(1)
    for label, mean in [(0, -2.0), (1, 2.0)]:
        s = G.sample(2000, y=torch.full((2000,), label), generator=rng)
        # A GAN's samples oscillate around their target; an unconditioned G would put both classes near 0.
        assert abs(s.mean().item() - mean) < 0.4, f"class {label}: sample mean {s.mean().item():.2f}, expected {mean}"
        # Within a class, G must still use z: a collapsed generator draws one point per class (std ~0.05).
        assert 0.15 < s.std().item() < 0.6, f"class {label}: sample std {s.std().item():.3f}, expected about 0.3"


def test_range_conversions_round_trip():
    x = torch.rand(3, 1, 4, 4)
    assert torch.allclose(from_gan_range(to_gan_range(x)), x)


def test_sample_is_a_method_of_G_and_the_old_function_still_works_with_a_warning():
    G = Generator(GANConfig(data_shape=(1, 28, 28), latent_dim=8, width=8))
    G.train()
    new = G.sample(3, generator=torch.Generator().manual_seed(0))
    assert new.shape == (3, 1, 28, 28) and G.training, "sample must restore training mode"
    with pytest.warns(DeprecationWarning, match="G.sample"):
        old = gan_module.sample(G, 3, rng=torch.Generator().manual_seed(0))
    assert torch.equal(new, old)
    with pytest.raises(TypeError, match="torch.Generator"):
        G.sample(3, generator=G)
