"""Schematics of Part II (VAEs and VQ-VAEs): chapters 5, 6 and 7."""

from __future__ import annotations

from .board import Board

__all__ = [
    "autoencoder_vs_vae",
    "amortised_inference",
    "reparameterisation_trick",
    "importance_weighted_bound",
    "rate_and_distortion",
    "vqvae_pipeline",
    "vqvae_losses",
]

RED = "#a33"  # gradients, as in the GAN game


def autoencoder_vs_vae():
    """The autoencoder of chapter 5 beside its VAE: same networks, but a noisy code, a prior and a KL term."""
    b = Board(15, 9.4, title="Autoencoder and VAE: the same two networks, a different code")
    cols = [1.0, 3.25, 5.65, 8.25, 10.85, 13.4]  # x, encoder, code, sampling, decoder, logits: aligned in both rows
    b.frame(0.1, 5.7, 14.9, 9.2, "autoencoder (Section 2): a point code, and no distribution to sample it from")
    y = 7.9
    x = b.box(cols[0], y, "$x$", role="data", sub="(B, C, H, W)", w=1.6)
    enc = b.box(cols[1], y, "encoder", sub="MLP", w=1.9)
    z = b.box(cols[2], y, "$z = \\mu(x)$", role="latent", sub="(B, D)", w=1.8)
    dec = b.box(cols[4], y, "decoder", sub="MLP", w=1.8)
    out = b.box(cols[5], y, "logits $f_\\theta(z)$", role="data", sub="(B, C, H, W)", w=2.4)
    for u, v in [(x, enc), (enc, z), (z, dec), (dec, out)]:
        b.arrow(u, v)
    nll = b.box(cols[5], 6.4, "Bernoulli NLL of $x$", role="loss", sub="summed over pixels", w=2.8, h=0.9)
    b.arrow(out, nll)

    b.frame(0.1, 0.2, 14.9, 5.4, "VAE (Sections 3-7): a noisy code, and a prior to sample it from")
    y = 3.0
    x = b.box(cols[0], y, "$x$", role="data", sub="(B, C, H, W)", w=1.6)
    enc = b.box(cols[1], y, "encoder $q_\\phi$", sub="MLP", w=1.9)
    q = b.box(cols[2], y, "$\\mu$, logvar", role="latent", sub="(B, D) each", w=1.8)
    z = b.box(cols[3], y, "$z = \\mu + \\sigma \\odot \\varepsilon$", role="op", sub="(B, D)", w=2.3)
    eps = b.box(cols[3], 4.35, "$\\varepsilon \\sim \\mathcal{N}(0, I)$", role="latent", sub="(B, D)", w=2.2, h=0.9)
    dec = b.box(cols[4], y, "decoder $p_\\theta$", sub="MLP", w=1.8)
    out = b.box(cols[5], y, "logits $f_\\theta(z)$", role="data", sub="(B, C, H, W)", w=2.4)
    for u, v in [(x, enc), (enc, q), (q, z), (eps, z), (z, dec), (dec, out)]:
        b.arrow(u, v)
    kl = b.box(cols[2], 1.1, "KL$(q_\\phi(z|x) \\,\\|\\, \\mathcal{N}(0, I))$", role="loss", sub="summed over $D$",
               w=3.6, h=0.9)  # fmt: skip
    nll = b.box(cols[5], 1.1, "Bernoulli NLL of $x$", role="loss", sub="summed over pixels", w=2.8, h=0.9)
    b.arrow(q, kl)
    b.arrow(out, nll)
    b.note(9.55, 1.1, "+", fontsize=12)
    b.note(9.55, 0.55, "loss: the negative ELBO")
    b.note(12.2, 4.35, "to generate: decode $z \\sim \\mathcal{N}(0, I)$")
    return b.done()


def amortised_inference():
    """Amortised inference: one q fitted per image, against one encoder that computes every image's q."""
    b = Board(14, 6.6, title="Amortised inference: one encoder instead of one fit per image")
    b.frame(0.1, 0.1, 6.8, 5.9, "one $q$ per image, each fitted on its own")
    b.frame(7.2, 0.1, 13.9, 5.9, "amortised, as in the VAE: one encoder")
    ys, names = [4.7, 3.5, 1.9], ["1", "2", "N"]
    for y, n in zip(ys, names, strict=True):
        xi = b.box(1.0, y, f"$x_{n}$", role="data", w=0.9, h=0.8)
        q = b.box(4.8, y, f"$q_{n} = \\mathcal{{N}}(m_{n}, v_{n})$", role="latent", w=2.8, h=0.8)
        b.arrow(xi, q, "optimise")
    for x in (1.0, 4.8, 8.1, 12.5):
        b.note(x, 2.75, "$\\vdots$", fontsize=11)
    b.note(3.45, 0.75, "$N$ separate fits:\na new image needs a fit of its own")

    enc = b.box(10.1, 3.3, "encoder", sub="weights $\\phi$", w=1.7, h=1.3)
    for y, n in zip(ys, names, strict=True):
        b.arrow(b.box(8.1, y, f"$x_{n}$", role="data", w=0.9, h=0.8), enc)
        b.arrow(enc, b.box(12.5, y, f"$q_\\phi(z \\mid x_{n})$", role="latent", w=2.0, h=0.8))
    b.note(10.55, 0.75, "$\\mu_\\phi(x)$ and logvar$_\\phi(x)$ for any $x$:\na new image costs one forward pass")
    return b.done()


def reparameterisation_trick():
    """The reparameterisation trick: a sample drawn from q blocks the gradient; z = mu + sigma * eps lets it through."""
    b = Board(15, 9.0, title="The reparameterisation trick: a path for the gradient")
    rows = {"as drawn": 6.75, "reparameterised": 2.5}  # the centre line of each panel
    b.frame(0.1, 4.95, 14.9, 8.8, "sampling $z \\sim q_\\phi$ as drawn")
    b.frame(0.1, 0.1, 14.9, 4.75, "reparameterised")
    for name, y in rows.items():
        enc = b.box(1.3, y, "encoder", sub="weights $\\phi$", w=1.9, h=1.1)
        mu = b.box(4.1, y + 0.75, "$\\mu$", role="latent", sub="(B, D)", w=1.5, h=0.9)
        lv = b.box(4.1, y - 0.75, "logvar", role="latent", sub="(B, D)", w=1.5, h=0.9)
        if name == "as drawn":
            z = b.box(7.9, y, "draw $z \\sim q_\\phi(z \\mid x)$", role="op",
                      sub="$\\mathcal{N}(\\mu, \\mathrm{diag}\\,\\sigma^2)$", w=2.9)  # fmt: skip
        else:
            z = b.box(7.9, y, "$z = \\mu + \\sigma \\odot \\varepsilon$", role="op",
                      sub="$\\sigma = \\exp(\\frac{1}{2}\\,$logvar$)$", w=2.9)  # fmt: skip
            eps = b.box(7.9, y + 1.55, "$\\varepsilon \\sim \\mathcal{N}(0, I)$", role="latent",
                        sub="(B, D), no $\\phi$", h=0.9)  # fmt: skip
            b.arrow(eps, z)
        f = b.box(12.6, y, "$f(z)$", role="loss", sub="e.g. $\\log p_\\theta(x \\mid z)$", w=2.6)
        for u, v in [(enc, mu), (enc, lv), (mu, z), (lv, z), (z, f)]:
            b.arrow(u, v)
        # the backward pass, in red, under the forward arrows
        b.arrow((11.3, y - 0.3), (9.35, y - 0.3), dashed=True, color=RED)
        b.note(10.3, y - 0.6, "$\\partial f / \\partial z$", color=RED)
    y = rows["as drawn"]
    b.arrow((6.45, y - 0.1), (4.9, y - 0.75), dashed=True, color=RED, bend=-0.3)
    b.note(5.7, y - 0.75, "$\\times$", fontsize=18, color=RED)
    b.note(9.4, y - 1.35, "a draw is not a differentiable function of $\\phi$: no gradient reaches the encoder",
           color=RED)  # fmt: skip
    y = rows["reparameterised"]
    b.arrow((6.45, y + 0.1), (4.9, y + 0.75), dashed=True, color=RED, bend=0.3)
    b.arrow((6.45, y - 0.1), (4.9, y - 0.75), dashed=True, color=RED, bend=-0.3)
    b.arrow((3.3, y), (2.3, y), dashed=True, color=RED)
    b.note(5.6, y + 1.4, "$\\partial z / \\partial \\mu = 1$", color=RED)
    b.note(5.6, y - 1.4, "$\\partial z / \\partial\\,$logvar $= \\frac{1}{2} \\sigma \\odot \\varepsilon$", color=RED)
    b.note(10.9, y - 1.5, "autograd follows the dashed path into $\\phi$", color=RED)
    return b.done()


def importance_weighted_bound():
    """Chapter 6's L_k: k posterior samples per image, their log weights (k, B), and a logsumexp over k."""
    b = Board(15, 8.4, title="The importance-weighted bound $\\mathcal{L}_k$: $k$ samples of $z$ per image")
    y = 6.6
    x = b.box(1.1, y, "$x$", role="data", sub="(B, 1, 28, 28)", w=1.8)
    enc = b.box(3.5, y, "encoder $q_\\phi$", sub="conv", w=2.0)
    q = b.box(6.0, y, "$\\mu$, $\\log \\sigma^2$", role="latent", sub="(B, d) each", w=2.0)
    z = b.box(9.0, y, "$z_i = \\mu + \\sigma \\odot \\varepsilon_i$", role="op", sub="$k$ per image: (k, B, d)", w=2.9)
    dec = b.box(12.9, y, "decoder $p_\\theta$", sub="logits (k$\\cdot$B, 1, 28, 28)", w=3.0)
    for u, v in [(x, enc), (enc, q), (q, z), (z, dec)]:
        b.arrow(u, v)
    b.note(9.0, 8.05, "$\\varepsilon_i \\sim \\mathcal{N}(0, I)$, $i = 1, \\dots, k$")
    b.arrow((9.0, 7.8), z)

    y = 4.2  # the three log densities of every sample, each (k, B)
    lq = b.box(6.0, y, "$\\log q_\\phi(z_i \\mid x)$", role="op", sub="(k, B)", w=2.6)
    lp = b.box(9.0, y, "$\\log p(z_i)$", role="op", sub="prior $\\mathcal{N}(0, I)$: (k, B)", w=2.6)
    ll = b.box(12.9, y, "$\\log p_\\theta(x \\mid z_i)$", role="op", sub="Bernoulli: (k, B)", w=2.6)
    for u, v in [(q, lq), (z, lq), (z, lp), (dec, ll)]:
        b.arrow(u, v)

    w = b.box(10.6, 1.9, "$\\log w_i = \\log p_\\theta(x \\mid z_i) + \\log p(z_i) - \\log q_\\phi(z_i \\mid x)$",
              role="op", sub="(k, B)", w=7.3)  # fmt: skip
    for u in (lq, lp, ll):
        b.arrow(u, w)
    lk = b.box(3.3, 1.9, "$\\mathcal{L}_k(x) = \\mathrm{logsumexp}_i \\log w_i - \\log k$", role="loss", sub="(B,)",
               w=5.4)  # fmt: skip
    b.arrow(w, lk)
    bounds = "$\\mathcal{L}_1 \\leq \\mathcal{L}_k \\leq \\mathcal{L}_{k+1} \\leq \\log p_\\theta(x)$"
    b.note(7.5, 0.45, f"$k = 1$: the ELBO, $\\mathcal{{L}}_1$;   {bounds}", fontsize=9)
    return b.done()


def rate_and_distortion():
    """The negative ELBO split into distortion (reconstruction) and rate (the KL price of the code)."""
    b = Board(14, 6.6, title="The negative ELBO as distortion plus rate")
    y = 5.0
    x = b.box(1.1, y, "$x$", role="data", sub="(B, 1, 28, 28)", w=1.8)
    enc = b.box(3.6, y, "encoder", sub="$q_\\phi(z \\mid x)$", w=2.0)
    z = b.box(6.4, y, "$z \\sim q_\\phi(z \\mid x)$", role="latent", sub="(B, d)", w=2.4)
    dec = b.box(9.2, y, "decoder", sub="$p_\\theta(x \\mid z)$", w=2.0)
    out = b.box(12.2, y, "logits", role="data", sub="(B, 1, 28, 28)", w=2.4)
    for u, v in [(x, enc), (enc, z), (z, dec), (dec, out)]:
        b.arrow(u, v)

    y = 2.7
    prior = b.box(1.0, y, "$p(z)$", role="latent", sub="$\\mathcal{N}(0, I)$", w=1.6)
    rate = b.box(4.55, y, "rate $\\mathcal{R}(x) = \\mathrm{KL}(q_\\phi(z \\mid x) \\,\\|\\, p(z))$", role="loss",
                 sub="the price of the code", w=5.0, h=1.1)  # fmt: skip
    dist = b.box(10.95, y, "distortion $\\mathcal{D}(x) = \\mathbb{E}_q[-\\log p_\\theta(x \\mid z)]$",
                 role="loss", sub="the reconstruction error", w=5.5, h=1.1)  # fmt: skip
    b.arrow(enc, rate)
    b.arrow(prior, rate)
    b.arrow(out, dist)
    b.note(7.65, y, "+", fontsize=14)
    b.note(7.0, 1.4, "$-\\mathcal{L}(x) = \\mathcal{D}(x) + \\mathcal{R}(x)$", fontsize=10)
    b.note(7.0, 0.85, "averaged over the data, $\\mathcal{R} \\geq I_q(x; z)$, the nats about $x$ that $z$ carries")
    b.note(7.0, 0.35, "β-VAE: minimise $\\mathcal{D} + \\beta\\,\\mathcal{R}$; a larger β makes rate more expensive")
    return b.done()


def vqvae_pipeline():
    """The VQ-VAE: encoder, nearest code, tokens, looked-up codes, decoder; the straight-through gradient."""
    b = Board(15, 7.6, title="VQ-VAE on MNIST: an image becomes a 7x7 grid of tokens")
    y = 6.1  # the encoder's side, left to right
    x = b.box(1.2, y, "$x$", role="data", sub="(B, 1, 28, 28)", w=1.9)
    enc = b.box(3.9, y, "encoder", sub="28 $\\to$ 14 $\\to$ 7", w=2.0)
    ze = b.box(6.6, y, "$z_e(x)$", role="latent", sub="(B, D, 7, 7)", w=2.0)
    near = b.box(10.0, y, "nearest code", role="op", sub="$\\arg\\min_k \\|z_e(x)_{ij} - e_k\\|^2$", w=3.0)
    book = b.box(13.4, 3.95, "codebook $e_k$", role="latent", sub="(K, D)", w=2.2)
    tok = b.box(10.0, 3.95, "tokens $k_{ij}$", role="latent", sub="(B, 7, 7), in $[0, K)$", w=2.6)
    b.grid(7.9, 3.85, 7, 7, cell=0.16, role="latent")  # one image's token grid
    b.note(7.9, 4.6, "one image", fontsize=7)
    y = 1.8  # the decoder's side, right to left
    look = b.box(10.0, y, "look up $e_{k_{ij}}$", role="op", w=2.4)
    zq = b.box(6.6, y, "$z_q(x)$", role="latent", sub="(B, D, 7, 7)", w=2.0)
    dec = b.box(3.9, y, "decoder", sub="7 $\\to$ 14 $\\to$ 28", w=2.0)
    out = b.box(1.2, y, "logits", role="data", sub="(B, 1, 28, 28)", w=1.9)
    for u, v in [(x, enc), (enc, ze), (ze, near), (near, tok), (tok, look), (look, zq), (zq, dec), (dec, out)]:
        b.arrow(u, v)
    b.arrow(book, near)
    b.arrow(book, look)
    # backward: the quantiser has no useful derivative, so the gradient at z_q is copied to z_e
    b.arrow((6.0, 2.35), (6.0, 5.55), dashed=True, color=RED)
    copy = "$\\partial L / \\partial z_e = \\partial L / \\partial \\tilde z_q$"
    b.note(5.85, 3.95, f"straight-through:\n{copy}", color=RED, ha="right")
    b.note(7.5, 0.5, "the full budget has K = 512 codes of width D = 16; the standard budget K = 128, D = 8")
    return b.done()


def vqvae_losses():
    """Who learns from which term of the VQ-VAE loss: the stop-gradients decide."""
    b = Board(14, 7, title="The VQ-VAE loss: which term trains what")
    b.note(3.2, 6.2, "loss term", fontsize=9)
    b.note(11.2, 6.2, "what it trains", fontsize=9)
    recon = b.box(3.2, 5.2, "$-\\log p(x \\mid z_q(x))$", role="loss", sub="reconstruction", w=3.6)
    commit = b.box(3.2, 3.4, "$\\beta\\, \\|z_e(x) - \\mathrm{sg}[e]\\|^2$", role="loss", sub="commitment", w=3.6)
    code = b.box(3.2, 1.6, "$\\|\\mathrm{sg}[z_e(x)] - e\\|^2$", role="loss", sub="codebook", w=3.6)
    dec = b.box(11.2, 5.2, "decoder", w=2.4)
    enc = b.box(11.2, 3.4, "encoder", w=2.4)
    book = b.box(11.2, 1.6, "codes $e_k$", role="latent", sub="(K, D)", w=2.4)
    b.arrow(recon, dec)
    b.arrow(recon, enc, dashed=True, color=RED)  # the decoder's gradient at z_q, copied to z_e
    b.note(7.3, 4.8, "straight-through copy", color=RED)
    b.arrow(commit, enc, "pulls $z_e$ towards its code", text_offset=(0, -0.5))
    b.arrow(code, book, "moves each code towards its $z_e$", text_offset=(0, 0.1))
    b.note(7.0, 0.45, "sg[$\\cdot$] = .detach(): what is inside is held still.  With ema=True, the library's default,\n"
           "moving averages $e_k = m_k / N_k$ replace the codebook term (online $k$-means).")  # fmt: skip
    return b.done()
