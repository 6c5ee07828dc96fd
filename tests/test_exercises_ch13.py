"""The checks of chapter 13's exercises accept correct solutions and name each common mistake."""

import math

import pytest
import torch

from assignments.wrong_answers import ch13 as wrong
from genai_checks import (
    CheckError,
    check_latent_scale,
    check_masked_cross_attention,
    check_masked_cross_attention_heads,
)

# ----- Exercise 13.1 ---------------------------------------------------------------------------------------


def cross(attn, x, context, pad, *, mask="right", softmax_dim=-1, scale=None, project=True):
    B, T, C = x.shape
    nh = attn.config.n_head
    hs = C // nh
    q = attn.q(x).view(B, T, nh, hs).transpose(1, 2)
    k, v = attn.kv(context).split(C, dim=2)
    k = k.view(B, -1, nh, hs).transpose(1, 2)
    v = v.view(B, -1, nh, hs).transpose(1, 2)
    scores = q @ k.transpose(-2, -1) / (math.sqrt(hs) if scale is None else scale)
    if mask == "right":
        scores = scores.masked_fill(pad[:, None, None, :], float("-inf"))
    elif mask == "inverted":
        scores = scores.masked_fill(~pad[:, None, None, :], float("-inf"))
    w = scores.softmax(dim=softmax_dim)
    if mask == "after":
        w = w.masked_fill(pad[:, None, None, :], 0.0)
    y = (w @ v).transpose(1, 2).reshape(B, T, C)
    return attn.proj(y) if project else y


def test_cross_attention_accepts_correct_solutions(capsys):
    check_masked_cross_attention(cross)
    check_masked_cross_attention(lambda attn, x, c, pad: attn(x, c, key_padding_mask=pad))
    check_masked_cross_attention(  # PyTorch's fused kernel, mask True where attending is allowed
        lambda attn, x, c, pad: attn.proj(
            torch.nn.functional.scaled_dot_product_attention(
                attn.q(x).view(*x.shape[:2], 4, 4).transpose(1, 2),
                *(t.view(c.shape[0], -1, 4, 4).transpose(1, 2) for t in attn.kv(c).split(16, dim=2)),
                attn_mask=~pad[:, None, None, :],
            )
            .transpose(1, 2)
            .reshape(x.shape)
        )
    )
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda attn, x, c, pad: None, "write your solution"),
        (lambda attn, x, c, pad: ..., "write your solution"),
        (lambda attn, x, c, pad: cross(attn, x, c, pad, mask="none"), "WITHOUT the padding mask"),
        (lambda attn, x, c, pad: cross(attn, x, c, pad, mask="inverted"), "mask is inverted"),
        (lambda attn, x, c, pad: cross(attn, x, c, pad, mask="after"), "after the softmax"),
        (lambda attn, x, c, pad: cross(attn, x, c, pad, softmax_dim=-2), "over the queries"),
        (lambda attn, x, c, pad: cross(attn, x, c, pad, scale=1.0), r"forgot to divide the scores by sqrt\(hs\)"),
        (lambda attn, x, c, pad: cross(attn, x, c, pad, scale=4.0), r"sqrt\(C\), the full width"),
        (lambda attn, x, c, pad: cross(attn, x, c, pad, project=False), "output projection"),
        (lambda attn, x, c, pad: cross(attn, x, c, pad) + 0.01, "cross-attention output is"),
        (lambda attn, x, c, pad: torch.zeros(c.shape[0], c.shape[1], 16), "one vector per caption token"),
        (lambda attn, x, c, pad: attn(c, x), "raised"),
    ],
)
def test_cross_attention_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_masked_cross_attention(wrong)


def heads_swapped(attn, x, context, pad):
    """Splits C as (hs, nh) instead of (nh, hs): the same as the right split when nh = hs."""
    B, T, C = x.shape
    nh = attn.config.n_head
    hs = C // nh
    q = attn.q(x).view(B, T, hs, nh).transpose(1, 2)
    k, v = (t.view(B, -1, hs, nh).transpose(1, 2) for t in attn.kv(context).split(C, dim=2))
    scores = (q @ k.transpose(-2, -1) / math.sqrt(hs)).masked_fill(pad[:, None, None, :], float("-inf"))
    return attn.proj((scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(B, T, C))


def test_cross_attention_hidden_check_reads_the_heads_from_the_layer(capsys):
    check_masked_cross_attention_heads(cross)
    check_masked_cross_attention_heads(lambda attn, x, c, pad: attn(x, c, key_padding_mask=pad))
    assert capsys.readouterr().out.count("Correct") == 2
    with pytest.raises(CheckError, match=r"divided the scores by sqrt\(n_head\)"):
        check_masked_cross_attention_heads(wrong.masked_cross_attention)
    check_masked_cross_attention(heads_swapped)  # the public layer cannot tell (B, T, hs, nh) from (B, T, nh, hs)
    with pytest.raises(CheckError, match=r"view\(B, T, nh, hs\)"):
        check_masked_cross_attention_heads(heads_swapped)


# ----- Exercise 13.2 ---------------------------------------------------------------------------------------


def test_latent_scale_accepts_correct_solutions(capsys):
    check_latent_scale(lambda z: 1 / z.std())
    check_latent_scale(lambda z: float(1 / z.std(correction=0)))
    check_latent_scale(lambda z: (1 / z.float().std()).reshape(1))
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda z: None, "write your solution"),
        (lambda z: ..., "write your solution"),
        (lambda z: z.std(), "standard deviation itself"),
        (lambda z: 1 / z.var(), "1 / variance"),
        (lambda z: 1 / z.std(dim=(0, 2, 3)), "one per latent channel"),
        (lambda z: 1 / z.square().mean().sqrt(), "root mean square"),
        (lambda z: 1 / z.abs().mean(), "mean absolute value"),
        (lambda z: 1 / z.std() + 0.1, "scale factor is"),
        (lambda z: torch.ones(2), "one number"),
    ],
)
def test_latent_scale_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_latent_scale(wrong)
