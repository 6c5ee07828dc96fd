"""Study: why DDIM with x̂_0 clipped draws the wrong digit more often than DDPM on chapter 12's MNIST model.

The standard diffusion_mnist result had DDIM at 10, 25 and 50 steps all at exactly 38% conditional accuracy
and DDPM over all T steps at 76%. The suspect is the first step, at t = T - 1, where ᾱ is nearly 0: there
x̂_0 = (x_t - sqrt(1 - ᾱ) ε̂) / sqrt(ᾱ) multiplies the error of ε̂ by 1 / sqrt(ᾱ) (hundreds), so clipping x̂_0
to [-1, 1] saturates it, and DDIM then jumps to t_prev with sqrt(ᾱ_prev) times that saturated image as its
signal, with no noise later to wash it out. This script trains the benchmark's model once (same settings)
and, on the same labels and starting noise, measures:

- conditional accuracy of DDIM-25 with and without clipping, and of DDPM over all T steps with and without;
- at the first step: the share of x̂_0's pixels that clipping changes, and the accuracy of the classifier
  on that first x̂_0 (is the digit already decided there?);
- how often DDIM-10 and DDIM-50 end on the same class from the same noise (the outcome fixed early);
- DDIM-25 with η = 0.5 and 1 (fresh noise at every step, as DDPM adds).

    python benchmarks/ddim_first_step.py --budget standard   # about 15 minutes on 2 CPU cores
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from common import digits_of, mnist_measuring_stick, parser, provenance, save_result
from diffusion_mnist import CONFIGS, draw, train_model

import genai_lib as gl  # after torch, so OpenMP waits as the caller set it (make: genai_lib/__init__.py)
from genai_lib import sample_quality as sq
from genai_lib.data import load_mnist
from genai_lib.diffusion.sampling import predict_eps


def study(budget: str, out: Path, *, guidance: float = 2.0, n: int = 500, n_ddpm: int = 200) -> dict:
    """Train the benchmark's model once and measure its samplers and its first DDIM step; returns the result."""
    cfg = gl.config.Params(**{**CONFIGS[budget], "prediction": "epsilon"})  # the study is of the ε-network
    session = gl.setup(seed=0)
    train, test = load_mnist("train"), load_mnist("test")
    start = time.perf_counter()
    net, ema, schedule, _, train_seconds = train_model(cfg, train)
    classifier, _, _, _, _ = mnist_measuring_stick(
        train, test, n_eval=10, clf_steps=cfg.clf_steps, device=session.device
    )

    def labels_of(n: int) -> torch.Tensor:
        return sq.class_labels(10, max(1, n // 10))

    def noise(count: int) -> torch.Tensor:
        return torch.randn((count, *train.shape), generator=torch.Generator().manual_seed(7)).to(session.device)

    def accuracy(x0: torch.Tensor, labels: torch.Tensor) -> float:
        return round((digits_of(classifier, x0) == labels).float().mean().item(), 4)

    def sample(labels, sampler, steps, clip, eta=0.0):
        return draw(net, ema, schedule, labels, guidance=guidance, sampler=sampler, steps=steps, eta=eta, clip=clip,
                    x_T=noise(len(labels)))  # fmt: skip

    rows = {}
    labels = labels_of(n)
    for steps in (10, 25, 50):
        for clip in (True, False):
            x, seconds = sample(labels, "ddim", steps, clip)
            rows[f"ddim_{steps}_{'clip' if clip else 'noclip'}"] = {"n": len(labels), "accuracy": accuracy(x, labels),
                                                                    "seconds": round(seconds, 1)}  # fmt: skip
            if steps in (10, 50) and clip:
                rows[f"ddim_{steps}_clip"]["classes"] = digits_of(classifier, x)
    for eta in (0.5, 1.0):  # DDIM with fresh noise at every step (η = 1 is DDPM's variance on the 25 steps)
        x, seconds = sample(labels, "ddim", 25, True, eta)
        rows[f"ddim_25_clip_eta{eta:g}"] = {
            "n": len(labels),
            "accuracy": accuracy(x, labels),
            "seconds": round(seconds, 1),
        }
    same = (rows["ddim_10_clip"].pop("classes") == rows["ddim_50_clip"].pop("classes")).float().mean().item()
    ddpm_labels = labels_of(n_ddpm)
    for clip in (True, False):
        x, seconds = sample(ddpm_labels, "ddpm", cfg.T, clip)
        name = f"ddpm_{cfg.T}_{'clip' if clip else 'noclip'}"
        rows[name] = {"n": len(ddpm_labels), "accuracy": accuracy(x, ddpm_labels), "seconds": round(seconds, 1)}

    # The first step, at t = T - 1: how much of x̂_0 clipping changes, and whether x̂_0 already shows the digit.
    x_T, t = noise(len(labels)), int(schedule.timesteps(25)[0])
    with torch.no_grad():
        cond = labels.to(session.device)
        steps_t = torch.full((len(labels),), t, device=session.device)
        eps = predict_eps(ema, x_T, steps_t, cond, torch.full_like(cond, net.null_cond), guidance).cpu()
    x_T = x_T.cpu()
    ab = schedule.alpha_bar[t].double()
    x0 = ((x_T.double() - (1 - ab).sqrt() * eps.double()) / ab.sqrt()).float()
    first = {
        "t": t,
        "alpha_bar": float(ab),
        "error_gain_1_over_sqrt_alpha_bar": round(float(1 / ab.sqrt()), 1),
        "share_of_pixels_clipped": round((x0.abs() > 1).float().mean().item(), 4),
        # Unclipped, each x̂_0 scaled into [-1, 1] by its largest pixel, so that the classifier sees its shape.
        "accuracy_of_x0_unclipped": accuracy(x0 / x0.abs().amax(dim=(1, 2, 3), keepdim=True), labels),
        "accuracy_of_x0_clipped": accuracy(x0.clamp(-1, 1), labels),
    }
    result = {
        "benchmark": "ddim_first_step",
        "budget": budget,
        **provenance(session.device, session.precision),
        "guidance_scale": guidance,
        "train_seconds": round(train_seconds, 1),
        "wall_seconds": round(time.perf_counter() - start, 1),
        "samplers": rows,
        "first_step": first,
        "ddim_10_and_50_end_on_the_same_class": round(same, 4),
    }
    save_result(result, out, f"ddim_first_step-{budget}-{session.device.type}")
    return result


if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("--guidance", type=float, default=2.0)
    p.add_argument("--n", type=int, default=500, help="samples per DDIM setting (DDPM draws --n-ddpm)")
    p.add_argument("--n-ddpm", type=int, default=200)
    args = p.parse_args()
    study(args.budget or gl.get_budget(), args.out, guidance=args.guidance, n=args.n, n_ddpm=args.n_ddpm)
