"""Benchmark: a VAE on binarised MNIST; writes the test negative ELBO and IWAE(k) bound (nats) to results/."""

from __future__ import annotations

import time
from pathlib import Path

import torch
from common import header, parser, save_result

import genai_lib as gl  # after torch, so OpenMP waits as the caller set it (make: genai_lib/__init__.py)
from genai_lib import probe
from genai_lib.data import Batches, load_mnist
from genai_lib.metrics import bits_per_dim, iwae_bound
from genai_lib.models.vae import VAE, VAEConfig, vae_step

CONFIGS = dict(
    smoke=dict(steps=60, batch_size=128, latent_dim=16, hidden=256, architecture="mlp", lr=1e-3, k=10, n_test=200),
    standard=dict(
        steps=4_000, batch_size=128, latent_dim=32, hidden=512, architecture="mlp", lr=1e-3, k=100, n_test=1_000
    ),
    full=dict(
        steps=100_000, batch_size=128, latent_dim=32, hidden=512, architecture="mlp", lr=1e-3, k=1_000, n_test=10_000
    ),
)


def run(budget: str, out_dir: Path) -> dict:
    """Train the budget's VAE with dynamic binarisation, score a fixed binarisation of the test set."""
    cfg = gl.config.Params(**CONFIGS[budget])
    session = gl.setup(seed=0)
    train, test = load_mnist("train"), load_mnist("test")
    x_test = torch.bernoulli(test.x[: cfg.n_test], generator=torch.Generator().manual_seed(0))
    model = VAE(
        VAEConfig(image_shape=(1, 28, 28), latent_dim=cfg.latent_dim, hidden=cfg.hidden, architecture=cfg.architecture)
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)

    elbo_step = vae_step(model)

    def step(x, ctx):
        return elbo_step(torch.bernoulli(x), ctx)  # a fresh binarisation every time: less overfitting

    start = time.perf_counter()
    gl.fit(
        step,
        models=model,
        optimizers=optimizer,
        data=Batches(train.x, batch_size=cfg.batch_size, seed=0),
        config=gl.TrainConfig(steps=cfg.steps, log_every=100, progress=False),
    )
    train_seconds = time.perf_counter() - start
    if probe.skips_evaluation():  # a CPU step-time probe measures the training only (genai_lib.probe)
        return {}

    model.eval()
    g = torch.Generator().manual_seed(1)  # a CPU generator: the library draws on it and moves the noise
    neg_elbo, neg_iwae = [], []
    with torch.no_grad():
        for xb in x_test.split(100):
            xb = xb.to(session.device)
            log_px, kl = model.elbo(xb, generator=g)
            neg_elbo.append(kl - log_px)
            neg_iwae.append(-iwae_bound(model, xb, k=cfg.k, generator=g))
    neg_elbo, neg_iwae = torch.cat(neg_elbo).mean().item(), torch.cat(neg_iwae).mean().item()
    result = {
        **header("vae_mnist", budget, session, train, cfg, start=start, train_seconds=train_seconds),
        "test_images": len(x_test),
        "test_neg_elbo_nats": round(neg_elbo, 3),
        f"test_neg_iwae_k{cfg.k}_nats": round(neg_iwae, 3),
        "test_neg_elbo_bits_per_dim": round(bits_per_dim(neg_elbo, 784), 4),
    }
    save_result(result, out_dir, f"vae_mnist-{budget}-{session.device.type}")
    return result


if __name__ == "__main__":
    args = parser(__doc__).parse_args()
    run(args.budget or gl.get_budget(), args.out)
