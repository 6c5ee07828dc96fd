"""Schematics of chapters 13-15 (text to image): latent diffusion, the autoregressive model, and their judge.

Symbols follow each chapter's Notation box; shapes are written symbolically, with the `standard` budget's
numbers (genai_lib.text_to_image_config.PRESETS) in a note.
"""

from __future__ import annotations

import numpy as np

from .board import Board

__all__ = [
    "t2i_cross_attention",
    "latent_diffusion_training",
    "latent_diffusion_sampling",
    "ar_t2i_sequence",
    "ar_t2i_sampling",
    "t2i_evaluation_loop",
    "t2i_judge",
]


def t2i_cross_attention():
    """Cross-attention (chapter 13): queries from the image's positions, keys and values from the caption."""
    b = Board(14, 6.8, title="Cross-attention: each image position reads the caption")
    h = b.box(1.8, 4.9, "image features $h$", w=2.9, role="latent", sub="(B, H'W', C)")
    c = b.box(1.8, 1.9, "context $c$", w=2.9, role="text", sub="(B, S, D)")
    q = b.box(5.4, 4.9, "$Q$", w=1.9, role="latent", sub="(B, H'W', C)")
    kv = b.box(5.4, 1.9, "$K$, $V$", w=1.9, role="text", sub="(B, S, C) each")
    b.arrow(h, q, "$W_Q$")
    b.arrow(c, kv, "$W_K$, $W_V$")
    # One head's A for 'a big red circle in the top left' on the 4x4 grid: 9 real tokens, then 4 <pad>
    # columns that the mask M gives weight 0. The weights are made up; only their pattern is the point.
    w = np.random.default_rng(0).dirichlet(np.full(9, 0.6), size=16)  # each row a distribution over 9 tokens
    A = b.grid(9.0, 3.4, 16, 13, cell=0.2, values=np.hstack([0.2 + 0.8 * w / w.max(), np.zeros((16, 4))]))
    b.note(9.0, 5.65, "$A = \\mathrm{softmax}(QK^\\top / \\sqrt{d_h} + M)$", fontsize=9)
    b.note(9.9, 5.2, "<pad>", fontsize=7)
    b.note(9.0, 1.5, "(B, $n_h$, H'W', S)")
    b.note(9.0, 1.1, "rows: image positions; columns: tokens", fontsize=7.5)
    b.arrow(q, A)
    b.arrow(kv, A)
    out = b.box(12.6, 3.4, "$h + (AV)\\,W_O$", w=2.6, role="latent", sub="(B, H'W', C)")
    b.arrow(A, out, "$\\times\\, V$")
    b.note(7.0, 0.6, "row $i$ of $A$: how much image position $i$ takes from each token; <pad> columns get 0 "
           "(illustrative weights)", fontsize=7.5)  # fmt: skip
    b.note(7.0, 0.2, "standard budget: cross-attention on the 4×4 and 2×2 grids, $H'W'$ = 16 or 4, $C$ = 64, "
           "$n_h$ = 4, $d_h$ = 16; $S$ = 13, $D$ = 64", fontsize=7.5)  # fmt: skip
    return b.done()


def latent_diffusion_training():
    """One training step of chapter 13's latent diffusion: a caption and an image in, the v-loss out."""
    b = Board(15, 6.6, title="Training latent diffusion: caption and image in, the $v$-loss out")
    cap = b.box(1.45, 4.9, "caption", w=2.5, role="text", sub="a big red circle …")
    ids = b.box(4.95, 4.9, "token ids", w=1.9, role="text", sub="(B, S)")
    enc = b.box(8.2, 4.9, "caption encoder", w=2.9, sub="trained with the U-Net")
    c = b.box(11.75, 4.9, "context $c$", w=2.2, role="text", sub="(B, S, D)")
    b.arrow(cap, ids, "tokenizer")
    b.note(3.3, 4.15, "10% dropped to $\\varnothing$", fontsize=7.5, color="#a33")  # p_uncond: the empty caption
    b.arrow(ids, enc)
    b.arrow(enc, c)
    x = b.box(1.05, 2.5, "image $x$", w=1.9, role="data", sub="(B, 3, 32, 32)")
    vq = b.box(3.85, 2.5, "VQ-VAE encoder", w=2.7, sub="frozen (chapter 7)")
    z0 = b.box(6.85, 2.5, "$z_0 = \\lambda\\, z_e(x)$", w=2.3, role="latent", sub="(B, $D_z$, 8, 8)")
    noise = b.box(9.45, 2.5, "add noise", w=1.9, role="op", sub="$t$, $\\varepsilon \\sim \\mathcal{N}(0, I)$")
    unet = b.box(11.75, 2.5, "U-Net", w=1.7, sub="$v_\\theta(z_t, t, c)$")
    loss = b.box(13.95, 2.5, "MSE", w=1.9, role="loss", sub="$\\|v_\\theta - v\\|^2$")
    for a, z in ((x, vq), (vq, z0), (z0, noise), (unet, loss)):
        b.arrow(a, z)
    b.arrow(noise, unet, "$z_t$")
    b.arrow(c, unet, "cross-attention", text_offset=(1.1, -0.1))
    # The regression target comes from the same t and ε that made z_t.
    b.arrow((9.45, 2.0), (13.95, 2.0), dashed=True, bend=0.3, color="#a33")
    b.note(11.7, 0.95, "target $v = \\sqrt{\\bar\\alpha_t}\\,\\varepsilon - \\sqrt{1 - \\bar\\alpha_t}\\,z_0$",
           color="#a33")  # fmt: skip
    b.note(7.0, 1.45, "$z_t = \\sqrt{\\bar\\alpha_t}\\,z_0 + \\sqrt{1 - \\bar\\alpha_t}\\,\\varepsilon$")
    b.note(7.5, 0.25, "standard budget: $S$ = 13, $D$ = 64, $D_z$ = 8, $T$ = 200 noise levels; a 32 × 32 image has "
           "an 8 × 8 latent grid", fontsize=7.5)  # fmt: skip
    return b.done()


def latent_diffusion_sampling():
    """Sampling chapter 13's model: guided DDPM steps from noise in latent space, then the VQ-VAE decoder."""
    b = Board(15, 7, title="Sampling: guided denoising in latent space, then one decoder pass")
    zT = b.box(1.5, 4.6, "$z_T \\sim \\mathcal{N}(0, I)$", w=2.5, role="latent", sub="(B, $D_z$, 8, 8)")
    c = b.box(1.5, 2.7, "context $c$", w=2.5, role="text", sub="of $y$ and of $\\varnothing$")
    unet = b.box(5.1, 4.6, "U-Net", w=2.4, sub="one batch of 2B")
    guide = b.box(8.7, 4.6, "guidance", w=2.0, role="op", sub="scale $w$ = 3")
    step = b.box(12.4, 4.6, "DDPM step", w=2.2, role="op", sub="$z_t \\to z_{t'}$")
    b.arrow(zT, unet)
    b.arrow(c, unet)
    b.arrow(unet, guide, "for $y$, $\\varnothing$")
    b.arrow(guide, step, "$\\tilde\\varepsilon$")
    b.arrow(step.top, unet.top, bend=0.3)  # the loop: the new z_t goes back into the U-Net
    b.note(8.75, 6.45, "repeat: 25 (standard) or 50 (full) of the $T$ = 200 noise levels", fontsize=8)
    eps_y, eps_0 = "\\varepsilon_\\theta(z_t, t, y)", "\\varepsilon_\\theta(z_t, t, \\varnothing)"
    b.note(8.2, 3.15, f"$\\tilde\\varepsilon = {eps_0} + w\\,({eps_y} - {eps_0})$", fontsize=8.5)
    b.note(8.2, 2.6, "(written with $\\varepsilon$; the network's $v$ is combined the same way)", fontsize=7.5)
    z0 = b.box(12.4, 1.1, "$z_0$", w=1.8, role="latent", sub="(B, $D_z$, 8, 8)")
    snap = b.box(9.0, 1.1, "÷ $\\lambda$, nearest codes", w=3.2, role="op", sub="quantiser (frozen)")
    dec = b.box(5.3, 1.1, "VQ-VAE decoder", w=2.8, sub="frozen (chapter 7)")
    img = b.box(2.0, 1.1, "image", w=2.2, role="data", sub="(B, 3, 32, 32)")
    b.arrow(step, z0, "after the last step", text_offset=(1.1, -0.1))
    b.arrow(z0, snap)
    b.arrow(snap, dec)
    b.arrow(dec, img)
    return b.done()


def ar_t2i_sequence():
    """Chapter 14's one sequence: caption tokens, then offset image tokens; a GPT predicts each next token."""
    b = Board(15, 7, title="One sequence for caption and image: inputs, GPT, shifted targets")
    # (input, target) per column; the caption's own targets are ignored, the image tokens' count.
    cols = [("$c_1$", "·"), ("$c_2$", "·"), ("…", "…"), ("$c_S$", "$V_c{+}z_1$"), ("$V_c{+}z_1$", "$V_c{+}z_2$"),
            ("$V_c{+}z_2$", "$V_c{+}z_3$"), ("…", "…"), ("$V_c{+}z_{n-1}$", "$V_c{+}z_n$")]  # fmt: skip
    gpt = b.box(8.3, 3.55, "GPT (Part III): causal self-attention", w=11.4, h=1.1,
                sub="ids (B, S + n − 1) → logits (B, S + n − 1, $V_c + K$)")  # fmt: skip
    for j, (inp, tgt) in enumerate(cols):
        x = 3.2 + 1.46 * j
        image_in, image_out = j >= 4, j >= 3  # where the image tokens start, in the inputs and the targets
        i = b.box(x, 5.5, inp, w=1.3, h=0.75, role="latent" if image_in else "text", fontsize=8)
        t = b.box(x, 1.6, tgt, w=1.3, h=0.75, role="latent" if image_out else "op", fontsize=8)
        b.arrow(i, (x, gpt.top[1]))
        b.arrow((x, gpt.bottom[1]), t)
    b.note(1.2, 5.5, "inputs\n$s_1 … s_{S+n-1}$", fontsize=8)
    b.note(1.2, 1.6, "targets\n$s_2 … s_{S+n}$", fontsize=8)
    b.note(4.65, 6.3, "the caption: $c_1$ = <bos>, words, <pad>", fontsize=8)
    b.note(11.2, 6.3, "the image: codes in raster order, offset by $V_c$", fontsize=8)
    b.note(4.65, 0.85, "ignored (IGNORE_INDEX): the caption is given", fontsize=8)
    b.note(10.5, 0.85, "$L = -\\frac{1}{n}\\sum_i \\log p_\\theta(z_i \\mid c, z_{<i})$", fontsize=9)
    b.note(7.5, 0.2, "standard budget: $S$ = 13, $n$ = 64, $V_c$ = 29, $K$ = 64: 76 inputs over 93 ids", fontsize=7.5)
    return b.done()


def ar_t2i_sampling():
    """Chapter 14's sampler: n passes of the GPT, each a guided, tempered draw of the next code; then decode."""
    b = Board(15, 6.2, title="Sampling token by token: guided logits, one code per pass, then the decoder")
    ids = b.box(1.6, 4.9, "caption $c$ and $\\varnothing$", w=2.9, role="text", sub="ids (2B, S)")
    gpt = b.box(4.75, 4.9, "GPT", w=2.3, sub="with a KV cache")
    logits = b.box(8.35, 4.9, "logits of the codes", w=3.3, role="latent",
                   sub="last position: $\\ell_c$, $\\ell_\\varnothing$ (B, K)")  # fmt: skip
    guide = b.box(12.9, 4.9, "$\\ell_\\varnothing + w\\,(\\ell_c - \\ell_\\varnothing)$", w=3.4, role="op",
                  sub="guided logits (B, K)")  # fmt: skip
    sample = b.box(12.9, 2.9, "÷ $\\tau$, top-$k$, draw", w=3.0, role="op", sub="from the softmax")
    code = b.box(8.35, 2.9, "code $z_i$", w=1.9, role="latent", sub="(B, 1)")
    for a, z in ((ids, gpt), (gpt, logits), (logits, guide), (guide, sample), (sample, code)):
        b.arrow(a, z)
    b.arrow(code, gpt, "append $V_c + z_i$ to both halves", text_offset=(-1.9, -0.45))
    # The grid of codes after i = 27 of n = 64 passes: written in raster order, the rest still to come.
    vals = np.where(np.arange(64) < 27, np.random.default_rng(1).uniform(0.3, 1.0, 64), 0.0).reshape(8, 8)
    grid = b.grid(8.35, 1.0, 8, 8, cell=0.2, values=vals)
    b.arrow(code, grid)
    b.note(7.25, 1.0, "grid $z$ (B, h, w),\nraster order", ha="right", fontsize=8)
    dec = b.box(11.4, 1.0, "VQ-VAE decoder", w=2.7, sub="after $n$ passes")
    img = b.box(14.1, 1.0, "image", w=1.75, role="data", sub="(B, 3, 32, 32)")
    b.arrow(grid, dec)
    b.arrow(dec, img)
    b.note(2.3, 2.5, "$n$ = 64 sequential passes,\none per code; guidance\ndoubles each pass (2B)", fontsize=8)
    b.note(2.3, 0.8, "chapter 14: $w$ = 1.5, $\\tau$ = 0.7;\nstandard: $S$ = 13, $K$ = 64", fontsize=7.5)
    return b.done()


def t2i_evaluation_loop():
    """Chapter 15's measurement: prompts of seen or held-out combinations, a generator, the judge, a score."""
    b = Board(15, 5.9, title="Caption accuracy: does the image show what the caption asked for?")
    seen = b.box(1.95, 4.4, "seen combinations", w=3.6, role="text", sub="72 of 96: split 'test'")
    held = b.box(1.95, 2.6, "held-out combinations", w=3.6, role="text", sub="24 of 96: split 'heldout'")
    cap = b.box(5.5, 3.5, "caption $c$", w=2.1, role="text", sub="names every $c_a$")
    gen = b.box(8.35, 3.5, "generator", w=2.4, sub="chapter 13 or 14")
    x = b.box(11.1, 3.5, "image $x$", w=1.9, role="data", sub="(B, 3, 32, 32)")
    judge = b.box(13.65, 3.5, "judge", w=2.1, sub="a CNN, 4 heads")
    for a, z in ((seen, cap), (held, cap), (cap, gen), (gen, x), (x, judge)):
        b.arrow(a, z)
    pred = b.box(13.65, 1.0, "$\\hat c_a(x)$", w=2.0, role="data", sub="for each $a \\in \\mathcal{A}$")
    same = b.box(9.9, 1.0, "$\\hat c_a(x) = c_a$ ?", w=2.4, role="op", sub="per image")
    score = b.box(5.6, 1.0, "$\\mathrm{acc}_a$, exact match", w=3.2, role="loss", sub="95% Wilson interval")
    b.arrow(judge, pred)
    b.arrow(pred, same)
    b.arrow(same, score)
    b.arrow(cap, same, "asked", dashed=True, text_offset=(-0.3, 0.05))
    b.note(1.9, 1.35, "exact: all four\nattributes right;\nchance 1/96", fontsize=8)
    b.note(8.3, 5.25, "both models get the same prompts and the same judge; one image per caption", fontsize=8)
    return b.done()


def t2i_judge():
    """Chapter 15's judge: what it is trained on, what it computes, and the inputs that check it."""
    b = Board(15, 7, title="The judge: a fixed instrument, and the images that test it")
    inputs = [("real test images", "the ceiling, both splits"), ("blurred or noised real", "which head fails first"),
              ("grey images", "chance: 1/96"), ("generated images", "the models' scores")]  # fmt: skip
    body = b.box(6.45, 3.3, "conv body", w=3.0, sub="3 conv stages, linear")
    for k, (text, tells) in enumerate(inputs):
        src = b.box(2.0, 5.1 - 1.25 * k, text, w=3.6, h=0.9, role="data", sub=tells)
        b.arrow(src, body)
    train = b.box(6.45, 5.8, "real images, seed 1234", w=3.7, role="data", sub="all 96 combinations")
    b.arrow(train, body, "trained once", dashed=True, text_offset=(1.0, -0.1))
    f = b.box(9.1, 3.3, "$f(x)$", w=1.6, role="latent", sub="(B, 128)")
    b.arrow(body, f)
    pred = b.box(13.8, 3.3, "$\\hat c_a(x)$", w=2.3, role="data", sub="a value per head")
    heads = [("shape", 3), ("colour", 4), ("size", 2), ("position", 4)]
    for k, (a, n_values) in enumerate(heads):
        head = b.box(11.3, 4.8 - 1.0 * k, a, w=1.9, h=0.75, sub=f"{n_values} values")
        b.arrow(f, head)
        b.arrow(head, pred)
    fd = b.box(8.0, 1.0, "Fréchet distance", w=2.9, role="loss", sub="floor: real vs real")
    b.arrow(f, fd)
    b.note(11.3, 6.0, "linear heads (logits)", fontsize=8)
    b.note(7.5, 0.2, "trained on real images only, never on generated ones; and on held-out combinations too",
           fontsize=8)  # fmt: skip
    return b.done()
