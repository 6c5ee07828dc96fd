"""One measuring stick for image generators: Fréchet distance, precision/recall and conditional accuracy on a
classifier's features, printed beside a floor (held-out real images) and ceilings (noise, degraded images).

Every row is measured against the same reference (real training images) with the same number of images N,
because the Fréchet distance of finite samples is biased upwards by an amount that shrinks like 1/N.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F

from genai_lib.metrics import conditional_accuracy, frechet_distance, precision_recall
from genai_lib.models.classifier import Classifier, embed

FLOOR = "real test images (floor)"


def blur(x: torch.Tensor, *, size: int = 5) -> torch.Tensor:
    """A box blur of images (B, C, H, W) in [0, 1]: digits stay recognisable-ish, strokes lose their edges."""
    return F.avg_pool2d(x, size, stride=1, padding=size // 2, count_include_pad=False)


def shuffle_pixels(x: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each image's pixels in a random order: the histogram of intensities survives, the shapes do not."""
    flat = x.flatten(1)  # (B, C*H*W)
    order = torch.argsort(torch.rand(flat.shape, generator=generator), dim=1)  # a permutation per image
    return flat.gather(1, order).view_as(x)


def baselines(test_x: torch.Tensor, n: int, *, labels: torch.Tensor | None = None, seed: int = 0) -> dict:
    """n real held-out images (the floor), and three ways of being wrong: blurred, pixel-shuffled, uniform noise.

    With `labels`, the floor row is (images, labels), so the table also shows the classifier's accuracy on real data.
    """
    if n > len(test_x):
        raise ValueError(f"Asked for {n} held-out images, but the test set has only {len(test_x)}.")
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(test_x), generator=g)[:n]
    real = test_x[idx]
    return {
        FLOOR: real if labels is None else (real, labels[idx]),
        "blurred test images": blur(real),
        "pixel-shuffled test images": shuffle_pixels(real, generator=g),
        "uniform noise (ceiling)": torch.rand(real.shape, generator=g),
    }


def measure(
    classifier: Classifier, reference: torch.Tensor, candidates: Mapping[str, torch.Tensor | tuple], *, k: int = 3
) -> list[dict]:
    """One row per candidate set (images in [0, 1], or (images, labels) for class-conditional samples).

    Each row: name, n, fd (Fréchet distance to the reference's features), precision, recall (k-NN manifolds)
    and accuracy (share of samples the classifier assigns to the label they were generated for, or None).
    """
    ref = embed(classifier, reference)  # (N_ref, feature_dim)
    rows = []
    for name, item in candidates.items():
        images, labels = item if isinstance(item, (tuple, list)) else (item, None)
        feats = embed(classifier, images)  # (N, feature_dim)
        precision, recall = precision_recall(ref, feats, k=k)
        accuracy = None
        if labels is not None:
            accuracy = conditional_accuracy(embed(classifier, images, logits=True), labels)
        rows.append(
            dict(
                name=name,
                n=len(images),
                fd=frechet_distance(ref, feats),
                precision=precision,
                recall=recall,
                accuracy=accuracy,
            )
        )
    return rows


def fd_ratio(rows: list[dict], name: str) -> float:
    """The Fréchet distance of row `name` in units of the floor (held-out real images): 1 is as good as real."""
    by_name = {r["name"]: r for r in rows}
    if FLOOR not in by_name or name not in by_name:
        raise ValueError(f"fd_ratio needs the rows {FLOOR!r} and {name!r}; have {sorted(by_name)}.")
    return by_name[name]["fd"] / by_name[FLOOR]["fd"]


def format_table(rows: list[dict]) -> str:
    """The rows as a plain-text table, with the Fréchet distance also in units of the floor."""
    floor = next((r["fd"] for r in rows if r["name"] == FLOOR), None)
    width = max(len(r["name"]) for r in rows)
    lines = [
        f"{'images':<{width}}  {'N':>5}  {'FD':>9}  {'FD/floor':>8}  {'precision':>9}  {'recall':>6}  {'accuracy':>8}"
    ]
    for r in rows:
        ratio = f"{r['fd'] / floor:8.2f}" if floor else f"{'-':>8}"
        acc = f"{r['accuracy']:8.1%}" if r["accuracy"] is not None else f"{'-':>8}"
        lines.append(
            f"{r['name']:<{width}}  {r['n']:>5}  {r['fd']:9.2f}  {ratio}  {r['precision']:9.3f}  "
            f"{r['recall']:6.3f}  {acc}"
        )
    return "\n".join(lines)


def class_labels(n_classes: int, per_class: int) -> torch.Tensor:
    """Labels 0, ..., 0, 1, ..., 1, ...: per_class of each class, in order (rows of a class-conditional grid)."""
    return torch.arange(n_classes).repeat_interleave(per_class)
