"""Schematics of Part 4 (diffusion): the two chains, the training step, the U-Net, label dropout and guidance."""

from __future__ import annotations

from .board import Board

__all__ = [
    "diffusion_chains",
    "diffusion_training_step",
    "diffusion_unet",
    "label_dropout",
    "guidance_as_classifier",
    "guided_sampling_step",
]

EPS_HAT = r"$\hat\varepsilon$"
IMAGE = "(B, C, H, W)"  # the shape of x_0, x_t, ε and ε̂ for images (Notation of chapters 11 and 12)
# Chapter 12's eq. (eq-cfg), in the book's convention: w = 0 unconditional, w = 1 conditional.
GUIDED = r"$\varepsilon(\varnothing) + w\, (\varepsilon(y) - \varepsilon(\varnothing))$"


def diffusion_chains():
    """The forward chain q adds noise step by step (or jumps to x_t at once); the learned p_θ walks back."""
    b = Board(14, 6.2, title=r"Forward process $q$ (fixed) and reverse process $p_\theta$ (learned)")
    x0 = b.box(1.0, 3.2, "$x_0$", role="data", sub="data", w=1.4)
    x1 = b.box(3.2, 3.2, "$x_1$", role="data", w=1.4)
    dots1 = (4.7, 3.2)
    xp = b.box(6.2, 3.2, "$x_{t-1}$", role="data", w=1.4)
    xt = b.box(9.6, 3.2, "$x_t$", role="data", w=1.4)
    dots2 = (11.25, 3.2)
    xT = b.box(12.9, 3.2, "$x_T$", role="latent", sub=r"$\approx\mathcal{N}(0, I)$", w=1.6)
    for p in (dots1, dots2):
        b.note(*p, r"$\cdots$", fontsize=12)
    # The fixed forward steps, left to right; one of them carries its formula.
    b.arrow(x0, x1)
    b.arrow(x1, (dots1[0] - 0.35, 3.2))
    b.arrow((dots1[0] + 0.35, 3.2), xp)
    b.arrow(xp, xt, r"$q(x_t \mid x_{t-1})$")
    b.arrow(xt, (dots2[0] - 0.35, 3.2))
    b.arrow((dots2[0] + 0.35, 3.2), xT)
    # The closed form skips the chain: one draw of ε reaches any level.
    b.arrow(x0.top, xt.top, bend=-0.25, color="#1f5fa8")
    b.note(5.25, 5.35, r"$q(x_t \mid x_0) = \mathcal{N}(\sqrt{\bar\alpha_t}\, x_0,\ (1 - \bar\alpha_t) I)$:"
           r" one jump, one draw of $\varepsilon$", color="#1f5fa8", fontsize=9)  # fmt: skip
    # The learned reverse steps, right to left, below the chain.
    for a, c in ((x1, x0), (xt, xp), (xT, xt)):
        b.arrow(a.bottom, c.bottom, dashed=True, bend=-0.45, color="#a33")
    b.note(8.0, 1.55, r"$p_\theta(x_{t-1} \mid x_t) = \mathcal{N}(\mu_\theta(x_t, t),\ \sigma_t^2 I)$",
           color="#a33", fontsize=9)  # fmt: skip
    b.note(3.0, 0.55, r"$q$: fixed, $x_t = \sqrt{\alpha_t}\, x_{t-1} + \sqrt{\beta_t}\, \varepsilon_t$, no parameters")
    b.note(10.4, 0.55, r"$p_\theta$: learned, from $x_T \sim \mathcal{N}(0, I)$ back to $x_0$", color="#a33")
    return b.done()


def diffusion_training_step():
    """One training step of the simple loss: draw t and ε, form x_t in one jump, predict ε̂, regress it on ε."""
    b = Board(14, 6.0, title=r"A training step: the simple loss $L_\mathrm{simple}$")
    x0 = b.box(1.6, 4.3, "$x_0$", role="data", sub=IMAGE, w=2.2)
    t = b.box(5.3, 5.2, r"$t \sim \mathcal{U}\{1, \dots, T\}$", role="op", sub="(B,); code: 0 to T−1", w=3.4)
    eps = b.box(1.6, 1.6, r"$\varepsilon \sim \mathcal{N}(0, I)$", role="latent", sub=IMAGE, w=2.2)
    noisy = b.box(5.3, 3.1, r"$x_t = \sqrt{\bar\alpha_t}\, x_0 + \sqrt{1 - \bar\alpha_t}\, \varepsilon$",
                  role="op", sub="add_noise: " + IMAGE, w=3.8)  # fmt: skip
    net = b.box(9.1, 3.1, r"$\varepsilon_\theta(x_t, t)$", sub="MLP or U-Net", w=2.2)
    loss = b.box(12.5, 3.1, r"$\| \varepsilon - \hat\varepsilon \|^2$", role="loss", sub="mean: a scalar", w=2.2)
    b.arrow(x0, noisy)
    b.arrow(eps, noisy)
    b.arrow(t, noisy)
    b.arrow(t, net)
    b.arrow(noisy, net, text_offset=(0, 0.15))
    b.arrow(net, loss, EPS_HAT, text_offset=(0, 0.1))
    # The same ε is the regression target: the network must say which noise was added.
    b.arrow(eps.bottom, loss.bottom, bend=0.18, color="#a33")
    b.note(7.2, 0.5, r"the target is the same $\varepsilon$", color="#a33")
    b.arrow(loss.top, net.top, dashed=True, bend=0.5, color="#a33")
    b.note(10.8, 4.55, r"gradient to $\theta$", color="#a33")
    b.note(6.7, 2.2, "one jump to level $t$, not $t$ steps")
    return b.done()


def diffusion_unet():
    """Chapter 11's U-Net at the full budget: three levels down, a middle, three up, skips, and t's embedding."""
    b = Board(
        15, 8, title=r"The U-Net $\varepsilon_\theta(x_t, t)$ at the full budget: MNIST, 64 channels, mults (1, 2, 2)"
    )
    kw = dict(w=2.6, fontsize=8)
    x_in = b.box(0.9, 6.6, "$x_t$", role="data", sub="(B, 1, 28, 28)", w=1.6, fontsize=8)
    # Going down: each level after the first halves H and W (a stride-2 conv) and may widen the channels.
    e0 = b.box(3.4, 6.6, "conv, ResBlock", sub="(B, 64, 28, 28)", **kw)
    e1 = b.box(4.4, 4.8, "\u2193 2, ResBlock", sub="(B, 128, 14, 14)", **kw)
    e2 = b.box(5.4, 3.0, "\u2193 2, ResBlock, attn", sub="(B, 128, 7, 7)", w=2.9, fontsize=8)
    mid = b.box(7.5, 1.2, "ResBlock, attn, ResBlock", sub="middle: (B, 128, 7, 7)", w=3.8, fontsize=8)
    # Going up: each ResBlock first concatenates one saved encoder output along the channels.
    d2 = b.box(9.6, 3.0, "2 \u00d7 (ResBlock, attn)", sub="(B, 128, 7, 7)", w=2.9, fontsize=8)
    d1 = b.box(10.6, 4.8, "\u2191 2, 2 ResBlocks", sub="(B, 128, 14, 14)", **kw)
    d0 = b.box(11.6, 6.6, "\u2191 2, 2 ResBlocks", sub="(B, 64, 28, 28)", **kw)
    out = b.box(14.1, 6.6, EPS_HAT, role="latent", sub="(B, 1, 28, 28)", w=1.6, fontsize=8)
    for a, c in ((x_in, e0), (e0, e1), (e1, e2), (e2, mid), (mid, d2), (d2, d1), (d1, d0), (d0, out)):
        b.arrow(a, c)
    b.arrow(e0, d0, "skips, concatenated along the channels", dashed=True, color="#1f5fa8")
    b.arrow(e1, d1, dashed=True, color="#1f5fa8")
    b.arrow(e2, d2, dashed=True, color="#1f5fa8")
    # The timestep reaches every level through one embedding, not through the image.
    t = b.box(1.0, 3.0, "$t$", role="data", sub="(B,)", w=1.2)
    emb = b.box(2.0, 1.2, "sinusoid, MLP", role="latent", sub="(B, 256)", w=2.6, fontsize=8)
    b.arrow(t, emb)
    b.arrow(emb, mid, "+", color="#a33")
    b.note(3.4, 0.25, "projected to (B, C, 1, 1) and added in every ResBlock", color="#a33")
    b.note(12.4, 1.2, "attn: self-attention over\nthe 7 \u00d7 7 = 49 pixels")
    return b.done()


def label_dropout():
    """Training with label dropout: each label becomes the null class ∅ with probability p_uncond."""
    b = Board(14, 6.6, title=r"Label dropout: one network learns $p(x \mid y)$ and $p(x)$")
    x0 = b.box(1.3, 5.0, "$x_0$", role="data", sub=IMAGE, w=2.0)
    y = b.box(1.3, 2.2, "$y$", role="text", sub="(B,)", w=2.0)
    noisy = b.box(4.9, 5.0, r"$x_t$ from $x_0$, $t$, $\varepsilon$", role="op", sub="as in chapter 11", w=3.2)
    drop = b.box(
        4.9, 2.2, r"$y \to \varnothing$ (index $K$)", role="op", sub=r"each with prob. $p_\mathrm{uncond}$", w=3.2
    )
    # The embedding table has K + 1 rows: the ten digits, and one more, learned, for "no label".
    cell = 0.17
    table = b.grid(8.1, 2.4, 10, 4, cell=cell, role="text")
    b.grid(8.1, 2.4 - 5.5 * cell - 0.06, 1, 4, cell=cell, role="op")
    b.note(7.9, 3.6, "class_emb")
    b.note(8.55, 2.4, r"rows $0, \dots, K - 1$", ha="left")
    b.note(8.55, 1.4, r"row $K$: $\varnothing$", ha="left")
    net = b.box(11.6, 3.6, r"$\varepsilon_\theta(x_t, t, y)$", sub="U-Net", w=2.6, h=1.2)
    loss = b.box(11.6, 5.6, r"$\| \varepsilon - \hat\varepsilon \|^2$", role="loss", w=2.2)
    b.arrow(x0, noisy)
    b.arrow(y, drop)
    b.arrow(drop, table)
    b.arrow(noisy, net)
    b.arrow((8.45, 3.25), net, color="#a33")
    b.note(9.6, 4.6, "(B, 4C), added to\nthe embedding of $t$", color="#a33")
    b.arrow(net, loss, EPS_HAT, text_offset=(0.25, -0.1))
    b.note(7.0, 0.45, r"about 85% of the examples train $\varepsilon_\theta(x_t, t, y)$, about 15% the "
           r"unconditional $\varepsilon_\theta(x_t, t, \varnothing)$", fontsize=9)  # fmt: skip
    return b.done()


def guidance_as_classifier():
    """Classifier guidance adds a trained classifier's gradient; classifier-free guidance gets it from two passes."""
    b = Board(14, 7.2, title=r"Two routes to the score of $p_t(x)\, p_t(y \mid x)^w$")
    b.frame(0.2, 2.0, 6.8, 6.6, "classifier guidance: two networks")
    b.frame(7.2, 2.0, 13.8, 6.6, "classifier-free guidance: one network")
    unc = b.box(1.9, 4.8, r"$\varepsilon_\theta(x_t, t)$", sub="unconditional", w=2.6)
    clf = b.box(5.1, 4.8, r"$p_\phi(y \mid x_t)$", sub="a classifier", w=2.6)
    s1 = b.box(3.5, 2.9, r"$\nabla \log p_t(x) + w\, \nabla_x \log p_\phi(y \mid x_t)$", role="op", w=5.6)
    b.arrow(unc, s1, r"$\div (-\sigma_t)$", text_offset=(-0.75, -0.1))
    b.arrow(clf, s1, "autograd", text_offset=(0.7, -0.1))
    # One network called twice, with the label and with the null label: the same weights θ, no classifier.
    cond = b.box(8.9, 4.8, r"$\varepsilon(x_t, t, y)$", sub="pass 1: label $y$", w=2.6)
    null = b.box(12.1, 4.8, r"$\varepsilon(x_t, t, \varnothing)$", sub="pass 2: null label", w=2.6)
    s2 = b.box(10.5, 2.9, GUIDED, role="op", w=5.6)
    b.arrow(cond, s2)
    b.arrow(null, s2)
    goal = b.box(7.0, 0.8, r"$\nabla_x \log [p_t(x)\, p_t(y \mid x)^w]$", role="latent", w=4.4)
    b.arrow(s1, goal)
    b.arrow(s2, goal)
    b.note(10.45, 1.72, r"$\div (-\sigma_t)$")
    b.note(2.4, 1.0, r"$p_\phi$, trained apart on noisy $x_t$," "\n" r"stands in for $p_t(y \mid x)$")
    b.note(11.9, 1.0, r"$\varepsilon(y) - \varepsilon(\varnothing) = -\sigma_t \nabla \log p_t(y \mid x)$:" "\n"
           "an implicit classifier, never trained")  # fmt: skip
    return b.done()


def guided_sampling_step():
    """One guided sampling step: x_t twice in one batch of 2B, split, combine with w, then the scheduler's step."""
    b = Board(14, 6.8, title=r"One sampling step with classifier-free guidance (for $w \neq 0, 1$)")
    x_t = b.box(1.2, 4.7, "$x_t$", role="data", sub=IMAGE, w=2.0)
    y = b.box(4.4, 6.0, r"$y$, and $\varnothing$ = index $K$", role="text", sub="(B,) each", w=3.4, h=0.8)
    cat = b.box(4.4, 4.7, r"$[x_t; x_t]$, $[t; t]$, $[y; \varnothing]$", role="op", sub="one batch of 2B", w=3.4)
    net = b.box(7.9, 4.7, r"$\varepsilon_\theta$", sub="one pass on 2B", w=2.2)
    e_c = b.box(11.6, 5.5, r"$\varepsilon(y)$", role="latent", sub=IMAGE, w=2.2)
    e_u = b.box(11.6, 3.9, r"$\varepsilon(\varnothing)$", role="latent", sub=IMAGE, w=2.2)
    b.arrow(x_t, cat)
    b.arrow(y, cat)
    b.arrow(cat, net)
    # predict_eps splits the 2B outputs back into the conditional half and the unconditional half.
    b.arrow(net, e_c, "chunk(2)", text_offset=(-0.3, 0.1))
    b.arrow(net, e_u)
    mix = b.box(8.2, 1.6, r"$\tilde\varepsilon$ = " + GUIDED, role="op", sub="guidance_scale $w$", w=5.0)
    step = b.box(3.4, 1.6, "schedule.step", role="op", sub=r"DDIM or DDPM: $x_t \to x_{t'}$", w=3.0)
    b.arrow((e_c.x - 0.6, e_c.y - 0.5), mix)  # from the box's corner, so that it clears ε(∅)
    b.arrow(e_u, mix)
    b.arrow(mix, step, r"$\tilde\varepsilon$", text_offset=(0, 0.05))
    b.arrow(step, x_t, "next level $t'$", text_offset=(-0.9, -0.2))
    _guidance_line(b, (11.2, 0.5), (12.0, 0.97), w_max=3)  # the formula as geometry: ε̃ lies on a line
    return b.done()


def _guidance_line(b, at_null, at_cond, *, w_max):
    """ε̃ moves on the line through ε(∅) (w = 0) and ε(y) (w = 1); w > 1 goes past ε(y), away from ε(∅)."""
    (x0, y0), (x1, y1) = at_null, at_cond
    xw, yw = x0 + w_max * (x1 - x0), y0 + w_max * (y1 - y0)
    b.ax.plot([x0, xw], [y0, yw], ls=":", color="#666666", lw=1)
    b.ax.plot([x0, x1, xw], [y0, y1, yw], "o", color="#444444", ms=4)
    b.note(x0 + 0.15, y0 - 0.05, r"$w = 0$: $\varepsilon(\varnothing)$", ha="left", va="top")
    b.note(x1 + 0.15, y1 - 0.05, r"$w = 1$: $\varepsilon(y)$", ha="left", va="top")
    b.note(xw - 0.15, yw + 0.05, f"$w = {w_max}$: " + r"$\tilde\varepsilon$", ha="right", va="bottom")
