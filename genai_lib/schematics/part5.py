"""Schematics of Part 5 (memorisation, detection): the copy test, the ideal denoiser, probes of a language
model's memory, a detector's data flow and a watermark's embed-and-test loop."""

from __future__ import annotations

from .board import Board

__all__ = ["copy_test", "ideal_denoiser", "lm_memory_probes", "detector_flow", "pgd_loop", "watermark_loop"]


def copy_test():
    """The memorisation rate r_q: samples and held-out images measured against the training set, one threshold."""
    b = Board(15, 6.6, title="What counts as a copy: the held-out yardstick")
    y = b.box(1.6, 4.9, "samples $y_\\ell$", role="data", sub="(n, D)", w=2.2)
    h = b.box(1.6, 1.5, "held-out $h_j$", role="data", sub="(M, D)", w=2.2)
    S = b.box(5.4, 3.2, "training set $S$", role="data", sub="(N, D)", w=2.6)
    # One nearest-neighbour search per set, against the same S: the two distances are comparable.
    nn_y = b.box(5.4, 4.9, "nearest neighbour in $S$", role="op", sub="$\\min_i\\, d(y_\\ell, x_i)$", w=3.9)
    nn_h = b.box(5.4, 1.5, "nearest neighbour in $S$", role="op", sub="$\\min_i\\, d(h_j, x_i)$", w=3.9)
    cmp = b.box(10.4, 4.9, "$\\delta_S(y_\\ell) < \\tau_q$ ?", role="op", sub="(n,) yes or no", w=2.6)
    tau = b.box(10.4, 1.5, "$q$-quantile", role="op", sub="of the $M$ distances", w=2.6)
    r = b.box(13.5, 4.9, "$r_q$", role="loss", sub="share of yes", w=2.0)
    b.arrow(y, nn_y)
    b.arrow(h, nn_h)
    b.arrow(S, nn_y)
    b.arrow(S, nn_h)
    b.arrow(nn_y, cmp, "$\\delta_S(y_\\ell)$: (n,)")
    b.arrow(nn_h, tau, "$\\delta_S(h_j)$: (M,)")
    b.arrow(tau, cmp, "$\\tau_q$", text_offset=(0.35, -0.1))
    b.arrow(cmp, r)
    b.note(13.3, 3.4, "fresh samples: $r_q \\approx q$", fontsize=9)
    b.note(13.3, 2.8, "copies: $r_q = 1$", fontsize=9)
    b.note(1.6, 0.6, "real, never trained on")
    b.note(7.5, 0.35, "$d$: Euclidean, on $D$ pixels or on the classifier's 128 features", fontsize=8)
    return b.done()


def ideal_denoiser():
    """The ideal denoiser of N training images: a softmax over their distances to x_t, then a weighted average."""
    b = Board(15, 7.8, title="The ideal denoiser: a formula of the training set, no weights")
    xt = b.box(1.5, 5.2, "$x_t$", role="data", sub="(B, D)", w=1.8)
    S = b.box(1.5, 2.6, "$x_1, \\dots, x_N$", role="data", sub="(N, D)", w=1.8)
    sq = b.box(5.4, 5.2, "$\\| x_t - \\sqrt{\\bar\\alpha_t}\\, x_i \\|^2$", role="op", sub="every pair", w=3.4)
    soft = b.box(10.2, 5.2, "softmax over $i$", role="op", sub="of $-\\|\\cdot\\|^2 / \\, 2(1-\\bar\\alpha_t)$", w=3.4)
    x0_hat, weights = "$\\hat x_0 = \\mathbb{E}[x_0 \\mid x_t]$", "(B, D): weights $P(i \\mid x_t)$ on the $x_i$"
    avg = b.box(10.2, 2.6, x0_hat, role="op", sub=weights, w=4.0)
    eps = b.box(13.7, 4.4, "$\\varepsilon^*(x_t, t)$", role="latent", sub="(B, D)", w=2.2)
    b.arrow(xt, sq)
    b.arrow(S, sq)
    b.arrow(sq, soft, "(B, N)")
    b.arrow(soft, avg, "$P(i \\mid x_t)$: (B, N)", text_offset=(-1.1, -0.1))
    b.arrow(S, avg)
    b.arrow(avg, eps)
    # x_t is needed again at the end: the arc passes over the boxes rather than through them.
    b.arrow(xt.top, (13.7, 4.9), "$x_t$", bend=-0.3, text_offset=(0, 1.85))
    eps_of_x0 = "$= \\frac{x_t - \\sqrt{\\bar\\alpha_t}\\, \\hat x_0}{\\sqrt{1 - \\bar\\alpha_t}}$"
    b.note(13.75, 3.25, eps_of_x0, fontsize=10)
    # What the softmax does over a sampling run: flat while the noise is large, one-hot at the end.
    b.grid(4.6, 1.5, 1, 10, values=[[0.35] * 10])
    b.grid(4.6, 0.6, 1, 10, values=[[0.0] * 6 + [1.0] + [0.0] * 3])
    b.note(6.3, 1.5, "large $t$: flat, $\\hat x_0$ = the mean training image", ha="left")
    b.note(6.3, 0.6, "small $t$: one-hot, $\\hat x_0$ = the nearest $x_i$", ha="left")
    b.note(4.6, 2.1, "$P(i \\mid x_t)$ over the $N$ images")
    return b.done()


def lm_memory_probes():
    """Three probes of a character GPT's memory, each read against the same probe on held-out text."""
    b = Board(15, 7.2, title="Three probes of what a language model remembers")
    train = b.box(1.7, 5.8, "training text", role="data", sub="small corpus, or all", w=3.0)
    gpt = b.box(1.7, 3.6, "character GPT", sub="same size and steps", w=3.0)
    held = b.box(1.7, 1.4, "held-out text", role="data", sub="the last 10%", w=3.0)
    b.arrow(train, gpt, "train", text_offset=(0.45, -0.1))
    b.arrow(held, gpt, "control", dashed=True, text_offset=(0.55, -0.1))
    rows = [  # (what the model is asked, with its shape; the test, and what it is read against)
        (
            "mean loss $\\ell$ of a window",
            "(P,): P windows of block_size + 1",
            "member if $\\ell < \\tau$",
            "AUROC, members vs held-out",
        ),
        (
            "sample, temperature 0.8",
            "(text_samples, text_len) chars",
            "window in training text?",
            "verbatim rate of $n$ chars, vs held-out",
        ),
        (
            "greedy completion",
            "prefix chars in, suffix chars out",
            "suffix exactly right?",
            "extraction rate, vs held-out prefixes",
        ),
    ]
    for y, (ask, shape, test, measure) in zip((5.8, 3.6, 1.4), rows, strict=True):
        op = b.box(6.4, y, ask, role="op", sub=shape, w=4.4, h=1.2)
        rate = b.box(12.1, y, test, role="loss", sub=measure, w=5.0, h=1.2)
        b.arrow(gpt, op)
        b.arrow(op, rate)
    return b.done()


def detector_flow():
    """The detector: a small CNN on real (y = 0) and generated (y = 1) digits, two logits, one score s(x)."""
    b = Board(15, 7.0, title="A detector: a classifier of real against generated")
    real = b.box(1.7, 5.7, "real, $y = 0$", role="data", sub="(B, 1, 28, 28)", w=2.7)
    fake = b.box(1.7, 3.7, "generated, $y = 1$", role="data", sub="(B, 1, 28, 28)", w=2.7)
    b.note(1.7, 2.85, "GAN, VAE, or a mix")
    # Classifier(width=16, feature_dim=64): each stage halves the image and doubles the channels.
    c1 = b.box(5.0, 4.7, "conv, pool", sub="(B, 16, 14, 14)", w=2.3)
    c2 = b.box(7.7, 4.7, "conv, pool", sub="(B, 32, 7, 7)", w=2.3)
    f = b.box(10.4, 4.7, "linear", sub="features (B, 64)", w=2.3)
    head = b.box(13.1, 4.7, "linear", sub="$\\ell_0, \\ell_1$: (B, 2)", w=2.3)
    b.frame(3.65, 3.95, 14.45, 5.95, "the CNN: 3×3 convolutions, 2×2 max-pools, ReLU after all but the last layer")
    for a, z in ((real, c1), (fake, c1), (c1, c2), (c2, f), (f, head)):
        b.arrow(a, z)
    ce = b.box(13.1, 1.6, "cross-entropy", role="loss", sub="with the labels $y$", w=2.6)
    s = b.box(8.6, 1.6, "$s(x) = \\ell_1 - \\ell_0$", role="op", sub="(B,): the log-odds", w=2.8)
    call = b.box(4.2, 1.6, "generated if $s(x) > 0$", role="op", sub="or sweep $\\tau$: ROC, AUROC", w=3.4)
    b.arrow(head, ce, "training", text_offset=(0.55, -0.1))
    b.arrow(head, s, "testing", text_offset=(-0.6, -0.1))
    b.arrow(s, call)
    b.note(4.2, 0.45, "AUROC $= P(S_g > S_r)$", fontsize=9)
    b.note(10.9, 0.45, "test sets: real digits vs GAN, VAE, diffusion (unseen)")
    return b.done()


def pgd_loop():
    """PGD against the detector: k signed-gradient steps on the image, each projected back into the eps-ball."""
    b = Board(15, 6.8, title="PGD against the detector: small steps that raise its loss")
    x = b.box(1.7, 4.7, "GAN sample $x$", role="data", sub="(B, 1, 28, 28), $y = 1$", w=2.8)
    xp = b.box(5.3, 4.7, "$x'$", role="data", sub="starts at $x$", w=1.8)
    det = b.box(8.5, 4.7, "detector", sub="$L = \\mathrm{CE}(\\ell(x'), y)$", w=2.8)
    grad = b.box(12.8, 4.7, "$g = \\nabla_{x'} L$", role="op", sub="(B, 1, 28, 28)", w=2.6)
    step = b.box(12.8, 2.3, "$x' + \\alpha\\, \\mathrm{sign}(g)$", role="op", sub="then clip to [0, 1]", w=3.0)
    ball = "$x - \\varepsilon \\leq x' \\leq x + \\varepsilon$"
    proj = b.box(7.6, 2.3, "back into the $\\varepsilon$-ball", role="op", sub=ball, w=3.4)
    b.frame(3.9, 1.3, 14.4, 5.9, "PGD: $k$ steps of size $\\alpha = 2.5\\varepsilon / k$")
    b.arrow(x, xp)
    b.arrow(xp, det)
    b.note(8.5, 3.8, "weights frozen: only $x'$ moves")
    b.arrow(det, grad, "backward")
    b.arrow(grad, step)
    b.arrow(step, proj)
    b.arrow(proj, xp, "repeat", text_offset=(-0.6, -0.2))
    # The attacker's gain, to first order: the l1 norm sums over all 784 pixels (eq. eq-fgsm).
    gain = "$L(x + \\delta) - L(x) \\approx \\varepsilon \\|g\\|_1$"
    b.note(7.5, 0.75, f"FGSM is one step with $\\alpha = \\varepsilon$:  {gain}", fontsize=9)
    b.note(7.5, 0.2, "the attack succeeds when $s(x') \\leq 0$: the detector calls $x'$ real")
    return b.done()


def watermark_loop():
    """The watermark: a keyed ±1 pattern added to released images, found again by correlating a high-pass residual."""
    b = Board(15, 7.6, title="A spread-spectrum watermark: embed with the key, test with the key")
    x = b.box(2.4, 5.8, "generated $x$", role="data", sub="(B, 1, 28, 28)", w=2.6)
    marked = "$\\mathrm{round}(\\mathrm{clip}(x + \\delta w))$"
    emb = b.box(7.0, 5.8, marked, role="op", sub="8 bits; $\\delta$ = 12/255", w=3.8)
    xw = b.box(12.2, 5.8, "$x_w$, released", role="data", sub="(B, 1, 28, 28)", w=2.6)
    key = b.box(2.4, 3.6, "key $k$", role="latent", sub="a secret seed", w=2.6)
    w = b.box(7.0, 3.6, "$w \\in \\{-1, +1\\}^n$", role="latent", sub="(1, 28, 28): $n$ = 784", w=3.0)
    test = b.box(12.2, 3.6, "image to test", role="data", sub="$x_w$, or any other", w=2.6)
    hp = b.box(12.2, 1.4, "$r = x - \\bar x_{3 \\times 3}$", role="op", sub="high-pass residual", w=2.6)
    zed = "$z = \\langle w, c \\rangle \\, / \\, \\|c\\|$"
    z = b.box(7.0, 1.4, zed, role="op", sub="$c = r - \\mathrm{mean}(r)$; (B,)", w=3.2)
    t_alpha = "$t_\\alpha = \\sqrt{2 \\ln(1/\\alpha)}$"
    call = b.box(2.4, 1.4, "marked if $z > t_\\alpha$", role="loss", sub=t_alpha, w=2.8)
    b.arrow(x, emb)
    b.arrow(emb, xw)
    b.arrow(key, w, "seeds")
    b.arrow(w, emb)
    b.arrow(w, z)  # the detector needs the same pattern, hence the same key
    b.arrow(xw, test)
    b.arrow(test, hp)
    b.arrow(hp, z, "(B, 1, 28, 28)")
    b.arrow(z, call)
    null = "without the key: $z$ has mean 0, variance 1, $P(z \\geq t) \\leq e^{-t^2/2}$"
    b.note(7.5, 0.35, f"{null};  $\\alpha = 10^{{-3}}$ gives $t_\\alpha = 3.72$")
    return b.done()
