"""Benchmark: chapter 12's class-conditional diffusion model (label dropout, classifier-free guidance) on MNIST.

Trains the chapter's U-Net with label dropout, predicting v (chapter 12), then draws guided samples (--guidance,
default 2.0) with DDIM and writes to results/: the feature classifier's conditional accuracy, the Fréchet distance
with its floor (real test images) and ceiling (uniform noise) at the same N, precision and recall; and, on the
same trained model, samples per second of DDPM (all T steps) and of DDIM at several step counts. (Accuracy by
sampler, on 500 samples each, is `mnist_prediction.py`'s measurement.)
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from common import header, mnist_measuring_stick, parser, save_result

import genai_lib as gl  # after torch, so OpenMP waits as the caller set it (make: genai_lib/__init__.py)
from genai_lib import probe
from genai_lib import sample_quality as sq
from genai_lib.data import Batches, load_mnist
from genai_lib.diffusion import NoiseSchedule, diffusion_step, sample_diffusion
from genai_lib.ema import EMA
from genai_lib.models.unet import UNet, UNetConfig

# The model and full settings of book/part4/12_guidance.md (cosine schedule, p_uncond 0.15, EMA, DDIM with
# x̂_0 clipped to [-1, 1]), with the network predicting v: chapter 12's recommendation for DDIM, measured by
# benchmarks/mnist_prediction.py. The chapter's standard budget uses 8x8 digits; here standard is 28x28 MNIST with a
# small U-Net, about five minutes of 2 CPU cores. speed_steps are the DDIM step counts timed beside DDPM's T steps.
CONFIGS = dict(
    smoke=dict(
        base_channels=8,
        channel_mults=[1, 2],
        attention=False,
        T=50,
        steps=20,
        batch_size=32,
        lr=2e-3,
        p_uncond=0.15,
        prediction="v",
        ema_decay=0.99,
        sample_steps=10,
        n_eval=100,
        n_speed=20,
        speed_steps=[5, 10],
        clf_steps=200,
    ),
    standard=dict(
        base_channels=16,
        channel_mults=[1, 2],
        attention=False,
        T=200,
        steps=700,
        batch_size=64,
        lr=2e-3,
        p_uncond=0.15,
        prediction="v",
        ema_decay=0.995,
        sample_steps=25,
        n_eval=500,
        n_speed=50,
        speed_steps=[10, 25, 50],
        clf_steps=1_000,
    ),
    full=dict(
        base_channels=64,
        channel_mults=[1, 2, 2],
        attention=True,
        T=1000,
        steps=6_000,
        batch_size=512,
        lr=4e-4,
        p_uncond=0.15,
        prediction="v",
        ema_decay=0.999,
        sample_steps=50,
        n_eval=10_000,
        n_speed=500,
        speed_steps=[10, 25, 50],
        clf_steps=1_500,
    ),
)
TARGETS = {"conditional_accuracy_at_least": 0.95}  # DESIGN §7 / chapter 12, full budget


def draw(
    net: UNet,
    ema: EMA,
    schedule: NoiseSchedule,
    labels: torch.Tensor,
    *,
    guidance: float,
    sampler: str,
    steps: int,
    eta: float = 0.0,
    clip: bool = True,
    x_T: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, float]:
    """Guided samples of `labels` from the EMA weights, in [-1, 1] on the CPU, and the seconds they took."""
    device = next(ema.parameters()).device
    generator = torch.Generator().manual_seed(1) if generator is None else generator
    if device.type == "cuda":  # time the work, not its launch
        torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    x = sample_diffusion(
        ema, schedule, (len(labels), *net.config.image_shape), cond=labels, guidance_scale=guidance,
        null_cond=net.null_cond, sampler=sampler, num_inference_steps=steps, eta=eta,
        clip_sample=1.0 if clip else None, x_T=x_T, generator=generator,
    )  # fmt: skip
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return x.cpu(), time.perf_counter() - t0


def train_model(
    cfg: gl.config.Params, train, *, seed: int = 0
) -> tuple[UNet, EMA, NoiseSchedule, gl.train.History, float]:
    """The chapter's conditional U-Net, trained with label dropout: (net, its EMA, schedule, history, seconds)."""
    config = UNetConfig(
        image_shape=train.shape,
        base_channels=cfg.base_channels,
        channel_mults=cfg.channel_mults,
        attention=cfg.attention,
        n_classes=10,
    )
    schedule = NoiseSchedule(num_timesteps=cfg.T, kind="cosine", prediction=cfg.prediction)
    torch.manual_seed(seed)
    net = UNet(config)
    ema = EMA(net, decay=cfg.ema_decay)
    optimizer = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    step = diffusion_step(net, schedule, p_uncond=cfg.p_uncond, ema=ema)  # labels dropped to net.null_cond
    start = time.perf_counter()
    history = gl.fit(
        step,
        models={"model": net, "ema": ema},
        optimizers=optimizer,
        data=Batches(train.x * 2 - 1, train.y, batch_size=cfg.batch_size, seed=seed),
        config=gl.TrainConfig(steps=cfg.steps, log_every=max(1, cfg.steps // 40), progress=False),
    )
    return net, ema, schedule, history, time.perf_counter() - start


def run(budget: str, out_dir: Path, guidance: float = 2.0, seed: int = 0) -> dict:
    """Train the budget's conditional diffusion model, measure its guided samples and its samplers' speed."""
    cfg = gl.config.Params(**CONFIGS[budget])
    session = gl.setup(seed=seed)
    train, test = load_mnist("train"), load_mnist("test")
    start = time.perf_counter()
    net, ema, schedule, history, train_seconds = train_model(cfg, train, seed=seed)
    if probe.skips_evaluation():  # a CPU step-time probe measures the training only (genai_lib.probe)
        return {}

    def draw01(labels, sampler, steps, generator):
        """Guided samples in [0, 1] and the seconds they took."""
        x, seconds = draw(
            net, ema, schedule, labels, guidance=guidance, sampler=sampler, steps=steps, generator=generator
        )
        return ((x + 1) / 2).clamp(0, 1), seconds

    # Quality: n_eval guided DDIM samples, 1/10 of each class, beside the floor and ceilings at the same N.
    classifier, reference, labels, candidates, g = mnist_measuring_stick(
        train, test, n_eval=cfg.n_eval, clf_steps=cfg.clf_steps, device=session.device
    )
    n = len(labels)
    images, sample_seconds = draw01(labels, "ddim", cfg.sample_steps, g)
    candidates["model"] = (images, labels)
    rows = {r["name"]: r for r in sq.measure(classifier, reference, candidates)}
    model, floor = rows["model"], rows[sq.FLOOR]

    # Speed: the same trained model, the same n_speed labels, DDPM over all T steps vs DDIM at speed_steps.
    speed_labels = sq.class_labels(10, max(1, cfg.n_speed // 10))
    draw01(speed_labels[:10], "ddim", 2, torch.Generator().manual_seed(1))  # warm-up (allocations, kernels)
    speed = {}
    for sampler, steps in [("ddpm", cfg.T)] + [("ddim", s) for s in cfg.speed_steps]:
        _, seconds = draw01(speed_labels, sampler, steps, torch.Generator().manual_seed(1))
        speed[f"{sampler}_{steps}"] = {
            "sampler": sampler,
            "steps": steps,
            "n": len(speed_labels),
            "seconds": round(seconds, 3),
            "samples_per_second": round(len(speed_labels) / seconds, 2),
        }
    ddpm = speed[f"ddpm_{cfg.T}"]["samples_per_second"]
    for row in speed.values():
        row["speedup_over_ddpm"] = round(row["samples_per_second"] / ddpm, 2)

    result = {
        **header("diffusion_mnist", budget, session, train, cfg, start=start, train_seconds=train_seconds),
        "guidance_scale": guidance,
        "n_images": n,
        "sampler": f"ddim, {cfg.sample_steps} steps, x0 clipped to [-1, 1]; the network predicts {cfg.prediction}",
        "sample_seconds": round(sample_seconds, 2),
        "conditional_accuracy": round(model["accuracy"], 4),
        "classifier_accuracy_on_real_test": round(floor["accuracy"], 4),
        "frechet_distance": round(model["fd"], 3),
        "fd_floor_test_vs_train": round(floor["fd"], 3),
        "fd_ceiling_uniform_noise": round(rows["uniform noise (ceiling)"]["fd"], 3),
        "fd_blurred_test": round(rows["blurred test images"]["fd"], 3),
        "fd_pixel_shuffled_test": round(rows["pixel-shuffled test images"]["fd"], 3),
        "fd_over_floor": round(sq.fd_ratio(list(rows.values()), "model"), 3),
        "precision": round(model["precision"], 4),
        "recall": round(model["recall"], 4),
        "floor_precision": round(floor["precision"], 4),
        "floor_recall": round(floor["recall"], 4),
        "speed": speed,
        "final_loss": round(history.last("loss"), 4),
        "targets_full_budget": TARGETS,
        "targets_met": {"conditional_accuracy": model["accuracy"] >= TARGETS["conditional_accuracy_at_least"]},
        "table": sq.format_table(list(rows.values())).splitlines(),
    }
    save_result(result, out_dir, f"diffusion_mnist-{budget}-{session.device.type}-seed{seed}")
    return result


if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("--guidance", type=float, default=2.0, help="classifier-free guidance scale w (default 2.0)")
    p.add_argument("--seed", type=int, default=0, help="seed of the model and its training batches (0, 1, 2 reported)")
    args = p.parse_args()
    run(args.budget or gl.get_budget(), args.out, guidance=args.guidance, seed=args.seed)
