"""Schematics of Part 6 (music): a chorale's time grid read into one token sequence, and the chapter's road from
Bach's scores through the GPT to what a listener and a musicologist check."""

from __future__ import annotations

from .board import Board

__all__ = ["chorale_grid", "chorale_road"]


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
