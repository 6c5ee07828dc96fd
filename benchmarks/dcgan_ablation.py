"""Ablation: what raises the share of chapter 3's DCGAN samples that a digit classifier reads confidently.

Trains chapter 3's DCGAN (book/part1/03_dcgan.md: DCGAN initialisation, Adam with beta1 = 0.5, the
non-saturating loss) on the MNIST training images with the fields given by --set changed, keeps an EMA of the
generator's weights beside it, and measures on --n samples from fixed noise: the share the feature classifier
(chapter 4's, 1,500 steps) labels with confidence >= 0.9, and the fewest samples any class gets, for G and for
its EMA, each in eval mode (BatchNorm's running averages) and in train mode (batch statistics). `augment=true`
applies DiffAugment to every input of D, as chapter 3's section 7 does.

    python benchmarks/dcgan_ablation.py --name ttur --set lr_d=4e-4 lr_g=1e-4   # about 4 minutes on 2 cores
"""

from __future__ import annotations

import copy
import json
import time

import torch
from common import dcgan_players, parser, provenance, save_result

import genai_lib as gl  # after torch, so OpenMP waits as the caller set it (make: genai_lib/__init__.py)
from genai_lib.augment import diff_augment
from genai_lib.data import Batches, load_images
from genai_lib.ema import EMA
from genai_lib.models.classifier import embed, feature_classifier
from genai_lib.models.gan import GANConfig, gan_step, to_gan_range
from genai_lib.nn import evaluating

# Chapter 3's settings per budget; --set overrides any of them.
CONFIGS = dict(
    smoke=dict(
        dataset="digits",
        width=16,
        latent_dim=32,
        batch_size=64,
        steps=20,
        lr_d=2e-4,
        lr_g=2e-4,
        ema_decay=0.99,
        clf_steps=100,
        augment=False,
    ),  # fmt: skip
    standard=dict(
        dataset="mnist",
        width=32,
        latent_dim=64,
        batch_size=64,
        steps=2_500,
        lr_d=2e-4,
        lr_g=2e-4,
        ema_decay=0.999,
        clf_steps=1_500,
        augment=False,
    ),  # fmt: skip
)


def confident_share(classifier, images: torch.Tensor) -> dict:
    """The share of images (in [-1, 1]) read with confidence >= 0.9, and the fewest argmax labels of a class."""
    p = embed(classifier, ((images + 1) / 2).clamp(0, 1), logits=True).softmax(1)  # (n, classes)
    counts = torch.bincount(p.argmax(1), minlength=p.size(1))
    return {"share_confident": round((p.max(1).values >= 0.9).float().mean().item(), 4), "min_class": int(counts.min())}


def run(budget: str, name: str, overrides: dict, n: int, seed: int, out, psis: tuple[float, ...] = (1.0,)) -> dict:
    """Train the variant and measure G and its EMA in both BatchNorm modes; returns the result."""
    cfg = gl.config.Params(**{**CONFIGS[budget], **overrides})
    session = gl.setup(seed=seed)
    x = to_gan_range(load_images(cfg.dataset, "train").x)
    config = GANConfig(data_shape=tuple(x.shape[1:]), latent_dim=cfg.latent_dim, width=cfg.width)
    G, D, optimizers = dcgan_players(config, lr_d=cfg.lr_d, lr_g=cfg.lr_g)
    ema = EMA(G, decay=cfg.ema_decay)
    H = x.shape[-1]  # DiffAugment as chapter 3's small-data section applies it: shifts of H/8, a cutout of H/4
    inner = gan_step(
        G, D, augment=diff_augment(max_shift=max(1, H // 8), cutout=max(1, H // 4)) if cfg.augment else None
    )

    def step(batch, ctx):
        logs = inner(batch, ctx)
        ema.update(G)
        return logs

    start = time.perf_counter()
    gl.fit(step, models={"G": G, "D": D, "ema": ema}, optimizers=optimizers,
           data=Batches(x, batch_size=cfg.batch_size, seed=seed),
           config=gl.TrainConfig(steps=cfg.steps, grad_clip=None, log_every=100, progress=False))  # fmt: skip
    train_seconds = time.perf_counter() - start
    classifier = feature_classifier(cfg.dataset, steps=cfg.clf_steps, verbose=False)
    z = torch.randn(n, cfg.latent_dim, generator=torch.Generator().manual_seed(7))
    rows: dict = {}
    by_psi: dict = {str(psi): {} for psi in (1.0, *psis)}  # z ~ N(0, psi^2 I): a temperature for the generator
    for label, net in (("G", G), ("ema", ema.module)):
        with torch.no_grad(), evaluating(net):
            for psi in by_psi:
                by_psi[psi][f"{label}_eval"] = confident_share(classifier, net(float(psi) * z.to(session.device)).cpu())
        rows[f"{label}_eval"] = by_psi["1.0"][f"{label}_eval"]
        # Batch statistics, in batches of the training size, on a copy: a train-mode pass moves BatchNorm's
        # running averages, which the eval-mode rows read.
        train_mode = copy.deepcopy(net).train()
        with torch.no_grad():
            B = cfg.batch_size
            images = torch.cat([train_mode(z[i : i + B].to(session.device)).cpu() for i in range(0, n, B)])
        rows[f"{label}_train_mode"] = confident_share(classifier, images)
    real = load_images(cfg.dataset, "test").x[:n]
    result = {
        "study": "dcgan_ablation",
        "variant": name,
        "overrides": overrides,
        "budget": budget,
        "seed": seed,
        **provenance(session.device, session.precision),
        "config": cfg.as_dict(),
        "n_samples": n,
        "train_seconds": round(train_seconds, 1),
        "real_test_images": confident_share(classifier, real * 2 - 1),
        **rows,
        "by_psi": by_psi,
    }
    save_result(result, out / "dcgan_ablation", f"{name}-{budget}-seed{seed}", shown={name: rows})
    return result


if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("--name", required=True)
    p.add_argument("--set", nargs="*", default=[], help="config fields, as field=json_value")
    p.add_argument("--n", type=int, default=1000, help="samples measured")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--psi", type=float, nargs="+", default=[1.0], help="noise scales z ~ N(0, psi^2 I) measured")
    a = p.parse_args()
    sets = {k: json.loads(v) for k, v in (s.split("=", 1) for s in a.set)}
    run(a.budget or gl.get_budget(), a.name, sets, a.n, a.seed, a.out, tuple(a.psi))
