"""What the benchmarks share: the command line, the result header and file, and MNIST's measuring stick."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import time
from pathlib import Path

import torch

import genai_lib as gl  # after torch, so OpenMP waits as the caller set it (make: genai_lib/__init__.py)
from genai_lib import sample_quality as sq
from genai_lib.device import describe
from genai_lib.models.classifier import embed, feature_classifier
from genai_lib.models.gan import Discriminator, GANConfig, Generator, init_dcgan_weights

RESULTS = Path(__file__).parent / "results"


def parser(description: str | None) -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark takes; a script adds its own."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budget", choices=gl.config.BUDGETS, default=None, help="default: $GENAI_BUDGET")
    p.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON result")
    return p


def save_result(result: dict, out_dir: Path, name: str, *, shown: dict | None = None) -> Path:
    """Write `result` to out_dir/name.json and print it (or the shorter `shown`)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result if shown is None else shown, indent=2))
    print(f"Wrote {path}")
    return path


def git_commit() -> str:
    """The commit the benchmark ran from, with "+changes" when the working tree differed; "unknown" outside git."""
    here = Path(__file__).parent

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=here, capture_output=True, text=True, check=True).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        return commit + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def provenance(device: torch.device, precision) -> dict:
    """Where a figure came from: commit, library and torch versions, CUDA, device, precision and date."""
    return {
        "git_commit": git_commit(),
        "genai_lib": gl.__version__,
        "torch": torch.__version__,
        "cuda": torch.version.cuda if device.type == "cuda" else None,
        "device": describe(device),
        "precision": precision.name,
        "date": datetime.date.today().isoformat(),
    }


def header(benchmark: str, budget: str, session, data, cfg, *, start: float, train_seconds: float) -> dict:
    """The fields every result starts with: what ran, where, when, on which data, and how long it took."""
    return {
        "benchmark": benchmark,
        "budget": budget,
        **provenance(session.device, session.precision),
        "data": data.source,
        "config": cfg.as_dict(),
        "train_seconds": round(train_seconds, 2),
        "wall_seconds": round(time.perf_counter() - start, 2),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def mnist_measuring_stick(train, test, *, n_eval: int, clf_steps: int, device):
    """The feature classifier, N random real training images as the reference, N class labels (N/10 of each)
    for the model to draw, the baseline rows (floor and ceilings) at the same N, and a seeded generator."""
    classifier = feature_classifier("mnist", steps=clf_steps, device=device)
    n = min(n_eval, len(test)) // 10 * 10
    g = torch.Generator().manual_seed(0)
    reference = train.x[torch.randperm(len(train.x), generator=g)[:n]]  # a random subset: the data are sorted by class
    labels = sq.class_labels(10, n // 10)
    return classifier, reference, labels, sq.baselines(test.x, n, labels=test.y), g


def digits_of(classifier, x: torch.Tensor) -> torch.Tensor:
    """The feature classifier's digit for each image x in [-1, 1] (a diffusion model's range), on the CPU."""
    return embed(classifier, ((x.cpu() + 1) / 2).clamp(0, 1), logits=True).argmax(1).cpu()


def dcgan_players(config: GANConfig, *, lr_d: float = 2e-4, lr_g: float | None = None):
    """Chapter 3's DCGAN players: G and D with DCGAN's initialisation, and their Adam optimizers (beta1 = 0.5)."""
    G, D = Generator(config), Discriminator(config)
    init_dcgan_weights(G)
    init_dcgan_weights(D)
    betas = (0.5, 0.999)  # momentum over a moving opponent must be short (chapter 3)
    optimizers = {
        "D": torch.optim.Adam(D.parameters(), lr=lr_d, betas=betas),
        "G": torch.optim.Adam(G.parameters(), lr=lr_d if lr_g is None else lr_g, betas=betas),
    }
    return G, D, optimizers
