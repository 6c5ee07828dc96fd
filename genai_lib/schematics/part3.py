"""Schematics of Part III (language models): next-token prediction, attention, the Transformer and the GPT."""

from __future__ import annotations

from .board import Board

__all__ = [
    "chain_rule",
    "bigram_network",
    "attention_flow",
    "attention_heads",
    "transformer_block",
    "gpt_stack",
    "kv_cache",
]


def chain_rule():
    """The chain rule as rows of next-token predictions, beside the bigram model that keeps one token of context."""
    b = Board(14, 7, title="A text of T = 5 tokens as a chain of next-token predictions")
    T, cell, dy = 5, 0.62, 0.78
    for x0, title, bigram in ((0.8, "chain rule: exact", False), (7.6, "bigram: one token of context", True)):
        b.note(x0 + 1.4, 6.1, title, fontsize=9)
        for t in range(1, T + 1):
            y = 5.3 - (t - 1) * dy
            for s in range(1, T + 1):
                # what the prediction of row t reads (blue), the token it predicts (red), the rest (grey)
                seen = s == t - 1 if bigram else s < t
                given = bigram and s == t == 1  # the bigram model takes the first token as given
                role = "data" if seen else "op" if given or s != t else "loss"
                text = f"$x_{s}$" if seen or s == t else ""
                b.box(x0 + (s - 1) * 0.7, y, text, w=cell, h=cell, role=role)
            if bigram and t == 1:
                label = "$x_1$ given"
            elif bigram:
                label = f"$p_\\theta(x_{t} \\mid x_{t - 1})$"
            else:
                label = "$p(x_1)$" if t == 1 else f"$p(x_{t} \\mid x_{{<{t}}})$"
            b.note(x0 + 3.3, y, label, ha="left", fontsize=9)
    b.note(3.4, 1.45, "product of the rows: $p(x_1, \\ldots, x_T)$", fontsize=9)
    b.note(10.2, 1.45, "product of rows 2 to T, given $x_1$", fontsize=9)
    b.box(5.6, 0.5, "context it reads", w=2.4, h=0.5, role="data", fontsize=8)
    b.box(8.4, 0.5, "token it predicts", w=2.4, h=0.5, role="loss", fontsize=8)
    return b.done()


def bigram_network():
    """One training batch of the neural bigram: windows x and their targets y shifted by one, a table, the loss."""
    b = Board(14, 7.2, title="A training batch for next-token prediction")
    chars, cell, x0, step = "the king".replace(" ", "\u2423"), 0.62, 5.2, 0.72
    b.frame(0.3, 2.75, 13.7, 6.7, "one of the B rows of a batch, T = 7")
    b.note(2.6, 5.7, "the text (characters)")
    b.note(2.6, 4.6, "$x$ = tokens[i : i+T]")
    b.note(2.6, 3.5, "$y$ = tokens[i+1 : i+T+1]")
    for j, c in enumerate(chars):
        b.box(x0 + j * step, 5.7, c, w=cell, h=cell, role="op")
    for j in range(len(chars) - 1):
        # y sits one place to the right of x: the target at position t is the token after x_t
        xs = b.box(x0 + j * step, 4.6, chars[j], w=cell, h=cell, role="data")
        ys = b.box(x0 + (j + 1) * step, 3.5, chars[j + 1], w=cell, h=cell, role="loss")
        b.arrow(xs, ys)
    b.note(x0 + 8 * step, 4.05, "$x_t$ predicts\n$y_t = x_{t+1}$", ha="left")
    x = b.box(1.2, 1.3, "$x$", role="data", sub="(B, T)", w=1.2)
    W = b.box(4.3, 1.3, "table $W$", sub="nn.Embedding (V, V)", w=3.0)
    z = b.box(7.6, 1.3, "logits", role="latent", sub="(B, T, V)", w=1.8)
    loss = b.box(10.5, 1.3, "loss $\\mathcal{L}$", role="loss", sub="F.cross_entropy, nats", w=2.8)
    y = b.box(13.1, 1.3, "$y$", role="loss", sub="(B, T)", w=1.0)
    b.arrow(x, W, "row $x_t$")
    b.arrow(W, z)
    b.arrow(z, loss)
    b.arrow(y, loss)
    return b.done()


def attention_flow():
    """Scaled dot-product attention on one sequence: X to Q, K, V, the (T, T) scores and weights, then A V."""
    b = Board(15, 6.2, title="Attention: $\\mathrm{softmax}(QK^\\top / \\sqrt{d})\\, V$")
    X = b.box(1.1, 3.0, "$X$", role="latent", sub="(T, C)", w=1.3)
    rows = {}
    for name, y in (("Q", 5.0), ("K", 3.0), ("V", 0.9)):
        W = b.box(3.3, y, f"$W_{name}$", sub="(C, d)", w=1.4)
        rows[name] = b.box(5.5, y, f"${name}$", role="latent", sub="(T, d)", w=1.3)
        b.arrow(X, W)
        b.arrow(W, rows[name])
    scores = b.box(8.0, 4.0, "$QK^\\top / \\sqrt{d}$", role="op", sub="scores $a_{ts}$, (T, T)", w=2.3)
    soft = b.box(11.4, 4.0, "softmax over $s$", role="op", sub="weights $A_{ts}$, (T, T)", w=2.5)
    AV = b.box(11.4, 0.9, "$A\\,V$", role="op", sub="weighted average of $v_s$", w=2.9)
    Y = b.box(14.1, 0.9, "$Y$", role="latent", sub="(T, d)", w=1.1)
    b.arrow(rows["Q"], scores)
    b.arrow(rows["K"], scores)
    b.arrow(scores, soft)
    b.arrow(soft, AV)
    b.note(11.55, 2.45, "each row of $A$\nsums to 1", ha="left")
    b.arrow(rows["V"], AV)
    b.arrow(AV, Y)
    # Section 3's causal mask: the scores of keys s > t (above the diagonal) become -inf before the softmax
    T = 5
    mask = b.grid(9.9, 2.75, T, T, cell=0.2, values=[[float(s <= t) for s in range(T)] for t in range(T)])
    b.arrow(mask, (9.65, 4.0), dashed=True)
    b.note(
        9.25,
        2.6,
        "causal mask (Section 3)\ndark: key $s \\leq t$ allowed\n$a_{ts} = -\\infty$ for $s > t$",
        ha="right",
        fontsize=7,
    )
    return b.done()


def attention_heads():
    """Multi-head attention in code: one projection to q, k, v, a reshape into nh heads, attention, merge, W_O."""
    b = Board(15, 5.6, title="Multi-head attention: the heads are an extra batch dimension")
    x = b.box(1.0, 4.6, "$x$", role="latent", sub="(B, T, C)", w=1.4)
    qkv = b.box(3.6, 4.6, "$W_{QKV}$", sub="nn.Linear(C, 3C)", w=2.2)
    split = b.box(7.0, 4.6, "q, k, v", role="latent", sub="(B, T, C) each", w=2.0)
    heads = b.box(12.3, 4.6, "q, k, v per head", role="latent", sub="(B, nh, T, hs)", w=2.9)
    b.arrow(x, qkv)
    b.arrow(qkv, split, ".split(C)")
    b.arrow(split, heads, ".view(B, T, nh, hs)")
    b.note(9.5, 4.3, ".transpose(1, 2)", fontsize=8)
    # every head attends over its own hs channels; one batched call computes all nh of them
    for i in range(2, 0, -1):
        b.box(12.3 + 0.14 * i, 2.0 - 0.16 * i, "", role="op", w=3.2, h=1.1)
    att = b.box(12.3, 2.0, "causal attention", role="op", sub="softmax$(qk^\\top / \\sqrt{h_s})\\, v$", w=3.2, h=1.1)
    b.note(12.4, 0.7, "$n_h$ heads at once, each $h_s = C / n_h$ wide", fontsize=8)
    merge = b.box(6.8, 2.0, "heads side by side", role="latent", sub="(B, T, C)", w=3.1)
    out = b.box(3.6, 2.0, "$W_O$", sub="nn.Linear(C, C)", w=2.2)
    y = b.box(1.0, 2.0, "$y$", role="latent", sub="(B, T, C)", w=1.4)
    b.arrow(heads, att)
    b.arrow(att, merge, ".transpose(1, 2)", text_offset=(0.0, 0.2))
    b.note(9.5, 1.7, ".view(B, T, C)", fontsize=8)
    b.arrow(merge, out)
    b.arrow(out, y)
    return b.done()


def transformer_block():
    """The pre-norm Transformer block: a residual stream with two branches, LN then attention, LN then the MLP."""
    b = Board(15, 5.6, title="A pre-norm Transformer block")
    x_in = b.box(0.9, 1.2, "$x$", role="latent", sub="(B, T, C)", w=1.4)
    plus1 = b.box(5.0, 1.2, "+", role="op", w=0.55, h=0.55)
    plus2 = b.box(10.7, 1.2, "+", role="op", w=0.55, h=0.55)
    x_out = b.box(14.0, 1.2, "$x$", role="latent", sub="(B, T, C)", w=1.4)
    b.arrow(x_in, plus1)
    b.arrow(plus1, plus2)
    b.arrow(plus2, x_out)
    b.note(7.8, 0.55, "the residual stream, never normalised itself", fontsize=8)
    for x0, plus, ln, sub_layer, sub in (
        (2.1, plus1, "$\\mathrm{LN}_1$", "causal self-attention", "$n_h$ heads"),
        (7.7, plus2, "$\\mathrm{LN}_2$", "MLP", "C \u2192 4C, GELU, 4C \u2192 C"),
    ):
        norm = b.box(x0, 3.5, ln, role="op", w=1.0)
        layer = b.box(plus.x, 3.5, sub_layer, sub=sub, w=3.3)
        b.arrow((x0, 1.2), norm)  # the branch reads a copy of the stream
        b.arrow(norm, layer)
        b.arrow(layer, plus, "adds its output", text_offset=(0.95, 0.0))
    b.note(
        7.5,
        4.75,
        "$x \\leftarrow x + \\mathrm{Attn}(\\mathrm{LN}_1(x))$,   $x \\leftarrow x + \\mathrm{MLP}(\\mathrm{LN}_2(x))$",
        fontsize=9,
    )
    return b.done()


def gpt_stack():
    """The GPT: token and position embeddings, L pre-norm blocks, a final LayerNorm and the tied head to logits."""
    b = Board(13, 10.4, title="The GPT of genai_lib.models.gpt")
    x, h = 5.5, 0.8  # the column of the residual stream, and the height of its boxes
    idx = b.box(x, 0.6, "token ids idx", role="data", sub="(B, T)", w=2.4, h=h)
    tok = b.box(x, 1.85, "token embedding", sub="nn.Embedding: (V, C)", w=3.0, h=h)
    plus = b.box(x, 3.0, "+", role="op", w=0.5, h=0.5)
    pos = b.box(10.4, 3.0, "position embedding", sub="(block_size, C): rows 0 ... T\u22121", w=3.9, h=h)
    b.arrow(idx, tok)
    b.arrow(tok, plus)
    b.arrow(pos, plus)
    b.frame(3.2, 3.65, 11.2, 6.7, "L blocks")
    first = b.box(x, 4.3, "Transformer block 1", sub="pre-norm, causal (chapter 9)", w=3.9, h=h)
    last = b.box(x, 5.7, "Transformer block L", w=3.9, h=h)
    b.note(x, 5.02, "\u22ee", fontsize=11)
    b.note(9.3, 5.0, "every block maps\n(B, T, C) to (B, T, C):\nthe residual stream", fontsize=8)
    b.arrow(plus, first)
    lnf = b.box(x, 7.3, "final LayerNorm", role="op", w=2.9, h=h)
    head = b.box(x, 8.45, "head: Linear(C, V)", sub="no bias", w=3.0, h=h)
    logits = b.box(x, 9.6, "logits", role="latent", sub="(B, T, V)", w=2.0, h=h)
    b.arrow(last, lnf)
    b.arrow(lnf, head)
    b.arrow(head, logits)
    # weight tying: the head's weight is the token embedding's matrix, one (V, C) tensor to read and to write tokens
    b.arrow(head.left, tok.left, dashed=True, bend=0.3, color="#a33")
    b.note(2.2, 5.2, "tied:\none (V, C)\nmatrix", color="#a33")
    loss = b.box(10.3, 9.6, "F.cross_entropy", role="loss", sub="mean, nats per token", w=3.1, h=h)
    targets = b.box(10.3, 8.2, "targets", role="data", sub="(B, T): the next tokens", w=3.1, h=h)
    b.arrow(logits, loss)
    b.arrow(targets, loss)
    return b.done()


def kv_cache():
    """One generation pass with a KV cache: the newest token's q, k, v, its k and v appended, one query on all keys."""
    b = Board(15, 8.6, title="Generating with a KV cache: pass t \u2265 1 after a prompt of P tokens")
    new = b.box(1.25, 4.1, "newest token", role="data", sub="(B, 1)", w=2.2, h=0.8)
    b.note(1.25, 5.0, "embedded at\nposition P + t")
    b.frame(2.5, 2.7, 14.7, 7.9, "in each of the L layers $\\ell$")
    qkv = b.box(4.4, 4.1, "q, k, v", role="latent", sub="(B, nh, 1, hs) each", w=2.6, h=0.8)
    b.arrow(new, qkv)
    # this layer's cache: keys and values of positions 1 ... P+t-1 from earlier passes, then the new position's
    n_old, cell, x0 = 8, 0.45, 5.9
    x_new = x0 + (n_old + 0.5) * cell
    for y, name in ((6.8, "keys $k_j^{(\\ell)}$"), (5.9, "values $v_j^{(\\ell)}$")):
        b.grid(x0 + n_old * cell / 2, y, 1, n_old, cell=cell, role="latent")
        b.grid(x_new, y, 1, 1, cell=cell, role="data")
        b.note(x0 - 0.2, y, name, ha="right", fontsize=8)
    b.note(x0 + n_old * cell / 2, 7.35, "positions 1 ... P + t \u2212 1", fontsize=7)
    b.note(x_new, 7.35, "P + t", fontsize=7)
    cache = "the cache of layer $\\ell$, k and v:\n(B, nh, P + t, hs) each;\ngreen: earlier passes, blue: new"
    b.note(x_new + 0.5, 6.35, cache, ha="left")
    b.arrow((4.4, 4.5), (x_new, 5.65), "append k, v", text_offset=(-0.7, 0.1))
    att = b.box(11.2, 4.1, "attention", role="op", sub="1 query on P + t keys", w=3.0, h=0.8)
    b.arrow(qkv, att, "q", text_offset=(0.0, 0.05))
    b.arrow((x_new + 0.3, 5.65), att, "all k, v", text_offset=(0.55, -0.1))
    b.note(13.75, 4.1, "then\nthe MLP", fontsize=8)
    logits = b.box(11.2, 1.7, "logits", role="latent", sub="(B, 1, V)", w=1.8, h=0.8)
    sample = b.box(8.0, 1.7, "sample_next", role="op", w=2.2, h=0.8)
    nxt = b.box(4.6, 1.7, "next token", role="data", sub="(B, 1)", w=1.9, h=0.8)
    b.arrow(att, logits, "after layer L: final LN, head", text_offset=(-1.9, -0.55))
    b.arrow(logits, sample)
    b.arrow(sample, nxt)
    b.arrow(nxt, new, "pass t + 1", dashed=True, text_offset=(-1.1, -0.5))
    b.note(
        7.5,
        0.5,
        "each pass: 1 position through every layer, and 1 query against P + t keys\n"
        "without the cache: all P + t positions again, and about (P + t)\u00b2/2 query\u2013key products",
    )
    return b.done()
