"""Schematics of Part I (GANs): the game between G and D."""

from __future__ import annotations

from .board import Board

__all__ = ["gan_game"]


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
    b.note(11.8, 0.5, "(the non-saturating loss, chapter 2)")
    b.arrow((10.4, 2.5), (5.6, 1.2), dashed=True, bend=-0.25, color="#a33")
    b.note(6.2, 0.35, "$G$'s gradient flows back through $D$", color="#a33")
    return b.done()
