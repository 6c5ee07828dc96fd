"""Schematics of Part 6 (music and sound): a chorale's time grid read into one token sequence, chapter 18's road from
Bach's scores to what a listener and a musicologist check, WaveNet's dilated causal stack, and chapter 19's two
roads from a caption to a waveform; chapter 20's road from a caption to a clip and the tokens space-time attention
lets one token see."""

from __future__ import annotations

from .board import Board

__all__ = ["chorale_grid", "chorale_road", "clip_road", "dilated_stack", "sound_road", "space_time_attention"]


def chorale_grid():
    """Four voices on a sixteenth-note grid, read step by step (S, A, T, B) into one sequence of tokens."""
    b = Board(15, 7.0, title="From a score to tokens: the grid, one step at a time")
    voices = ("S", "A", "T", "B")
    # Two steps of the grid: what each voice does there, as the tokenizer writes it.
    steps = (("D5", "G4", "A#3", "G3"), ("<hold>", "A4", "<hold>", "<hold>"))
    for v, name in enumerate(voices):
        y = 5.3 - 1.0 * v
        b.note(0.6, y, name, fontsize=10)
        for s, column in enumerate(steps):
            b.box(2.0 + 1.6 * s, y, column[v], role="data" if column[v] != "<hold>" else "op", w=1.4, h=0.8)
    b.note(2.8, 6.2, "step t      step t + 1", fontsize=9)
    b.note(2.8, 1.5, "a column: what sounds together", fontsize=8)
    # The sequence: <bos>, then the columns one after another.
    sequence = ("<bos>",) + steps[0] + steps[1]
    boxes = []
    for i, token in enumerate(sequence):
        role = "op" if token in ("<hold>", "<bos>") else "data"
        boxes.append(b.box(6.3 + 1.0 * i, 3.8, token, role=role, w=0.92, h=0.8, fontsize=8))
    b.arrow((4.5, 3.8), boxes[0])
    b.note(5.85, 4.55, "the columns, one after another, each read from S down to B", fontsize=8, ha="left")
    b.note(10.3, 2.8, "token $i$ belongs to voice $(i - 1)$ mod 4", fontsize=9)
    b.note(10.3, 2.2, "a chorale of $T$ steps: $1 + 4T$ tokens", fontsize=9)
    b.note(10.3, 1.4, "<hold>: the voice goes on sounding", fontsize=8)
    b.note(10.3, 1.0, "a note struck again is its pitch again", fontsize=8)
    return b.done()


def chorale_road():
    """Chapter 18's road: scores, the grid, twelve keys, the GPT, and samples heard and measured against Bach."""
    b = Board(15, 6.6, title="Bach's chorales through Part III's GPT")
    corpus = b.box(1.5, 4.8, "music21 corpus", role="data", sub="402 chorales", w=2.6)
    grid = b.box(5.2, 4.8, "grid of steps", role="op", sub="pitches, onsets (4, T)", w=2.8)
    keys = b.box(8.7, 4.8, "12 keys", role="op", sub="transposed, in range", w=2.4)
    gpt = b.box(12.6, 4.8, "GPT (Part III)", role="net", sub="gl.fit, lm_step", w=2.6)
    split = b.box(5.2, 2.6, "split by tune", role="op", sub="train / valid / test", w=2.8)
    ngram = b.box(8.7, 2.6, "n-gram baselines", role="loss", sub="per token, per beat", w=2.8)
    samples = b.box(12.6, 2.6, "samples", role="latent", sub="from <bos>, top-p", w=2.6)
    organ = b.box(13.4, 0.8, "organ: listen", role="op", w=2.4, h=0.8)
    stats = b.box(8.7, 0.8, "key, ranges, parallels, copies", role="loss", sub="beside held-out Bach", w=4.4)
    b.arrow(corpus, grid, "parse once", text_offset=(0.0, 0.6))
    b.arrow(grid, keys)
    b.arrow(keys, gpt, "tokens", text_offset=(0.0, 0.6))
    b.arrow(grid, split)
    b.arrow(split, ngram)
    b.arrow(gpt, samples)
    b.arrow(samples, organ)
    b.arrow(samples, stats)
    return b.done()


def dilated_stack():
    """Causal convolutions of kernel 2, dilations 1, 2, 4, 8: one output sees 16 inputs, and none from its future."""
    b = Board(15, 6.4, title="Dilated causal convolutions: each layer doubles how far back an output sees")
    n, dx, x0 = 17, 0.7, 0.6
    dilations = (1, 2, 4, 8)
    ys = [1.0 + 1.1 * level for level in range(len(dilations) + 1)]  # the input row, then one row per layer
    last = n - 1
    # The outputs' dependencies, traced down from the last output: at layer l it needs t and t - d_l.
    needed = [{last}]
    for d in reversed(dilations):
        needed.append({u for t in needed[-1] for u in (t, t - d) if u >= 0})
    needed.reverse()  # needed[level]: the positions of that row the last output depends on
    for level, y in enumerate(ys):
        for t in range(n):
            on = t in needed[level]
            b.ax.scatter(x0 + dx * t, y, s=34 if on else 14, color="#d9822b" if on else "#9aa7b4", zorder=3)
        if level < len(dilations):
            d = dilations[level]
            for t in needed[level + 1]:
                for u in (t, t - d):
                    b.ax.plot([x0 + dx * u, x0 + dx * t], [y, ys[level + 1]], color="#d9822b", lw=1.2)
        label = "input $x$" if level == 0 else f"layer {level}, $d = {dilations[level - 1]}$"
        b.note(x0 + dx * (n - 1) + 0.4, y, label, fontsize=8, ha="left")
    b.note(x0 + dx * 8, 0.3, "16 inputs reach one output: $1 + (k - 1)\\sum_\\ell d_\\ell$ = 1 + 15", fontsize=9)
    b.note(x0 + dx * last, ys[-1] + 0.45, "$x_{t+1}$ predicted here", fontsize=8)
    return b.done()


def sound_road():
    """Chapter 19's road: captioned notes, then WaveNet sample by sample, or diffusion on mel images and Griffin-Lim."""
    b = Board(15, 6.6, title="Two roads from a request to a waveform")
    notes = b.box(1.6, 3.4, "notes", role="data", sub="4 instruments, 4 kHz", w=2.4)
    mu = b.box(4.9, 5.0, "µ-law classes", role="op", sub="256 per sample", w=2.6)
    wavenet = b.box(8.3, 5.0, "WaveNet", role="net", sub="instrument, pitch", w=2.6)
    queue = b.box(11.7, 5.0, "sample by sample", role="latent", sub="queues: fast", w=2.8)
    mel = b.box(4.9, 1.8, "mel image", role="op", sub="STFT, mel, dB", w=2.6)
    unet = b.box(8.3, 1.8, "U-Net + caption", role="net", sub="chapter 13's parts", w=2.8)
    gl_box = b.box(11.7, 1.8, "Griffin-Lim", role="op", sub="phase from magnitude", w=2.8)
    judge = b.box(14.0, 3.4, "judges", role="loss", sub="YIN, classifier", w=1.8, h=1.5)
    caption = b.box(8.3, 0.3, '"a soft low bell note"', role="text", w=3.6, h=0.6, fontsize=8)
    b.arrow(notes, mu)
    b.arrow(mu, wavenet)
    b.arrow(wavenet, queue)
    b.arrow(notes, mel)
    b.arrow(mel, unet)
    b.arrow(unet, gl_box)
    b.arrow(caption, unet)
    b.arrow(queue, judge)
    b.arrow(gl_box, judge)
    return b.done()


def clip_road():
    """Chapter 20's road: clips through Part II's VQ-VAE frame by frame, a video U-Net on latent clips, judges."""
    b = Board(15, 6.6, title="From a caption to a clip, with the parts of Parts II and IV")
    clips = b.box(1.6, 4.9, "clips", role="data", sub="8 frames, 32 x 32", w=2.4)
    vq = b.box(4.9, 4.9, "VQ-VAE encoder", role="net", sub="Part II, frozen", w=2.8)
    latent = b.box(8.3, 4.9, "latent clip", role="latent", sub="(8, 8, 8, 8)", w=2.4)
    unet = b.box(8.3, 2.4, "video U-Net", role="net", sub="spatial + temporal", w=2.8)
    caption = b.box(4.4, 2.4, '"a fast red circle moving left"', role="text", w=3.8, h=0.7, fontsize=8)
    decoder = b.box(11.9, 2.4, "VQ-VAE decoder", role="net", sub="frame by frame", w=2.8)
    judges = b.box(11.9, 4.9, "judges", role="loss", sub="centroid, colour, shape", w=2.8)
    b.arrow(clips, vq)
    b.arrow(vq, latent, "z_e per frame", text_offset=(0.0, 0.55))
    b.arrow(latent, unet, "learn to denoise", text_offset=(1.3, 0.0))
    b.arrow(caption, unet)
    b.arrow(unet, decoder, "sample", text_offset=(0.0, 0.55))
    b.arrow(decoder, judges)
    b.note(8.3, 0.7, "chapter 13's U-Net on every frame; after each stage, attention across the 8 frames", fontsize=8)
    return b.done()


def space_time_attention():
    """Which tokens of a clip one token attends to: all of them (full), its frame, then its position (factorised)."""
    T, N, cell = 4, 6, 0.42
    b = Board(15, 5.6, title="What one token sees: full attention, and the two steps of factorised attention")
    query = (1, 2)  # (frame, position) of the token whose view is drawn
    panels = (
        ("full", lambda t, n: True, "$(TN)^2$ pairs"),
        ("factorised: space", lambda t, n: t == query[0], "$T N^2$ pairs"),
        ("then time", lambda t, n: n == query[1], "$N T^2$ pairs"),
    )
    for k, (title, sees, cost) in enumerate(panels):
        x = 2.8 + 4.7 * k
        values = [[0.55 if sees(t, n) else 0.0 for n in range(N)] for t in range(T)]
        values[query[0]][query[1]] = 1.0
        b.grid(x, 3.0, T, N, cell=cell, values=values)
        b.note(x, 4.35, title, fontsize=9)
        b.note(x, 1.65, cost, fontsize=9)
        if k == 0:
            b.note(x - N * cell / 2 - 0.3, 3.0, "frames $t$", fontsize=8, rotation=90)
            b.note(x, 1.05, "positions $n$ of a frame", fontsize=8)
    b.note(7.5, 0.4, "dark: the query token; grey: the keys it is compared with", fontsize=8)
    return b.done()
