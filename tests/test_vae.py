import math

import pytest
import torch

import genai_lib as gl
from genai_lib.data import Batches, load_images
from genai_lib.losses import bernoulli_nll, gaussian_kl, gaussian_nll, log_normal_diag
from genai_lib.metrics import bits_per_dim, iwae_bound
from genai_lib.models.vae import VAE, VAEConfig, vae_step


def test_closed_form_kl_matches_monte_carlo():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.tensor([[0.5, -1.0, 2.0]]), torch.tensor([[0.3, -0.7, 0.0]])
    z = mu + torch.exp(0.5 * logvar) * torch.randn(200_000, 3, generator=g)
    mc = log_normal_diag(z, mu, logvar) - log_normal_diag(z, torch.zeros(3), torch.zeros(3))
    se = mc.std() / math.sqrt(len(mc))
    assert abs(mc.mean() - gaussian_kl(mu, logvar)[0]) < 4 * se
    assert gaussian_kl(torch.zeros(2, 4), torch.zeros(2, 4)).abs().max() == 0  # KL(p || p) = 0


def test_likelihoods_match_torch_distributions():
    x = torch.rand(3, 1, 4, 4).round()
    logits = torch.randn(3, 1, 4, 4)
    ref = -torch.distributions.Bernoulli(logits=logits).log_prob(x).flatten(1).sum(1)
    assert torch.allclose(bernoulli_nll(logits, x), ref, atol=1e-5)
    mean, sigma = torch.randn(3, 1, 4, 4), 0.3
    ref = -torch.distributions.Normal(mean, sigma).log_prob(x).flatten(1).sum(1)
    assert torch.allclose(gaussian_nll(mean, x, math.log(sigma)), ref, atol=1e-4)


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
def test_vae_shapes_and_encode_decode(architecture):
    cfg = VAEConfig(image_shape=(1, 8, 8), latent_dim=3, hidden=32, architecture=architecture)
    vae = VAE(cfg)
    x = torch.rand(5, 1, 8, 8)
    mu, logvar = vae.encode(x)
    assert mu.shape == logvar.shape == (5, 3) and vae.decode(mu).shape == (5, 1, 8, 8)
    out = vae(x)
    assert out.recon.shape == x.shape and out.z.shape == (5, 3)
    samples = vae.sample(7, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (7, 1, 8, 8) and 0 <= samples.min() and samples.max() <= 1 and vae.training


def test_wrong_shapes_and_configs_are_clear_errors():
    vae = VAE(VAEConfig(image_shape=(1, 28, 28)))
    with pytest.raises(
        ValueError, match=r"Expected images of shape \(B, 1, 28, 28\), got \(2, 1, 8, 8\).*image_shape=\(1, 8, 8\)"
    ):
        vae.encode(torch.rand(2, 1, 8, 8))
    with pytest.raises(ValueError, match="multiples of 4"):
        VAEConfig(image_shape=(1, 10, 10), architecture="conv")
    with pytest.raises(ValueError, match="Unknown likelihood 'poisson'"):
        VAEConfig(likelihood="poisson")


def _trained_vae(steps=150):
    gl.setup(0, quiet=True)
    data = load_images("digits")
    x = (data.x > 0.5).float()  # binarised digits
    vae = VAE(VAEConfig(image_shape=(1, 8, 8), latent_dim=4, hidden=64))
    history = gl.fit(
        vae_step(vae),
        models=vae,
        optimizers=torch.optim.Adam(vae.parameters(), lr=3e-3),
        data=Batches(x, batch_size=64),
        config=gl.TrainConfig(steps=steps, log_every=10),
    )
    return vae, x, history


def test_training_through_fit_lowers_the_negative_elbo():
    _, _, history = _trained_vae()
    assert history["loss"][-1] < 0.7 * history["loss"][0]
    assert history.keys() == ["loss", "recon", "kl"]


def test_iwae_k1_is_the_elbo_and_the_bound_tightens_with_k():
    vae, x, _ = _trained_vae()
    vae.eval()
    x = x[:64]
    with torch.no_grad():
        # k = 1 with the same noise is exactly the one-sample ELBO with a Monte Carlo KL
        iwae1 = iwae_bound(vae, x, k=1, generator=torch.Generator().manual_seed(5))
        mu, logvar = vae.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=torch.Generator().manual_seed(5))
        elbo_mc = (
            vae.log_likelihood(vae.decode(z), x) + log_normal_diag(z, 0 * z, 0 * z) - log_normal_diag(z, mu, logvar)
        )
        assert torch.allclose(iwae1, elbo_mc, atol=1e-4)
        # and in expectation it equals the ELBO with the closed-form KL
        log_px, kl = zip(*(vae.elbo(x, generator=torch.Generator().manual_seed(s)) for s in range(200)), strict=True)
        elbo = (torch.stack(log_px).mean(0) - kl[0]).mean()
        iwae1_mean = torch.stack(
            [iwae_bound(vae, x, k=1, generator=torch.Generator().manual_seed(100 + s)) for s in range(200)]
        ).mean()
        assert abs(iwae1_mean - elbo) < 0.05 * abs(elbo)
        bounds = [
            iwae_bound(vae, x, k=k, generator=torch.Generator().manual_seed(1)).mean().item() for k in (1, 10, 100)
        ]
    assert bounds[0] < bounds[1] < bounds[2], bounds


def test_bits_per_dim():
    assert bits_per_dim(784 * math.log(2), 784) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="k must be at least 1"):
        iwae_bound(VAE(VAEConfig(image_shape=(1, 8, 8))), torch.rand(1, 1, 8, 8), k=0)


@pytest.mark.parametrize("scale, hint", [(255.0, "divide by 255"), ("pm1", r"\(x \+ 1\) / 2")])
def test_images_on_the_wrong_scale_are_clear_errors(scale, hint):
    x = torch.rand(2, 1, 8, 8)
    x = x * 2 - 1 if scale == "pm1" else x * scale
    with pytest.raises(ValueError, match=rf"Bernoulli likelihood needs pixel values in \[0, 1\].*{hint}"):
        VAE(VAEConfig(image_shape=(1, 8, 8))).encode(x)
    VAE(VAEConfig(image_shape=(1, 8, 8), likelihood="gaussian")).encode(x)  # a Gaussian decoder takes any scale


def test_a_latent_of_the_wrong_dimension_is_a_clear_error():
    vae = VAE(VAEConfig(image_shape=(1, 8, 8), latent_dim=4))
    with pytest.raises(
        ValueError, match=r"Expected latents of shape \(B, 4\), got \(3, 16\): this VAE has latent_dim=4"
    ):
        vae.decode(torch.randn(3, 16))
    assert vae.decode(torch.randn(3, 4)).shape == (3, 1, 8, 8)
