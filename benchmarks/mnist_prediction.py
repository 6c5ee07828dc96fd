"""Study: does predicting v instead of ε close the DDIM-vs-DDPM gap of chapter 12's MNIST model?

`ddim_first_step.py` found the gap's cause: at t = T - 1 the cosine schedule's ᾱ is about 6e-8, so the ε-model's
x̂_0 = (x_t - sqrt(1 - ᾱ) ε̂) / sqrt(ᾱ) multiplies every error of ε̂ by about 4,000, clipping saturates it, and
deterministic DDIM keeps that first guess. A v-model (Salimans & Ho, 2022) predicts v = sqrt(ᾱ) ε - sqrt(1 - ᾱ) x_0,
so x̂_0 = sqrt(ᾱ) x_t - sqrt(1 - ᾱ) v̂ never divides by sqrt(ᾱ). This script trains the benchmark's model
(`diffusion_mnist.CONFIGS`) once per prediction with the same seed, data and steps, and measures the conditional
accuracy of --n guided samples for DDIM-25 (η = 0) and DDIM-25 with η = 1 (DDPM's noise on 25 steps), x̂_0
clipped, at each guidance scale of --guidance.

    python benchmarks/mnist_prediction.py --budget standard --seed 0   # about 15 minutes on 2 CPU cores
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from common import digits_of, parser, provenance, save_result
from diffusion_mnist import CONFIGS, draw, train_model

import genai_lib as gl  # after torch, so OpenMP waits as the caller set it (make: genai_lib/__init__.py)
from genai_lib import sample_quality as sq
from genai_lib.data import load_mnist
from genai_lib.models.classifier import feature_classifier


def study(budget: str, out: Path, *, seed: int, n: int, guidance: list[float], steps: int = 25) -> dict:
    """Train an ε-model and a v-model alike and measure both samplers at each guidance scale."""
    session = gl.setup(seed=seed)
    train = load_mnist("train")
    start = time.perf_counter()
    classifier = feature_classifier("mnist", steps=CONFIGS[budget]["clf_steps"], device=session.device)
    labels = sq.class_labels(10, n // 10)
    x_T = torch.randn((len(labels), *train.shape), generator=torch.Generator().manual_seed(100 + seed))
    models = {}
    for prediction in ("epsilon", "v"):
        cfg = gl.config.Params(**{**CONFIGS[budget], "prediction": prediction})
        net, ema, schedule, history, seconds = train_model(cfg, train, seed=seed)
        rows = {"train_seconds": round(seconds, 1), "final_loss": round(history.last("loss"), 4)}
        for w in guidance:
            for eta in (0.0, 1.0):
                x, seconds = draw(net, ema, schedule, labels, guidance=w, sampler="ddim", steps=steps, eta=eta, x_T=x_T)
                accuracy = (digits_of(classifier, x) == labels).float().mean().item()
                rows[f"w{w:g}_ddim{steps}_eta{eta:g}"] = {
                    "accuracy": round(accuracy, 4),
                    "samples_per_second": round(len(labels) / seconds, 1),
                }
                print(prediction, f"w={w:g} eta={eta:g}", rows[f"w{w:g}_ddim{steps}_eta{eta:g}"], flush=True)
        models[prediction] = rows
    result = {
        "study": "mnist_prediction",
        "budget": budget,
        "seed": seed,
        **provenance(session.device, session.precision),
        "config": CONFIGS[budget],
        "n_samples": len(labels),
        "sampler": f"ddim, {steps} steps, x0 clipped to [-1, 1]; eta 0 (deterministic) and 1",
        "wall_seconds": round(time.perf_counter() - start, 1),
        "by_prediction": models,
    }
    save_result(result, out, f"mnist_prediction-{budget}-{session.device.type}-seed{seed}", shown={})
    return result


if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n", type=int, default=500, help="samples per setting, n/10 of each class")
    p.add_argument("--guidance", type=float, nargs="+", default=[2.0, 4.0])
    a = p.parse_args()
    study(a.budget or gl.get_budget(), a.out, seed=a.seed, n=a.n, guidance=a.guidance)
