"""Benchmark: what `gl.fit` costs over a bare training loop, for each model family the book trains.

For the GPT (chapter 10), the diffusion U-Net (chapter 12), the DCGAN (chapter 3) and the VAE (chapter 5), at the
budget's shape, builds one model and its optimiser(s) and trains it alternately in chunks of `chunk` steps with
`gl.fit` and the family's step function (`lm_step`, `diffusion_step`, `gan_step`, `vae_step`), and with a bare
loop that computes the same loss on the same batches (zero_grad, backward, step). Both draw their batches from
the same `Batches`; fit runs without gradient clipping, checkpoints or a progress bar, as the bare loop does, so
the difference is fit's own machinery (its step context, history, logging, RNG and interrupt handling). The
result records, per family, the median over chunks of fit's time over the bare loop's, and the overhead in %
with a 95% interval.
The target (issue 23): overhead <= 3% for every family. Our GPT against an independent minimal GPT is
`gpt_char.py`'s measurement (its time ratio).

    .venv/bin/python benchmarks/speed.py --budget standard   # a few minutes on 2 CPU cores
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from common import parser, provenance, save_result

import genai_lib as gl  # after torch, so OpenMP waits as the caller set it (make: genai_lib/__init__.py)
from genai_lib.data import Batches
from genai_lib.device import synchronize
from genai_lib.diffusion import NoiseSchedule, diffusion_step
from genai_lib.models.gan import Discriminator, GANConfig, Generator, gan_step
from genai_lib.models.gpt import GPT, GPTConfig, lm_step
from genai_lib.models.unet import UNet, UNetConfig
from genai_lib.models.vae import VAE, VAEConfig, vae_step

CONFIGS = dict(
    smoke=dict(
        chunk=3,
        chunks=2,
        pair_seconds=0.0,
        batch=8,
        gpt=dict(n_layer=1, n_head=2, n_embd=32, block_size=32),
        unet_channels=8,
        gan_width=8,
        vae_hidden=32,
    ),  # fmt: skip
    standard=dict(
        chunk=15,
        chunks=12,
        pair_seconds=20.0,  # families with cheap steps measure more chunk pairs, in about this many seconds
        batch=64,
        gpt=dict(n_layer=3, n_head=4, n_embd=96, block_size=64),
        unet_channels=16,
        gan_width=32,
        vae_hidden=256,
    ),  # fmt: skip
)
TARGETS = {"fit_overhead_percent_at_most": 3.0}
Family = tuple[dict, dict, Callable, Callable[[object], None], Batches]  # models, optimisers, step, bare step, data


def gpt_family(cfg, device) -> Family:
    """Chapter 10's GPT on random token windows."""
    model = GPT(GPTConfig(vocab_size=65, **cfg.gpt)).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    T = cfg.gpt["block_size"]
    tokens = torch.randint(0, 65, (512, T + 1), generator=torch.Generator().manual_seed(0))

    def bare(batch) -> None:
        x, y = (t.to(device) for t in batch)
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return {"model": model}, {"model": opt}, lm_step(model), bare, Batches(tokens[:, :-1], tokens[:, 1:],
                                                                            batch_size=cfg.batch, seed=0)  # fmt: skip


def diffusion_family(cfg, device) -> Family:
    """Chapter 12's class-conditional U-Net on 28x28 images, with label dropout."""
    net = UNet(UNetConfig(image_shape=(1, 28, 28), base_channels=cfg.unet_channels, channel_mults=[1, 2],
                          attention=False, n_classes=10)).to(device)  # fmt: skip
    schedule = NoiseSchedule(200, "cosine", prediction="v")
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(512, 1, 28, 28, generator=g) * 2 - 1, torch.randint(0, 10, (512,), generator=g)

    def bare(batch) -> None:  # bare loop: diffusion_step's work, written out
        x_0, cond = (t.to(device) for t in batch)
        loss = schedule.loss(net, x_0, cond=cond, p_uncond=0.15, null_cond=net.null_cond)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step = diffusion_step(net, schedule, p_uncond=0.15)
    return {"model": net}, {"model": opt}, step, bare, Batches(x, y, batch_size=cfg.batch, seed=0)


def gan_family(cfg, device) -> Family:
    """Chapter 3's DCGAN on 28x28 images: one D step, then one non-saturating G step."""
    config = GANConfig(data_shape=(1, 28, 28), latent_dim=64, width=cfg.gan_width)
    G, D = Generator(config).to(device), Discriminator(config).to(device)
    opts = {"D": torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999)),
            "G": torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))}  # fmt: skip
    x = torch.rand(512, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1

    def bare(batch) -> None:  # the work of gan_step, written out: a fresh z for each player, D frozen for G's
        real = batch.to(device)
        fake = G(torch.randn(len(real), 64, device=device)).detach()
        d_loss = F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()  # -log D(x) - log(1 - D(G(z)))
        opts["D"].zero_grad(set_to_none=True)
        d_loss.backward()
        opts["D"].step()
        D.requires_grad_(False)
        g_loss = F.softplus(-D(G(torch.randn(len(real), 64, device=device)))).mean()  # -log D(G(z))
        opts["G"].zero_grad(set_to_none=True)
        g_loss.backward()
        opts["G"].step()
        D.requires_grad_(True)

    return {"G": G, "D": D}, opts, gan_step(G, D), bare, Batches(x, batch_size=cfg.batch, seed=0)


def vae_family(cfg, device) -> Family:
    """Chapter 5's VAE on binarised 28x28 images."""
    model = VAE(VAEConfig(image_shape=(1, 28, 28), hidden=cfg.vae_hidden)).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = (torch.rand(512, 1, 28, 28, generator=torch.Generator().manual_seed(0)) > 0.5).float()

    def bare(batch) -> None:
        log_px, kl = model.elbo(batch.to(device))
        loss = (kl - log_px).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return {"model": model}, {"model": opt}, vae_step(model), bare, Batches(x, batch_size=cfg.batch, seed=0)


def timed(fn: Callable[[], None], device: torch.device) -> float:
    synchronize(device)
    t0 = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - t0


def measure(family: Family, cfg, device: torch.device) -> dict:
    """Alternate fit chunks and bare chunks (ABBA); the median of fit's time over the bare loop's, per chunk pair.

    The machine's speed drifts by several per cent from one chunk to the next, so each ratio is noisy; a family
    whose steps are cheap measures more pairs (at least `chunks`, about `pair_seconds` of bare steps in all).
    """
    models, optimizers, step, bare, data = family
    train = gl.TrainConfig(steps=cfg.chunk, grad_clip=None, log_every=max(1, cfg.chunk // 5), progress=False)

    def with_fit() -> None:
        gl.fit(step, models=models, optimizers=optimizers, data=data, config=train)

    def with_bare() -> None:
        for _ in range(cfg.chunk):
            bare(next(data))

    with_fit()  # warm-up: allocations, kernels, caches
    pairs = max(cfg.chunks, round(cfg.pair_seconds / timed(with_bare, device)))
    ratios, fit_s, bare_s = [], [], []
    for i in range(pairs):
        # Which arm goes first alternates, so that a machine speeding up or slowing down favours neither.
        if i % 2 == 0:
            fit_s.append(timed(with_fit, device))
            bare_s.append(timed(with_bare, device))
        else:
            bare_s.append(timed(with_bare, device))
            fit_s.append(timed(with_fit, device))
        ratios.append(fit_s[-1] / bare_s[-1])
    ratio = statistics.median(ratios)
    low, high = median_interval(ratios)
    return {
        "seconds_per_step_fit": round(statistics.median(fit_s) / cfg.chunk, 5),
        "seconds_per_step_bare": round(statistics.median(bare_s) / cfg.chunk, 5),
        "median_ratio_fit_over_bare": round(ratio, 4),
        "fit_overhead_percent": round(100 * (ratio - 1), 2),
        "fit_overhead_percent_95": [round(100 * (low - 1), 2), round(100 * (high - 1), 2)],
        "ratios": [round(r, 4) for r in ratios],
    }


def median_interval(xs: list[float]) -> tuple[float, float]:
    """A distribution-free ~95% interval for the median: the order statistics n/2 -+ 1.96 sqrt(n)/2 (sign test)."""
    xs, n = sorted(xs), len(xs)
    half = 0.98 * n**0.5
    return xs[max(0, int(n / 2 - half))], xs[min(n - 1, int(math.ceil(n / 2 + half)) - 1)]


def run(budget: str, out_dir: Path) -> dict:
    """Every family at the budget's shape; writes results/speed-<budget>-<device>.json."""
    cfg = gl.config.Params(**CONFIGS[budget])
    session = gl.setup(seed=0)
    start = time.perf_counter()
    families = {"gpt": gpt_family, "diffusion_unet": diffusion_family, "dcgan": gan_family, "vae": vae_family}
    rows = {name: measure(build(cfg, session.device), cfg, session.device) for name, build in families.items()}
    limit = TARGETS["fit_overhead_percent_at_most"]
    result = {
        "benchmark": "speed",
        "budget": budget,
        **provenance(session.device, session.precision),
        "config": cfg.as_dict(),
        "families": rows,
        "wall_seconds": round(time.perf_counter() - start, 1),
        "targets": TARGETS,
        "targets_met": {name: row["fit_overhead_percent"] <= limit for name, row in rows.items()},
    }
    save_result(result, out_dir, f"speed-{budget}-{session.device.type}")
    return result


if __name__ == "__main__":
    args = parser(__doc__).parse_args()
    run(args.budget or gl.get_budget(), args.out)
