"""Schematics of Part 0: a training step of chapter 0, and the densities, divergences and samplers of chapter 1."""

from __future__ import annotations

import itertools
import math

from .board import ROLES, Board

__all__ = [
    "softmax_regression",
    "fit_and_step",
    "mixture_log_prob",
    "ml_is_kl",
    "ancestral_sampling",
    "forward_reverse_kl",
]

RED = "#a33"  # gradients and penalties, as in the other Parts' diagrams


def softmax_regression():
    """Chapter 0's classifier: a digit image, flattened, through one linear layer to ten logits and a cross-entropy."""
    b = Board(14, 5.2, title="Softmax regression on the digits")
    # A "0" drawn in an 8 x 8 image, so that the grid reads as a digit.
    ring = [[1.0 if 1 <= i <= 6 and 2 <= j <= 5 and (i in (1, 6) or j in (2, 5)) else 0.0 for j in range(8)]
            for i in range(8)]  # fmt: skip
    img = b.grid(1.3, 2.9, 8, 8, cell=0.2, values=ring)
    b.note(1.3, 1.5, "image $x$")
    b.note(1.3, 1.05, "(B, 1, 8, 8)", fontsize=7)
    x = b.box(4.0, 2.9, "$x$", role="data", sub="(B, 64)", w=1.4)
    lin = b.box(6.7, 2.9, "$s = Wx + b$", sub="W (10, 64), b (10,)", w=2.6)
    s = b.box(9.4, 2.9, "logits $s$", role="latent", sub="(B, 10)", w=1.6)
    loss = b.box(12.4, 2.9, "cross-entropy", role="loss", sub="mean of $-\\log p_\\theta(y \\mid x)$", w=2.9)
    y = b.box(12.4, 0.9, "labels $y$", role="data", sub="(B,)", w=1.6)
    b.arrow(img, x, "flatten")
    b.arrow(x, lin)
    b.arrow(lin, s)
    b.arrow(s, loss)
    b.arrow(y, loss)
    b.note(9.2, 4.5, "F.cross_entropy computes $\\log \\sum_k \\exp s_k - s_y$, with no softmax of its own")
    # The gradient runs backwards, from the loss to the only weights there are.
    b.arrow((11.2, 2.35), (6.9, 2.35), dashed=True, bend=-0.35, color=RED)
    b.note(7.6, 0.65, "loss.backward(): the gradient for $\\theta = (W, b)$", color=RED)
    return b.done()


def fit_and_step():
    """One step of gl.fit: a batch, the model's step function, what ctx.backward_step does, then fit's bookkeeping."""
    b = Board(15, 8.6, title="One step of gl.fit")
    b.note(8.9, 7.4, "gl.fit(step, models=, optimizers=, data=, config=)", fontsize=9)
    b.note(8.9, 6.9, "repeats this config.steps times, on the device it chose")
    data = b.box(1.8, 7.15, "Batches", role="data", sub="next()", w=2.0)
    batch = b.box(1.8, 5.3, "$x$, $y$", role="data", sub="(B, 1, 8, 8), (B,)", w=2.6)
    b.arrow(data, batch)
    # The part a chapter writes: the forward pass and its loss, different for every model.
    b.frame(3.35, 4.45, 14.75, 6.45, "step(batch, ctx): written for each model")
    model = b.box(5.0, 5.3, "model", sub="in ctx.autocast()", w=2.4)
    loss = b.box(7.6, 5.3, "loss", role="loss", sub="a scalar", w=1.4)
    bstep = b.box(10.3, 5.3, "ctx.backward_step", role="op", sub="(loss)", w=3.0)
    ret = b.box(13.5, 5.3, "return", role="op", sub="{'loss': loss}", w=1.9)
    for u, v in [(batch, model), (model, loss), (loss, bstep), (bstep, ret)]:
        b.arrow(u, v)
    # The part the library writes once: the plain loop's three calls, with what they need in between.
    b.frame(0.25, 2.35, 14.75, 4.2, "inside ctx.backward_step: the same for every model")
    calls = [("zero_grad", "clear .grad"), ("backward", "(scaled in fp16)"), ("average", "over processes"),
             ("clip", "norm to grad_clip"), ("step", "optimizer.step()")]  # fmt: skip
    chain = [b.box(1.75 + 2.85 * i, 3.0, name, role="op", sub=sub, w=2.5) for i, (name, sub) in enumerate(calls)]
    for u, v in itertools.pairwise(chain):
        b.arrow(u, v)
    b.arrow(bstep.bottom, (bstep.x, 4.2), dashed=True)
    # What fit adds around the step, each on its own clock.
    b.frame(0.25, 0.2, 14.75, 1.95, "gl.fit, after the step")
    b.box(1.9, 0.95, "History", role="op", sub="every log_every", w=2.6)
    b.box(4.8, 0.95, "evaluate()", role="op", sub="every eval_every", w=2.6)
    b.box(7.7, 0.95, "checkpoint", role="op", sub="every ckpt_every", w=2.6)
    b.note(11.7, 0.95, "Ctrl-C: finish the step, save, stop")
    return b.done()


def mixture_log_prob():
    """GaussianMixture.log_prob: points x through z = L_k^{-1}(x - mu_k) and K Gaussian log-densities to log p(x)."""
    b = Board(15, 6.4, title="$\\log p(x)$ of a mixture of $K$ Gaussians, with shapes")
    b.frame(1.6, 3.95, 12.0, 5.65, "from the stored parameters")
    mu = b.box(3.0, 4.6, "$\\mu$", role="net", sub="mu (K, d)", w=1.6)
    L = b.box(6.2, 4.6, "$L$", role="net", sub="(K, d, d), from raw_L", w=3.0)
    log_pi = b.box(10.6, 4.6, "$\\log \\pi$", role="net", sub="(K,), from logits", w=2.4)
    x = b.box(0.95, 2.2, "$x$", role="data", sub="(N, d)", w=1.3)
    z = b.box(3.9, 2.2, "$z = L_k^{-1}(x - \\mu_k)$", role="op", sub="(N, K, d)", w=2.9)
    log_n = b.box(7.4, 2.2, "$\\log \\mathcal{N}(x; \\mu_k, L_k L_k^\\top)$", role="op", sub="(N, K)", w=3.3)
    lse = b.box(10.6, 2.2, "$\\mathrm{logsumexp}_k$", role="op", sub="of $\\log \\pi_k + \\log \\mathcal{N}$", w=2.4)
    out = b.box(13.65, 2.2, "$\\log p(x)$", role="loss", sub="(N,)", w=1.9)
    for u, v in [(x, z), (z, log_n), (log_n, lse), (lse, out), (mu, z), (L, z), (L, log_n), (log_pi, lse)]:
        b.arrow(u, v)
    log_normal = "$-\\frac{1}{2}\\|z\\|^2 - \\sum_i \\log L_{ii} - \\frac{d}{2} \\log 2\\pi$"
    b.note(7.4, 1.05, f"{log_normal}, one column per component")
    b.note(7.4, 0.45, "each of the N points meets each of the K components: broadcasting (N, 1, d) against (K, d)")
    return b.done()


def ml_is_kl():
    """Section 2's argument: the training NLL estimates a cross-entropy, which is the data's entropy plus a KL."""
    b = Board(15, 6.2, title="Maximum likelihood minimises KL($p_\\mathrm{data} \\,\\|\\, p_\\theta$)")
    nll = b.box(2.0, 4.6, "NLL$(\\theta)$", role="loss", sub="on the training set", w=2.6)
    b.note(3.6, 4.6, "$= -\\frac{1}{n} \\sum_{i=1}^{n} \\log p_\\theta(x_i)$", ha="left", fontsize=9)
    ce = b.box(2.0, 2.2, "$H(p_\\mathrm{data}, p_\\theta)$", role="loss", sub="cross-entropy", w=2.6)
    b.arrow(nll, ce)
    b.note(2.2, 3.4, "$n \\to \\infty$: the law of large numbers", ha="left")
    b.note(3.7, 2.2, "=", fontsize=14)
    b.box(5.4, 2.2, "$H(p_\\mathrm{data})$", role="op", sub="entropy: no $\\theta$", w=2.6)
    b.note(7.1, 2.2, "+", fontsize=14)
    b.box(8.8, 2.2, "$\\mathrm{KL}(p_\\mathrm{data} \\,\\|\\, p_\\theta)$", role="loss", sub="$\\geq 0$ (Gibbs)", w=2.6)
    b.note(5.2, 0.75, "the NLL estimates the cross-entropy; the $\\theta$ that minimises it minimises the KL")
    # Right: the picture to keep, a floor that no model passes and the KL as the gap above it.
    ax_x, floor, ce_y = 11.9, 1.6, 4.2
    b.arrow((ax_x, 0.6), (ax_x, 5.4))
    b.note(ax_x - 0.35, 5.2, "nats", ha="right")
    b.ax.plot([ax_x, 14.8], [floor, floor], ls="--", color="#333333", lw=1.2)
    b.ax.plot([ax_x, 13.6], [ce_y, ce_y], color="#333333", lw=1.8)
    b.note(14.8, floor - 0.35, "floor: $H(p_\\mathrm{data})$", ha="right")
    b.note(ax_x + 0.15, ce_y + 0.35, "$H(p_\\mathrm{data}, p_\\theta)$", ha="left")
    b.ax.annotate("", (13.2, floor), (13.2, ce_y), arrowprops=dict(arrowstyle="<->", color=RED, lw=1.3))
    b.note(13.35, (floor + ce_y) / 2, "KL", color=RED, ha="left", fontsize=9)
    b.arrow((12.5, ce_y - 0.1), (12.5, floor + 0.6), dashed=True)
    b.note(12.6, floor + 0.35, "training", fontsize=7, ha="left")
    return b.done()


def ancestral_sampling():
    """GaussianMixture.sample: first a component k ~ pi for each sample, then x = mu_k + L_k eps, eps ~ N(0, I)."""
    b = Board(14, 5.8, title="Ancestral sampling from a mixture")
    pi = b.box(1.3, 2.8, "$\\pi$", role="net", sub="(K,)", w=1.4)
    k = b.box(4.3, 2.8, "$k \\sim \\mathrm{Categorical}(\\pi)$", role="latent", sub="(n,)", w=3.0)
    params = b.box(7.8, 4.7, "$\\mu$, $L$", role="net", sub="(K, d), (K, d, d)", w=2.4)
    pick = b.box(7.8, 2.8, "$\\mu_k$, $L_k$", role="op", sub="(n, d), (n, d, d)", w=2.4)
    eps = b.box(11.4, 4.7, "$\\varepsilon \\sim \\mathcal{N}(0, I)$", role="latent", sub="(n, d)", w=2.6)
    x = b.box(11.4, 2.8, "$x = \\mu_k + L_k \\varepsilon$", role="data", sub="(n, d)", w=2.6)
    for u, v in [(pi, k), (k, pick), (params, pick), (pick, x), (eps, x)]:
        b.arrow(u, v)
    b.note(2.9, 1.75, "1. the hidden cause: which component $k$")
    b.note(9.8, 1.75, "2. a point from component $k$'s Gaussian")
    b.note(7.0, 0.6, "a kernel density estimate: $i$ uniform over the training points, then $x = x_i + h\\varepsilon$")
    return b.done()


def forward_reverse_kl():
    """Forward KL makes a Gaussian cover both modes of the data; reverse KL lets it settle on one of them."""
    b = Board(15, 6.0, title="Which mistakes each KL divergence punishes")

    def normal(u, m, s):
        return math.exp(-0.5 * ((u - m) / s) ** 2) / (math.sqrt(2 * math.pi) * s)

    # Two equal modes 2.9 apart, each of standard deviation 0.45. The forward-KL Gaussian matches their moments
    # (mean between them, variance 0.45^2 + 1.45^2); the reverse-KL one sits on a mode, twice as tall as it.
    sd, half, base, scale = 0.45, 1.45, 1.8, 3.2
    forward = (
        "forward: $\\mathrm{KL}(p_\\mathrm{data} \\,\\|\\, q)$",
        "mode-covering",
        "over the data,",
        "and where $q \\approx 0$, $-\\log q$ is huge",
    )
    reverse = (
        "reverse: $\\mathrm{KL}(q \\,\\|\\, p_\\mathrm{data})$",
        "mode-seeking",
        "over $q$,",
        "and where $p_\\mathrm{data} \\approx 0$, $-\\log p_\\mathrm{data}$ is huge",
    )
    panels = [(0.4, 3.35, math.hypot(sd, half), *forward), (7.9, 3.35 - half, sd, *reverse)]  # x0, mean and sd of q
    for x0, m, s, title, verdict, over, cost in panels:
        us = [x0 + 6.7 * i / 200 for i in range(201)]
        data = [base + scale * (normal(u, x0 + 3.35 - half, sd) + normal(u, x0 + 3.35 + half, sd)) / 2 for u in us]
        q = [base + scale * normal(u, x0 + m, s) for u in us]
        b.ax.fill_between(us, base, data, color=ROLES["data"], edgecolor="#444444", lw=0.8)
        b.ax.plot(us, q, color=RED, lw=1.8)
        b.ax.plot([x0, x0 + 6.7], [base, base], color="#444444", lw=0.8)
        b.note(x0 + 3.35, 5.35, title, fontsize=9)
        b.note(x0 + 3.35, 1.35, verdict, fontsize=9)
        b.note(x0 + 3.35, 0.85, f"the expectation is {over}")
        b.note(x0 + 3.35, 0.4, cost)
    b.note(2.25, 3.55, "$p_\\mathrm{data}$", color="#2a5d8f", fontsize=9)
    b.note(3.75, 2.95, "$q$", color=RED, fontsize=9)
    b.note(10.3, 4.45, "$q$", color=RED, fontsize=9)
    return b.done()
