"""Schematics of Part I (GANs): the game, its optimal discriminator, DCGAN's players and the measures of a GAN."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .board import Board

__all__ = [
    "gan_game",
    "optimal_d_to_jsd",
    "generator_gradient",
    "transposed_conv",
    "dcgan_players",
    "projection_discriminator",
    "feature_metrics",
    "precision_recall_balls",
]


def gan_game():
    """The GAN game: G turns noise z into samples, D scores real and generated samples, each has its loss."""
    b = Board(14, 6.5, title="The GAN game")
    z = b.box(1.5, 1.8, "$z \\sim \\mathcal{N}(0, I)$", role="latent", sub="(B, k)")
    G = b.box(5.0, 1.8, "generator $G$", sub="weights $\\theta_G$")
    fake = b.box(8.3, 1.8, "$G(z)$", role="data", sub="(B, d)", w=1.8)
    real = b.box(8.3, 4.6, "$x \\sim p_\\mathrm{data}$", role="data", sub="(B, d)", w=1.8)
    D = b.box(11.8, 3.2, "discriminator $D$", w=2.8, sub="$D(x) = \\sigma(\\ell(x))$")
    b.arrow(z, G)
    b.arrow(G, fake)
    b.arrow(real, D)
    b.arrow(fake, D)
    b.note(10.6, 4.5, "real: label 1", ha="left")
    b.note(10.6, 1.9, "fake: label 0", ha="left")
    b.note(7.0, 6.0, "$D$ maximises $\\log D(x) + \\log(1 - D(G(z)))$", fontsize=9)
    b.note(11.8, 1.0, "$G$ minimises $-\\log D(G(z))$", fontsize=9)
    b.note(11.8, 0.5, "(the non-saturating loss, Section 4)")
    b.arrow((10.4, 2.5), (5.6, 1.2), dashed=True, bend=-0.25, color="#a33")
    b.note(6.2, 0.35, "$G$'s gradient flows back through $D$", color="#a33")
    return b.done()


def optimal_d_to_jsd():
    """The argument of Sections 2 and 3: maximise V pointwise to get D*, substitute it, and find the JSD."""
    b = Board(14, 7.6, title="From the value of the game to the Jensen–Shannon divergence")
    pd = "p_\\mathrm{data}"
    V = b.box(3.1, 6.4, f"$V(D, G) = \\int {pd} \\log D + p_g \\log(1 - D)\\,dx$", w=6.0, role="loss")
    Dstar = b.box(3.1, 4.3, f"$D^* = {pd} \\,/\\, ({pd} + p_g)$", w=6.0)
    Vstar = b.box(3.1, 2.2, f"$V(D^*, G) = -\\log 4 + 2\\,\\mathrm{{JSD}}({pd} \\,\\|\\, p_g)$", w=6.0, role="loss")
    best = b.box(3.1, 0.6, f"$p_g = {pd}$", w=6.0, h=0.8, role="data")
    # left column: the chain of results; right column: the step each arrow takes, and what checks the result
    for a, c in ((V, Dstar), (Dstar, Vstar), (Vstar, best)):
        b.arrow(a, c)
    steps = [
        (5.6, "fix $G$; at each $x$ maximise $a \\log y + b \\log(1 - y)$"),
        (5.1, f"with $a = {pd}(x)$, $b = p_g(x)$: at $y = a / (a + b)$"),
        (3.5, f"substitute $D^*$; with $m = \\frac{{1}}{{2}}({pd} + p_g)$,"),
        (3.0, f"$V = \\mathrm{{KL}}({pd} \\,\\|\\, m) + \\mathrm{{KL}}(p_g \\,\\|\\, m) - \\log 4$"),
        (1.4, f"$G$ minimises: $\\mathrm{{JSD}} = 0$ only if $p_g = {pd}$"),
    ]
    for y, text in steps:
        b.note(6.5, y, text, ha="left", fontsize=9)
    b.note(6.5, 6.4, "$D$ maximises $V$, $G$ minimises it", ha="left", color="#555555")
    b.note(6.5, 4.3, f"its logit is $\\log {pd} - \\log p_g$; checked against a trained $D$", ha="left",
           color="#2a6")  # fmt: skip
    b.note(6.5, 2.2, "$0 \\leq \\mathrm{JSD} \\leq \\log 2$; both sides checked by quadrature", ha="left",
           color="#2a6")  # fmt: skip
    b.note(6.5, 0.6, "the unique optimum: $D^* \\equiv 1/2$, $V = -\\log 4$", ha="left", color="#555555")
    return b.done()


def generator_gradient():
    """Section 4's chain rule: the gradient is dL/dell times dell/dtheta; only the first factor depends on the loss."""
    b = Board(14.4, 6.0, title="What reaches the generator: $\\partial L / \\partial \\theta = "
              "(\\partial L / \\partial \\ell)\\,(\\partial \\ell / \\partial \\theta)$")  # fmt: skip
    z = b.box(1.0, 4.1, "$z$", role="latent", sub="(B, k)", w=1.2)
    G = b.box(3.4, 4.1, "generator $G$", sub="weights $\\theta$")
    x = b.box(5.9, 4.1, "$G(z)$", role="data", sub="(B, d)", w=1.4)
    D = b.box(8.3, 4.1, "discriminator $D$", w=2.6, sub="weights held fixed")
    logit = b.box(10.9, 4.1, "logit $\\ell$", role="latent", sub="(B,)", w=1.4)
    for a, c in ((z, G), (G, x), (x, D), (D, logit)):
        b.arrow(a, c)
    sat = b.box(8.7, 1.9, "$L_\\mathrm{sat} = \\log(1 - \\sigma(\\ell))$", w=3.6, role="loss",
                sub="$\\partial L / \\partial \\ell = -D(G(z))$")  # fmt: skip
    ns = b.box(12.5, 1.9, "$L_\\mathrm{ns} = -\\log \\sigma(\\ell)$", w=3.6, role="loss",
               sub="$\\partial L / \\partial \\ell = -(1 - D(G(z)))$")  # fmt: skip
    b.arrow(logit, sat)
    b.arrow(logit, ns)
    # the backward path through D and G is shared by both losses; only the first factor differs
    b.arrow((10.0, 3.35), (3.4, 3.35), dashed=True, color="#a33", text_offset=(0, -0.6))
    b.note(6.6, 3.05, "$\\partial \\ell / \\partial \\theta$, back through $D$ and $G$: the same for both losses",
           color="#a33")  # fmt: skip
    b.note(3.4, 1.9, "when $D$ rejects the fakes, $D(G(z)) \\to 0$:", fontsize=9)
    b.note(3.4, 1.2, "saturating: $\\partial L / \\partial \\ell \\to 0$, the signal starves", color="#a33")
    b.note(3.4, 0.6, "non-saturating: $\\partial L / \\partial \\ell \\to -1$, its largest size", color="#2a6")
    b.note(10.6, 0.55, "both derivatives are negative: descent raises the fakes' logit", ha="center")
    return b.done()


def transposed_conv():
    """A 1-D transposed convolution with DCGAN's k = 4, s = 2, p = 1: each input pixel stamps the kernel, 2 apart."""
    b = Board(14, 6.4, title="A transposed convolution: $k = 4$, $s = 2$, $p = 1$ doubles $n = 3$ pixels to 6")
    cell, x0 = 0.6, 0.8  # output position j has its left edge at x0 + j * cell
    for i in range(3):
        centre = x0 + (2 * i + 2) * cell  # input pixel i sits above the middle of its stamp
        b.grid(centre, 5.3, 1, 1, cell=cell)
        b.note(centre, 5.3, f"$x_{i}$", fontsize=9)
        y = 4.3 - 0.75 * i
        b.grid(centre, y, 1, 4, cell=cell, role="net")  # the kernel, scaled by x_i, written from position 2i
        b.note(centre - 2 * cell - 0.15, y, f"$x_{i}\\,w$", ha="right", fontsize=9)
    counts = [1, 1, 2, 2, 2, 2, 1, 1]  # how many stamps cover each of the (n - 1)s + k = 8 positions
    b.grid(x0 + 4 * cell, 1.5, 1, 8, cell=cell)
    for j, count in enumerate(counts):
        cx = x0 + (j + 0.5) * cell
        cropped = j in (0, 7)
        if cropped:  # padding p = 1 crops one pixel from each side
            b.ax.add_patch(plt.Rectangle((cx - cell / 2, 1.5 - cell / 2), cell, cell, fill=False, hatch="///",
                                         edgecolor="#999999", linewidth=0))  # fmt: skip
        b.note(cx, 1.5, str(count), fontsize=9, color="#999999" if cropped else "#222222")
    b.arrow((x0 + 4 * cell, 2.4), (x0 + 4 * cell, 1.85))
    b.note(x0 + 4 * cell, 0.75, "stamps covering each output pixel", color="#555555")
    b.note(6.4, 5.3, "input: $n = 3$ pixels", ha="left", fontsize=9)
    b.note(6.4, 3.75, "each $x_i$ adds the kernel $w$ ($k = 4$ taps), scaled", ha="left", fontsize=9)
    b.note(6.4, 3.3, "by $x_i$, from position $i\\,s$: the stamps lie $s = 2$ apart", ha="left", fontsize=9)
    b.note(6.4, 1.72, "output: $(n - 1)s + k = 8$ pixels, less $p = 1$ on", ha="left", fontsize=9)
    b.note(6.4, 1.27, "each side (hatched): $(n - 1)s - 2p + k = 6 = 2n$", ha="left", fontsize=9)
    b.note(6.4, 0.75, "$s$ divides $k$: 2 stamps on every interior pixel", ha="left", color="#2a6")
    return b.done()


def dcgan_players():
    """DCGAN's generator and discriminator for MNIST, stage by stage, with the shapes at the full budget."""
    b = Board(15, 7.4, title="DCGAN for MNIST at the full budget ($d = 100$, $w = 64$): $D$ mirrors $G$")
    xs = (1.4, 5.3, 9.3, 13.4)  # one column per resolution: G runs left to right, D right to left
    g_boxes = [
        b.box(xs[0], 5.0, "$z$", role="latent", sub="(B, 100)", w=2.0),
        b.box(xs[1], 5.0, "$2w$ maps, $7 \\times 7$", role="latent", sub="(B, 128, 7, 7)", w=2.8),
        b.box(xs[2], 5.0, "$w$ maps, $14 \\times 14$", role="latent", sub="(B, 64, 14, 14)", w=2.8),
        b.box(xs[3], 5.0, "image $G(z)$", role="data", sub="(B, 1, 28, 28)", w=2.4),
    ]
    d_boxes = [
        b.box(xs[3], 2.0, "image $x$", role="data", sub="(B, 1, 28, 28)", w=2.4),
        b.box(xs[2], 2.0, "$w$ maps, $14 \\times 14$", role="latent", sub="(B, 64, 14, 14)", w=2.8),
        b.box(xs[1], 2.0, "$2w$ maps, $7 \\times 7$", role="latent", sub="(B, 128, 7, 7)", w=2.8),
        b.box(xs[0], 2.0, "logit $\\ell$", role="latent", sub="(B,)", w=2.0),
    ]
    g_layers = ("Linear, reshape\nBN, ReLU", "ConvT(4, 2, 1)\nBN, ReLU", "ConvT(4, 2, 1)\ntanh")
    d_layers = ("Conv(4, 2, 1)\nLeakyReLU(0.2)", "Conv(4, 2, 1)\nBN, LeakyReLU(0.2)", "flatten (B, 6272)\nLinear")
    for k in range(3):
        b.arrow(g_boxes[k], g_boxes[k + 1])
        b.note((xs[k] + xs[k + 1]) / 2, 5.85, g_layers[k], va="bottom")
        b.arrow(d_boxes[k], d_boxes[k + 1])
        b.note((xs[3 - k] + xs[2 - k]) / 2, 1.15, d_layers[k], va="top")
    b.arrow(g_boxes[3], d_boxes[0])
    b.note(xs[3] - 0.3, 3.5, "a fake, or a real image in $[-1, 1]$", ha="right")
    b.note(xs[0] + 0.3, 3.5, "$D(x) = \\sigma(\\ell)$, the probability that $x$ is real", ha="left")
    b.frame(0.15, 4.1, 14.85, 7.0, "generator $G$: 759,681 weights")
    b.frame(0.15, 0.05, 14.85, 2.9, "discriminator $D$: 138,689 weights")
    return b.done()


def projection_discriminator():
    """Chapter 4's conditional discriminator: logit = psi(h) + <e_y, h>, with h from the convolutional body."""
    b = Board(15, 6.6, title="The projection discriminator: $\\ell(x, y) = \\psi(h) + \\langle e_y, h \\rangle$")
    x = b.box(1.4, 3.9, "image $x$", role="data", sub="(B, 1, 28, 28)", w=2.4)
    body = b.box(4.6, 3.9, "body", sub="DCGAN's convolutions", w=2.9)
    h = b.box(7.6, 3.9, "features $h$", role="latent", sub="(B, F)", w=2.0)
    psi = b.box(10.2, 5.0, "head $\\psi$", sub="Linear, $F \\to 1$", w=2.0)
    y = b.box(1.4, 1.1, "label $y$", role="data", sub="(B,)", w=2.4)
    table = b.box(4.6, 1.1, "embedding table", sub="(10, F)", w=2.9)
    e = b.box(7.6, 1.1, "$e_y$", role="latent", sub="(B, F)", w=2.0)
    dot = b.box(10.2, 2.3, "$\\langle e_y, h \\rangle$", role="op", sub="(B,)", w=2.0)
    plus = b.box(12.2, 3.65, "$+$", role="op", w=0.7, h=0.7)
    logit = b.box(13.9, 3.65, "$\\ell(x, y)$", role="latent", sub="(B,)", w=1.6)
    for a, c in ((x, body), (body, h), (h, psi), (h, dot), (y, table), (table, e), (e, dot), (psi, plus),
                 (dot, plus), (plus, logit)):  # fmt: skip
        b.arrow(a, c)
    b.note(10.2, 5.85, "$\\psi(h)$: is this a plausible image?", color="#555555")
    b.note(11.4, 2.05, "is it a plausible", color="#555555", ha="left")
    b.note(11.4, 1.7, "image of class $y$?", color="#555555", ha="left")
    b.note(0.2, 5.55, "$x$: a real image, or $G(z, y)$, whose input", color="#555555", ha="left")
    b.note(0.2, 5.15, "is $z$ beside a one-hot $y$: (B, 64 + 10)", color="#555555", ha="left")
    b.note(7.6, 0.2, "$F = 2w \\cdot 7 \\cdot 7 = 6{,}272$ at the full budget ($w = 64$)", color="#555555")
    return b.done()


def feature_metrics():
    """Chapter 4's measures: classifier features of N images -> Fréchet distance, precision and recall, accuracy."""
    b = Board(15.5, 6.8, title="Measuring a generator in the feature space of a classifier")
    ref = b.box(2.1, 4.6, "real training images", role="data", sub="reference: (N, 1, 28, 28)", w=3.8)
    cand = b.box(2.1, 2.3, "images to measure", role="data", sub="(N, 1, 28, 28), labels $y$", w=3.8)
    clf = b.box(6.0, 3.45, "feature classifier", sub="trained once, frozen", w=3.0)
    f_ref = b.box(9.3, 4.3, "features", role="latent", sub="(N, 128)", w=1.8)
    f_cand = b.box(9.3, 2.6, "features", role="latent", sub="(N, 128)", w=1.8)
    b.frame(8.2, 1.85, 10.4, 5.05)
    fd = b.box(13.3, 5.1, "Fréchet distance", role="loss", sub="Gaussians: $\\mu$ (128,), $\\Sigma$ (128, 128)", w=4.2)
    pr = b.box(13.3, 3.45, "precision, recall", role="loss", sub="$k$-NN balls, $k = 3$", w=4.2)
    acc = b.box(13.3, 1.0, "conditional accuracy", role="loss", sub="argmax of the logits $= y$?", w=4.2)
    for a, c in ((ref, clf), (cand, clf), (clf, f_ref), (clf, f_cand)):
        b.arrow(a, c)
    b.arrow((10.4, 4.6), fd)  # both feature sets feed both measures
    b.arrow((10.4, 3.45), pr)
    b.arrow((clf.x, clf.y - 0.5), acc, bend=0.3)
    b.note(8.9, 0.75, "logits (N, 10)")
    b.note(0.2, 1.3, "samples of a GAN; or held-out real", color="#555555", ha="left")
    b.note(0.2, 0.9, "images (the floor), blurred ones, noise", color="#555555", ha="left")
    b.note(7.75, 6.0, "every row of the table: the same reference and the same $N$; FD is read in units of the floor",
           color="#555555")  # fmt: skip
    return b.done()


def _knn_radii(points, k):
    """The distance from each point to its k-th nearest other point: the ball radii of metrics.precision_recall."""
    d = np.linalg.norm(points[:, None] - points[None], axis=-1)
    return np.sort(d, axis=1)[:, k]  # column 0 is the point itself


def precision_recall_balls():
    """Improved precision and recall: each set's manifold is a union of k-NN balls; count who falls inside whose."""
    b = Board(14, 6.4, title="Precision and recall on $k$-NN manifolds, $k = 3$")

    def arc(t, r):  # points of a circle of radius r: the real data lie on the arc r = 2.6
        return np.stack([3.2 + r * np.cos(np.pi * t), 1.9 + r * np.sin(np.pi * t)], axis=1)

    real = arc(np.linspace(0.1, 0.9, 20), 2.6)
    # a generator that draws one end of the data well, and a few damaged samples away from the data
    good = arc(np.array([0.66, 0.7, 0.74, 0.78, 0.82, 0.86]), np.array([2.7, 2.5, 2.6, 2.75, 2.5, 2.6]))
    fake = np.concatenate([good, [[3.0, 1.9], [3.4, 2.0], [3.2, 1.6], [3.5, 1.6]]])
    blue, orange = "#3b75af", "#e08a2c"
    panels = [  # (x offset, centres of the balls, their colour, the points tested, their colour, what is counted)
        (0.2, real, blue, fake, orange, "precision", "generated points inside the real balls"),
        (7.2, fake, orange, real, blue, "recall", "real points inside the generated balls"),
    ]
    for dx, centres, c_col, tested, t_col, name, label in panels:
        radii = _knn_radii(centres, k=3)
        for (cx, cy), r in zip(centres, radii, strict=True):
            b.ax.add_patch(plt.Circle((cx + dx, cy), r, color=c_col, alpha=0.08, linewidth=0))
            b.ax.add_patch(plt.Circle((cx + dx, cy), r, fill=False, edgecolor=c_col, alpha=0.35, linewidth=0.6))
        b.ax.scatter(centres[:, 0] + dx, centres[:, 1], s=14, color=c_col, zorder=3)
        inside = (np.linalg.norm(tested[:, None] - centres[None], axis=-1) <= radii[None]).any(axis=1)
        # a filled marker is counted, a hollow one is not
        b.ax.scatter(tested[inside, 0] + dx, tested[inside, 1], s=30, marker="s", color=t_col, zorder=4)
        b.ax.scatter(tested[~inside, 0] + dx, tested[~inside, 1], s=30, marker="s", facecolor="white",
                     edgecolor=t_col, linewidth=1.2, zorder=4)  # fmt: skip
        b.note(dx + 3.2, 0.85, f"{name} = {inside.sum()} of {len(tested)} = {inside.mean():.2f}", fontsize=10)
        b.note(dx + 3.2, 0.4, label)
    b.note(7.0, 5.6, "dots: the centres of the balls; squares: the points tested, filled where inside some ball",
           color="#555555")  # fmt: skip
    return b.done()
