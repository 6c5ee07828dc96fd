"""Measures of generative models: likelihood bounds, unit conversions, and sample-based measures on features."""

from __future__ import annotations

import math

import torch

from genai_lib.losses import log_normal_diag
from genai_lib.rng import randn


def bits_per_dim(nats: torch.Tensor | float, dims: int) -> torch.Tensor | float:
    """Convert a negative log-likelihood in nats per example to bits per dimension."""
    return nats / (dims * math.log(2))


@torch.no_grad()
def iwae_bound(
    model, x: torch.Tensor, *, k: int, chunk: int = 64, generator: torch.Generator | None = None
) -> torch.Tensor:
    """The importance-weighted bound log (1/k) sum_i p(x, z_i) / q(z_i|x), z_i ~ q(z|x) (Burda et al., 2016), (B,).

    `model` needs `encode(x) -> (mu, logvar)`, `decode(z)` and `log_likelihood(recon, x)`; with k = 1 this is
    the one-sample ELBO, and it rises towards log p(x) as k grows.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}.")
    mu, logvar = model.encode(x)  # (B, D) each
    std = torch.exp(0.5 * logvar)
    log_w = []
    for start in range(0, k, chunk):
        n = min(chunk, k - start)
        eps = randn((n, *mu.shape), generator, mu.device, mu.dtype)  # (n, B, D)
        z = mu + std * eps
        recon = model.decode(z.flatten(0, 1))  # (n*B, C, H, W)
        x_rep = x.expand(n, *x.shape).flatten(0, 1)  # (n*B, C, H, W)
        log_px_z = model.log_likelihood(recon, x_rep).view(n, -1)  # (n, B)
        log_pz = log_normal_diag(z, torch.zeros_like(z), torch.zeros_like(z))  # (n, B)
        log_qz = log_normal_diag(z, mu, logvar)  # (n, B)
        log_w.append(log_px_z + log_pz - log_qz)
    return torch.logsumexp(torch.cat(log_w), dim=0) - math.log(k)


# ----- sample-based measures on features (Part I onwards) ------------------------------------------------


def _psd_sqrt(a: torch.Tensor) -> torch.Tensor:
    """The symmetric square root of a positive semi-definite matrix, through its eigendecomposition."""
    w, v = torch.linalg.eigh(a)
    return (v * w.clamp(min=0).sqrt()) @ v.T


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N, d), (M, d) (Heusel et al., 2017).

    ||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2), computed in float64 on the CPU
    (GPUs run float64 slowly, and Apple's have none), wherever the features live.
    """
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(
            f"frechet_distance needs two (N, d) feature sets of one width d, got {tuple(a.shape)} and {tuple(b.shape)}."
        )
    if min(len(a), len(b)) < 2:
        raise ValueError("frechet_distance needs at least two samples in each set to estimate a covariance.")
    a, b = a.detach().cpu().double(), b.detach().cpu().double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    S_a, S_b = (
        torch.cov(a.T, correction=1).reshape(a.shape[1], -1),
        torch.cov(b.T, correction=1).reshape(b.shape[1], -1),
    )
    r = _psd_sqrt(S_a)
    cross = torch.linalg.eigvalsh(r @ S_b @ r).clamp(min=0).sqrt().sum()  # tr (S_a^1/2 S_b S_a^1/2)^1/2
    return float((mu_a - mu_b).square().sum() + S_a.trace() + S_b.trace() - 2 * cross)


def nn_distances(
    queries: torch.Tensor, reference: torch.Tensor, *, k: int = 1, exclude_self: bool = False, chunk: int = 1024
) -> tuple[torch.Tensor, torch.Tensor]:
    """Euclidean distance to, and index of, the k-th nearest reference point of each query: (N,), (N,).

    Computed on the queries' device (the reference set moves there, chunk by chunk of queries).
    """
    q = queries.flatten(1).float()
    r = reference.flatten(1).float().to(q.device)
    kk = k + 1 if exclude_self else k
    if kk > len(r):
        raise ValueError(f"Asked for the {k}-th nearest neighbour among {len(r)} reference points.")
    dists, idx = [], []
    for i in range(0, len(q), chunk):
        d = torch.cdist(q[i : i + chunk], r)  # (chunk, M)
        vals, inds = d.topk(kk, dim=1, largest=False)  # (chunk, kk), nearest first
        dists.append(vals[:, -1])
        idx.append(inds[:, -1])
    return torch.cat(dists), torch.cat(idx)


def _inside_any_ball(
    points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, chunk: int = 1024
) -> torch.Tensor:
    centres, radii = centres.to(points.device), radii.to(points.device)
    inside = []
    for i in range(0, len(points), chunk):
        d = torch.cdist(points[i : i + chunk].float(), centres.float())  # (chunk, M)
        inside.append((d <= radii[None, :]).any(dim=1))
    return torch.cat(inside)


def precision_recall(real: torch.Tensor, fake: torch.Tensor, *, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al., 2019) on features (N, d) and (M, d).

    Each set's manifold is the union of balls around its points reaching their k-th nearest neighbour;
    precision is the share of fake points inside the real manifold, recall the share of real points
    inside the fake one.
    """
    if real.shape[1:] != fake.shape[1:]:
        raise ValueError(
            f"precision_recall needs features of one width, got {tuple(real.shape)} and {tuple(fake.shape)}."
        )
    r_real, _ = nn_distances(real, real, k=k, exclude_self=True)
    r_fake, _ = nn_distances(fake, fake, k=k, exclude_self=True)
    precision = _inside_any_ball(fake.flatten(1), real.flatten(1), r_real).float().mean()
    recall = _inside_any_ball(real.flatten(1), fake.flatten(1), r_fake).float().mean()
    return float(precision), float(recall)


def conditional_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of class-conditional samples that a classifier assigns to the class they were asked for."""
    if logits.dim() != 2 or labels.shape != logits.shape[:1]:
        raise ValueError(
            f"conditional_accuracy needs logits (N, classes) and labels (N,), got {tuple(logits.shape)} "
            f"and {tuple(labels.shape)}."
        )
    return float((logits.argmax(dim=1) == labels.to(logits.device)).float().mean())


def copy_rate(samples: torch.Tensor, train: torch.Tensor, held_out: torch.Tensor, *, quantile: float = 0.01) -> float:
    """Memorisation: the share of samples nearer to a training point than all but `quantile` of held-out points are.

    An honest generator's samples sit as far from the training set as new real data does (rate ~ quantile);
    a copying one's sit on top of training points (rate -> 1).
    """
    d_held, _ = nn_distances(held_out, train)
    threshold = torch.quantile(d_held, quantile)
    d_samp, _ = nn_distances(samples, train)
    return float((d_samp < threshold).float().mean())


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (Wilson, 1927) for k passes in n trials; z = 1.96 gives 95%."""
    if not 0 <= k <= n or n < 1:
        raise ValueError(f"Need 0 <= k <= n and n >= 1, got k={k}, n={n}.")
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def caption_accuracy(predicted: dict[str, torch.Tensor], asked: dict[str, torch.Tensor]) -> dict[str, float]:
    """Share of images whose predicted attribute equals the one asked for, per attribute and for all at once.

    `predicted` and `asked` map each attribute to value indices (N,); 'exact' is the share of images with
    every attribute right, the strict measure of following a caption.
    """
    if not asked or set(predicted) != set(asked):
        raise ValueError(
            f"caption_accuracy needs the same attributes on both sides, got {sorted(predicted)} "
            f"predicted and {sorted(asked)} asked."
        )
    right = []
    for a in asked:
        p, q = torch.as_tensor(predicted[a]).cpu(), torch.as_tensor(asked[a]).cpu()
        if p.shape != q.shape or p.dim() != 1:
            raise ValueError(
                f"Attribute {a!r}: expected two index vectors (N,) of one length, got {tuple(p.shape)} "
                f"and {tuple(q.shape)}."
            )
        right.append(p == q)
    hits = torch.stack(right)  # (attributes, N)
    out = {a: float(h.float().mean()) for a, h in zip(asked, hits, strict=True)}
    out["exact"] = float(hits.all(dim=0).float().mean())
    return out


# ----- memorisation of text (Part V) ---------------------------------------------------------------------


def ngram_set(text: str, n: int) -> set[str]:
    """Every length-n character window of `text` (stride 1), as a set for O(1) membership tests."""
    if n < 1:
        raise ValueError(f"n must be a positive window length, got {n}.")
    return {text[i : i + n] for i in range(len(text) - n + 1)}


def verbatim_rate(samples: str | list[str], reference: str | set[str], n: int) -> float:
    """Share of the length-n windows of `samples` that occur verbatim in `reference` (a text or its `ngram_set`).

    Every overlapping window of every sample counts, and no window spans two samples. Measured on held-out
    text, the same rate is the baseline: how often text the model never saw repeats the reference by chance.
    """
    samples = [samples] if isinstance(samples, str) else list(samples)
    grams = reference if isinstance(reference, set) else ngram_set(reference, n)
    if grams and len(next(iter(grams))) != n:
        raise ValueError(f"The reference n-gram set holds windows of length {len(next(iter(grams)))}, not n = {n}.")
    hits = total = 0
    for s in samples:
        windows = len(s) - n + 1
        if windows > 0:
            total += windows
            hits += sum(s[i : i + n] in grams for i in range(windows))
    if total == 0:
        raise ValueError(f"No sample is at least n = {n} characters long: nothing to measure.")
    return hits / total
