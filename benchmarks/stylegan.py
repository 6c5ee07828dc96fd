"""Benchmark: chapter 4b's style-based generator against chapter 3's DCGAN, for the same training time.

Both train on the procedural colour scenes (`load_images("scenes")`, available offline at every budget): the
StyleGAN for the budget's steps, the DCGAN for as many steps as fit in the StyleGAN's training seconds (its
step time is measured first). Each is then measured in the factor judge's features, the measuring stick of
chapter 4b: Fréchet distance in units of its floor (real test images against real training images), precision
and recall; for the StyleGAN also the truncation sweep psi = 1, 0.7, 0.5. Issue 20's target, at `full` on one
GPU: the StyleGAN's FD/floor below the DCGAN's by more than the spread over three seeds (--seed 0, 1, 2).

    .venv/bin/python benchmarks/stylegan.py --budget standard --seed 0
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from common import dcgan_players, header, parser, save_result

import genai_lib as gl  # after torch, so OpenMP waits as the caller set it (make: genai_lib/__init__.py)
from genai_lib import sample_quality as sq
from genai_lib.data import Batches, load_images
from genai_lib.ema import EMA
from genai_lib.models.factor_judge import factor_judge
from genai_lib.models.gan import (
    Discriminator,
    GANConfig,
    from_gan_range,
    gan_step,
    to_gan_range,
)
from genai_lib.models.stylegan import StyleGANConfig, StyleGenerator, stylegan_step

# Chapter 4b's settings (book/part1/04b_stylegan.md), on the scenes at every budget; the DCGAN is chapter 3's.
CONFIGS = dict(
    smoke=dict(n_train=512, n_test=256, latent_dim=32, w_dim=32, width=4, max_channels=16, d_width=8, batch_size=16,
               steps=20, r1_gamma=0.1, judge_steps=40, n_eval=128, dcgan_width=8),
    standard=dict(n_train=10_000, n_test=2_000, latent_dim=64, w_dim=64, width=8, max_channels=32, d_width=16,
                  batch_size=32, steps=1_000, r1_gamma=0.1, judge_steps=400, n_eval=1_000, dcgan_width=16),
    full=dict(n_train=50_000, n_test=10_000, latent_dim=128, w_dim=128, width=32, max_channels=256, d_width=64,
              batch_size=64, steps=5_000, r1_gamma=0.01, judge_steps=2_000, n_eval=5_000, dcgan_width=64),
)  # fmt: skip
PSI = (1.0, 0.7, 0.5)


def train_stylegan(cfg, x_train: torch.Tensor, seed: int):
    """StyleGAN 2's recipe as the chapter trains it; returns the EMA generator and the training seconds."""
    torch.manual_seed(seed)
    config = StyleGANConfig(image_shape=tuple(x_train.shape[1:]), latent_dim=cfg.latent_dim, w_dim=cfg.w_dim,
                            mapping_layers=2, width=cfg.width, max_channels=cfg.max_channels)  # fmt: skip
    G, D = StyleGenerator(config), Discriminator(GANConfig(data_shape=config.image_shape, width=cfg.d_width))
    ema = EMA(G, decay=0.999)
    optimizers = {
        name: torch.optim.Adam(m.parameters(), lr=2e-3, betas=(0.0, 0.99)) for name, m in (("D", D), ("G", G))
    }
    history = gl.fit(stylegan_step(G, D, ema=ema, r1_gamma=cfg.r1_gamma), models={"G": G, "D": D, "ema": ema},
                     optimizers=optimizers,
                     data=Batches(x_train, batch_size=cfg.batch_size, seed=seed),
                     config=gl.TrainConfig(steps=cfg.steps, grad_clip=None, log_every=100, progress=False))  # fmt: skip
    return ema.module, history.seconds


def dcgan_parts(cfg, shape, seed: int):
    """Chapter 3's DCGAN for colour images: generator, discriminator and their Adam optimizers."""
    torch.manual_seed(seed)
    return dcgan_players(GANConfig(data_shape=shape, latent_dim=cfg.latent_dim, width=cfg.dcgan_width))


def train_dcgan(cfg, x_train: torch.Tensor, seed: int, seconds: float):
    """The DCGAN trained for about `seconds`: its step time measured on 20 steps, then the steps that fit."""
    shape = tuple(x_train.shape[1:])

    def fit(steps: int):
        G, D, optimizers = dcgan_parts(cfg, shape, seed)
        history = gl.fit(gan_step(G, D), models={"G": G, "D": D}, optimizers=optimizers,
                         data=Batches(x_train, batch_size=cfg.batch_size, seed=seed),
                         config=gl.TrainConfig(steps=steps, grad_clip=None, log_every=100, progress=False))  # fmt: skip
        return G, history

    _, probe = fit(20)
    steps = max(20, round(seconds / (probe.seconds / 20)))
    G, history = fit(steps)
    return G, history.seconds, steps


def run(budget: str, seed: int, out_dir: Path) -> dict:
    """Train both generators for the same time, then measure them and the truncation sweep with the judge."""
    cfg = gl.config.Params(**CONFIGS[budget])
    session = gl.setup(seed=seed)
    start = time.perf_counter()
    train, test = load_images("scenes", "train", n=cfg.n_train), load_images("scenes", "test", n=cfg.n_test)
    x_train = to_gan_range(train.x)  # fit moves each batch to the device
    G_style, style_seconds = train_stylegan(cfg, x_train, seed)
    G_dcgan, dcgan_seconds, dcgan_steps = train_dcgan(cfg, x_train, seed, style_seconds)

    judge = factor_judge("scenes", steps=cfg.judge_steps, data=train, device=session.device)
    n = min(cfg.n_eval, len(test), len(train))
    g = torch.Generator().manual_seed(seed)
    reference = train.x[torch.randperm(len(train), generator=g)[:n]]
    candidates = sq.baselines(test.x, n, seed=seed)
    candidates["DCGAN (chapter 3)"] = from_gan_range(G_dcgan.sample(n, generator=g)).cpu()
    for psi in PSI:
        candidates[f"StyleGAN, psi = {psi}"] = from_gan_range(G_style.sample(n, psi=psi, generator=g)).cpu()
    rows = sq.measure(judge, reference, candidates)
    by_name = {r["name"]: r for r in rows}

    def scores(name: str) -> dict:
        return {"fd_over_floor": round(sq.fd_ratio(rows, name), 3), "precision": round(by_name[name]["precision"], 4),
                "recall": round(by_name[name]["recall"], 4)}  # fmt: skip

    result = {
        **header("stylegan", budget, session, train, cfg, start=start, train_seconds=style_seconds + dcgan_seconds),
        "seed": seed,
        "n_images": n,
        "stylegan": {"steps": cfg.steps, "train_seconds": round(style_seconds, 1), **scores("StyleGAN, psi = 1.0")},
        "dcgan": {"steps": dcgan_steps, "train_seconds": round(dcgan_seconds, 1), **scores("DCGAN (chapter 3)")},
        "truncation": {str(psi): scores(f"StyleGAN, psi = {psi}") for psi in PSI},
        "floor": {
            "fd": round(by_name[sq.FLOOR]["fd"], 3),
            "precision": round(by_name[sq.FLOOR]["precision"], 4),
            "recall": round(by_name[sq.FLOOR]["recall"], 4),
        },  # fmt: skip
        "target_full_budget": "StyleGAN FD/floor below the DCGAN's by more than the spread over seeds 0, 1, 2",
        "table": sq.format_table(rows).splitlines(),
    }
    save_result(result, out_dir, f"stylegan-{budget}-{session.device.type}-seed{seed}")
    return result


if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    run(args.budget or gl.get_budget(), args.seed, args.out)
