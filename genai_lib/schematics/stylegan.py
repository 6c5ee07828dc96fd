"""Schematics of the style-based generator chapter: the generator, how a style enters a convolution, style mixing."""

from __future__ import annotations

from .board import Board

__all__ = ["style_generator", "modulated_conv", "style_mixing"]


def style_generator():
    """StyleGAN's two networks: the mapping z -> w, and the synthesis network that w styles at every layer."""
    b = Board(15, 9.2, title="A style-based generator at the full budget: $w$ styles every layer of the synthesis")
    z = b.box(1.8, 8.0, "$z \\sim \\mathcal{N}(0, I)$", role="latent", sub="(B, 128)", w=2.8)
    norm = b.box(1.8, 6.3, "pixel norm", role="op", sub="unit RMS per row", w=2.8)
    mlp = b.box(1.8, 4.9, "MLP, 2 layers", sub="leaky ReLU, lr $\\times$ 0.01", w=2.8)
    w = b.box(1.8, 3.0, "$w$", role="latent", sub="(B, 128)", w=2.8)
    b.frame(0.25, 4.1, 3.35, 7.25)
    b.note(0.35, 3.8, "mapping", ha="left", color="#555555")
    for a, c in ((z, norm), (norm, mlp), (mlp, w)):
        b.arrow(a, c)
    const = b.box(7.0, 8.0, "learned constant", role="latent", sub="(B, 256, 4, 4)", w=3.6)
    rows = [
        b.box(7.0, 6.6, "style layer $\\times 1$", sub="(B, 256, 4, 4)", w=3.6),
        b.box(7.0, 5.2, "upsample, style layer $\\times 2$", sub="(B, 128, 8, 8)", w=3.6),
        b.box(7.0, 3.8, "upsample, style layer $\\times 2$", sub="(B, 64, 16, 16)", w=3.6),
        b.box(7.0, 2.4, "upsample, style layer $\\times 2$", sub="(B, 32, 32, 32)", w=3.6),
    ]
    b.arrow(const, rows[0])
    for a, c in zip(rows, rows[1:], strict=False):
        b.arrow(a, c)
    for row in rows:  # one w for every layer; each layer turns it into its own styles s = A(w)
        b.arrow(w, row, color="#2a6")
    b.note(3.7, 1.55, "$s = A(w)$: an affine map per layer", color="#2a6", ha="left")
    b.note(6.4, 1.0, "in each style layer: 3$\\times$3 conv modulated by $s$, noise $b_c\\,n$, bias, leaky ReLU")
    rgb = [b.box(10.6, row.y, "to RGB", sub="1$\\times$1 conv, (B, 3, r, r)", w=2.2) for row in rows]
    for row, out in zip(rows, rgb, strict=True):
        b.arrow(row, out)
    sums = [b.box(13.3, row.y, "$\\uparrow$2, $+$", role="op", w=1.3, h=0.8) for row in rows[1:]]
    b.arrow(rgb[0], sums[0])
    for out, s in zip(rgb[1:], sums, strict=True):
        b.arrow(out, s)
    for a, c in zip(sums, sums[1:], strict=False):
        b.arrow(a, c)
    image = b.box(13.3, 0.85, "image", role="data", sub="tanh, (B, 3, 32, 32)", w=2.9, h=0.9)
    b.arrow(sums[-1], image)
    b.note(13.3, 7.3, "the pictures of all", color="#555555")
    b.note(13.3, 6.95, "resolutions, summed", color="#555555")
    return b.done()


def modulated_conv():
    """Section 3's two ways for a style to enter a convolution: AdaIN on the activations, or (de)modulated weights."""
    b = Board(15, 7.6, title="A style enters a layer: AdaIN (StyleGAN 1) or weight demodulation (StyleGAN 2)")
    b.note(3.6, 6.85, "StyleGAN 1: normalise the activations", fontsize=9)
    x = b.box(1.6, 5.7, "features $x$", role="latent", sub="(B, C, H, W)", w=2.6)
    conv = b.box(1.6, 4.2, "3$\\times$3 conv", sub="shared weights", w=2.6)
    norm = b.box(1.6, 2.7, "$(x - \\mu(x)) / \\sigma(x)$", role="op", sub="per sample and map", w=2.6)
    style = b.box(1.6, 1.2, "$y_s \\cdot {} + y_b$", role="op", sub="(B, C, H, W)", w=2.6)
    a1 = b.box(5.0, 2.0, "$A(w)$", sub="$y_s$, $y_b$: (B, C)", w=2.0)
    for a, c in ((x, conv), (conv, norm), (norm, style)):
        b.arrow(a, c)
    b.arrow(a1, style, color="#2a6")
    b.note(11.0, 6.85, "StyleGAN 2: scale the weights instead", fontsize=9)
    weight = b.box(9.0, 5.7, "weights $w_{ijk}$", sub="(out $j$, in $i$, tap $k$)", w=2.8)
    a2 = b.box(13.2, 5.7, "$s = A(w)$", sub="(B, in)", w=2.0)
    mod = b.box(9.0, 4.2, "$w'_{ijk} = s_i\\, w_{ijk}$", role="op", sub="modulate", w=2.8)
    demod = b.box(9.0, 2.7, "$w''_{ijk} = w'_{ijk} / \\sigma_j$", role="op", sub="demodulate", w=2.8)
    out = b.box(9.0, 1.2, "conv of $x$ with $w''$", sub="one set of weights per sample", w=2.8)
    for a, c in ((weight, mod), (mod, demod), (demod, out)):
        b.arrow(a, c)
    b.arrow(a2, mod, color="#2a6")
    b.note(10.65, 3.3, "$\\sigma_j = \\sqrt{\\sum_{i,k} w'^2_{ijk}}$", ha="left", fontsize=9)
    b.note(10.65, 2.3, "unit-variance inputs give", ha="left", color="#2a6")
    b.note(10.65, 1.75, "$\\mathrm{Var}(y_j) = \\sum_{i,k} w''^2_{ijk} = 1$", ha="left", color="#2a6")
    b.note(3.1, 3.35, "each map's own mean and", ha="left", color="#a33")
    b.note(3.1, 3.0, "spread are erased", ha="left", color="#a33")
    return b.done()


def style_mixing():
    """Style mixing: the layers before the crossover read w_A, the layers after it read w_B."""
    b = Board(15, 5.6, title="Style mixing at crossover $m = 3$: coarse layers from $w_A$, fine layers from $w_B$")
    sides = (4, 8, 8, 16, 16, 32, 32)  # the resolution of each of the 7 style layers
    slots = [b.box(1.6 + 1.95 * i, 2.8, f"layer {i}", sub=f"{r}$\\times${r}", w=1.6) for i, r in enumerate(sides)]
    xs = [slot.x for slot in slots]
    wa = b.box(3.55, 4.8, "$w_A = f(z_A)$", role="latent", sub="(B, 128)", w=2.6)
    wb = b.box(10.35, 4.8, "$w_B = f(z_B)$", role="latent", sub="(B, 128)", w=2.6)
    for i, slot in enumerate(slots):
        b.arrow(wa if i < 3 else wb, slot, color="#2a6" if i < 3 else "#a33")
    for a, c in zip(slots, slots[1:], strict=False):
        b.arrow(a, c)
    cut = (xs[2] + xs[3]) / 2
    b.arrow((cut, 4.1), (cut, 1.6), dashed=True, color="#555555")
    b.note(cut, 1.25, "crossover $m$", color="#555555")
    b.note(xs[1], 1.25, "coarse styles: 4$\\times$4, 8$\\times$8", color="#2a6")
    b.note((xs[4] + xs[5]) / 2, 1.25, "fine styles: 16$\\times$16, 32$\\times$32", color="#a33")
    b.note(7.5, 0.55, "ws = G.mix_styles(w_A, w_B, m): rows [0, m) of ws are $w_A$, rows [m, 7) are $w_B$")
    return b.done()
