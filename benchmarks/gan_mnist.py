"""Benchmark: chapter 4's class-conditional DCGAN (hinge loss + spectral norm) on MNIST.

Writes the Fréchet distance on the feature classifier's features, with its floor (real test images) and
ceiling (uniform noise) at the same N, precision, recall and class-conditional accuracy to results/.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from common import dcgan_players, header, mnist_measuring_stick, parser, save_result

import genai_lib as gl  # after torch, so OpenMP waits as the caller set it (make: genai_lib/__init__.py)
from genai_lib import probe
from genai_lib import sample_quality as sq
from genai_lib.data import Batches, load_mnist
from genai_lib.models.gan import (
    GANConfig,
    from_gan_range,
    gan_step,
    to_gan_range,
)

# The model and full settings of book/part1/04_gan_training.md; standard trains twice as long as the chapter's
# standard budget (a script need not fit in a notebook's few minutes).
CONFIGS = dict(
    smoke=dict(steps=30, batch_size=32, width=16, latent_dim=64, lr=2e-4, loss="hinge", n_eval=200, clf_steps=200),
    standard=dict(
        steps=2_000, batch_size=64, width=32, latent_dim=64, lr=2e-4, loss="hinge", n_eval=1_000, clf_steps=1_500
    ),
    full=dict(
        steps=20_000, batch_size=128, width=64, latent_dim=64, lr=2e-4, loss="hinge", n_eval=10_000, clf_steps=1_500
    ),
)
TARGETS = {"conditional_accuracy_at_least": 0.95, "fd_over_floor_at_most": 3.0}  # DESIGN §7, full budget


def run(budget: str, out_dir: Path) -> dict:
    """Train the budget's conditional GAN, then measure it beside the floor and the ceilings."""
    cfg = gl.config.Params(**CONFIGS[budget])
    session = gl.setup(seed=0)
    train, test = load_mnist("train"), load_mnist("test")
    config = GANConfig(latent_dim=cfg.latent_dim, width=cfg.width, n_classes=10, spectral_norm=cfg.loss == "hinge")
    torch.manual_seed(0)
    G, D, optimizers = dcgan_players(config, lr_d=cfg.lr)
    start = time.perf_counter()
    history = gl.fit(
        gan_step(G, D, loss=cfg.loss),
        models={"G": G, "D": D},
        optimizers=optimizers,
        data=Batches(to_gan_range(train.x), train.y, batch_size=cfg.batch_size, seed=0),
        config=gl.TrainConfig(steps=cfg.steps, log_every=100, grad_clip=None, progress=False),
    )
    train_seconds = time.perf_counter() - start
    if probe.skips_evaluation():  # a CPU step-time probe measures the training only (genai_lib.probe)
        return {}

    classifier, reference, labels, candidates, g = mnist_measuring_stick(
        train, test, n_eval=cfg.n_eval, clf_steps=cfg.clf_steps, device=session.device
    )
    n = len(labels)
    candidates["model"] = (from_gan_range(G.sample(n, y=labels, generator=g)).cpu(), labels)
    rows = {r["name"]: r for r in sq.measure(classifier, reference, candidates)}
    model, floor = rows["model"], rows[sq.FLOOR]
    ratio = sq.fd_ratio(list(rows.values()), "model")
    result = {
        **header("gan_mnist", budget, session, train, cfg, start=start, train_seconds=train_seconds),
        "n_images": n,
        "frechet_distance": round(model["fd"], 3),
        "fd_floor_test_vs_train": round(floor["fd"], 3),
        "fd_ceiling_uniform_noise": round(rows["uniform noise (ceiling)"]["fd"], 3),
        "fd_blurred_test": round(rows["blurred test images"]["fd"], 3),
        "fd_pixel_shuffled_test": round(rows["pixel-shuffled test images"]["fd"], 3),
        "fd_over_floor": round(ratio, 3),
        "precision": round(model["precision"], 4),
        "recall": round(model["recall"], 4),
        "floor_precision": round(floor["precision"], 4),
        "floor_recall": round(floor["recall"], 4),
        "conditional_accuracy": round(model["accuracy"], 4),
        "classifier_accuracy_on_real_test": round(floor["accuracy"], 4),
        "final_d_loss": round(history.last("d_loss"), 4),
        "final_g_loss": round(history.last("g_loss"), 4),
        "targets_full_budget": TARGETS,
        "targets_met": {
            "conditional_accuracy": model["accuracy"] >= TARGETS["conditional_accuracy_at_least"],
            "fd_over_floor": ratio <= TARGETS["fd_over_floor_at_most"],
        },
        "table": sq.format_table(list(rows.values())).splitlines(),
    }
    save_result(result, out_dir, f"gan_mnist-{budget}-{session.device.type}")
    return result


if __name__ == "__main__":
    args = parser(__doc__).parse_args()
    run(args.budget or gl.get_budget(), args.out)
