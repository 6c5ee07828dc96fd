import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from genai_lib.nn import (
    AttentionConfig,
    BlockConfig,
    LearnedPositionalEmbedding,
    MultiHeadAttention,
    SinusoidalPositionalEncoding,
    TransformerBlock,
    causal_mask,
    scaled_dot_product_attention,
    sinusoidal_encoding,
    timestep_embedding,
)


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("causal", [False, True])
def test_written_out_attention_equals_pytorch_kernel(causal):
    q, k, v = randn(2, 3, 5, 8, seed=1), randn(2, 3, 5, 8, seed=2), randn(2, 3, 5, 8, seed=3)
    mask = randn(2, 1, 5, 5, seed=4) > -0.5  # a random boolean mask, True = may attend
    for m in (None, mask):
        ours, weights = scaled_dot_product_attention(q, k, v, mask=m, causal=causal)
        ref = F.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=causal and m is None)
        if m is not None and causal:
            ref = F.scaled_dot_product_attention(q, k, v, attn_mask=m & causal_mask(5))
        assert torch.allclose(ours, ref, atol=1e-5)
        # Every query that may attend somewhere has weights summing to 1; one that may attend nowhere gets 0.
        allowed = torch.ones(5, 5, dtype=torch.bool) if m is None else m
        allowed = allowed & causal_mask(5) if causal else allowed
        assert torch.allclose(weights.sum(-1), allowed.any(-1).float().expand_as(weights[..., 0]), atol=1e-6)
        assert (weights[~allowed.expand_as(weights)] == 0).all()


def copy_into_pytorch_mha(ours: MultiHeadAttention) -> nn.MultiheadAttention:
    cfg = ours.config
    if cfg.context_dim is None:
        ref = nn.MultiheadAttention(cfg.n_embd, cfg.n_head, batch_first=True)
        ref.in_proj_weight.data.copy_(ours.qkv.weight)  # both stack W_Q, W_K, W_V as (3C, C)
        ref.in_proj_bias.data.copy_(ours.qkv.bias)
    else:
        C = cfg.n_embd
        ref = nn.MultiheadAttention(C, cfg.n_head, batch_first=True, kdim=cfg.context_dim, vdim=cfg.context_dim)
        ref.q_proj_weight.data.copy_(ours.q.weight)
        ref.k_proj_weight.data.copy_(ours.kv.weight[:C])
        ref.v_proj_weight.data.copy_(ours.kv.weight[C:])
        ref.in_proj_bias.data.copy_(torch.cat([ours.q.bias, ours.kv.bias]))
    ref.out_proj.weight.data.copy_(ours.proj.weight)
    ref.out_proj.bias.data.copy_(ours.proj.bias)
    return ref.eval()


@pytest.mark.parametrize("causal", [False, True])
def test_self_attention_equals_nn_multihead_attention(causal):
    torch.manual_seed(0)
    attn = MultiHeadAttention(AttentionConfig(n_embd=16, n_head=4, causal=causal)).eval()
    ref = copy_into_pytorch_mha(attn)
    x = randn(3, 7, 16)
    padding = torch.zeros(3, 7, dtype=torch.bool)
    padding[0, 5:] = padding[2, 6:] = True  # padded keys at the end of two sequences
    ref_mask = ~causal_mask(7) if causal else None  # PyTorch's module masks where True
    ref_y, ref_w = ref(x, x, x, key_padding_mask=padding, attn_mask=ref_mask, average_attn_weights=False)
    for fast in (True, False):
        attn.fast = fast
        assert torch.allclose(attn(x, key_padding_mask=padding), ref_y, atol=1e-5)
    y, w = attn(x, key_padding_mask=padding, return_weights=True)
    assert w.shape == (3, 4, 7, 7) and torch.allclose(w, ref_w, atol=1e-6) and torch.allclose(y, ref_y, atol=1e-5)
    assert (w[0, :, :, 5:] == 0).all()  # padding gets no attention


def test_cross_attention_with_a_context_of_other_length_and_width():
    torch.manual_seed(0)
    attn = MultiHeadAttention(AttentionConfig(n_embd=16, n_head=2, context_dim=12)).eval()
    ref = copy_into_pytorch_mha(attn)
    x, context = randn(2, 5, 16, seed=1), randn(2, 9, 12, seed=2)
    padding = torch.zeros(2, 9, dtype=torch.bool)
    padding[1, 4:] = True
    ref_y, ref_w = ref(x, context, context, key_padding_mask=padding, average_attn_weights=False)
    y, w = attn(x, context, key_padding_mask=padding, return_weights=True)
    assert y.shape == (2, 5, 16) and w.shape == (2, 2, 5, 9)
    assert torch.allclose(y, ref_y, atol=1e-5) and torch.allclose(w, ref_w, atol=1e-6)
    assert torch.allclose(attn(x, context, key_padding_mask=padding), ref_y, atol=1e-5)  # fused path


def test_causal_weights_are_lower_triangular_rows_of_a_distribution():
    attn = MultiHeadAttention(AttentionConfig(n_embd=8, n_head=2, causal=True))
    _, w = attn(randn(2, 6, 8), return_weights=True)
    assert torch.allclose(w.sum(-1), torch.ones(2, 2, 6), atol=1e-6)
    below = causal_mask(6).expand_as(w)
    assert (w[~below] == 0).all() and (w[below] > 0).all()


def test_a_causal_block_does_not_look_ahead_and_a_bidirectional_one_does():
    torch.manual_seed(0)
    x = randn(1, 8, 16)
    changed = x.clone()
    changed[0, 5] = randn(16, seed=1)  # change the token at position 5 (not by a constant: LayerNorm removes it)
    for causal in (True, False):
        block = TransformerBlock(BlockConfig(n_embd=16, n_head=4, causal=causal)).eval()
        y, y2 = block(x), block(changed)
        assert torch.allclose(y[0, :5], y2[0, :5]) == causal  # earlier positions see the change only if not causal
        assert not torch.allclose(y[0, 5:], y2[0, 5:])


@pytest.mark.parametrize("causal", [False, True])
def test_block_equals_pytorchs_pre_norm_encoder_layer(causal):
    torch.manual_seed(0)
    block = TransformerBlock(BlockConfig(n_embd=16, n_head=4, causal=causal)).eval()
    ref = nn.TransformerEncoderLayer(
        16, 4, dim_feedforward=64, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
    ).eval()
    ref.self_attn = copy_into_pytorch_mha(block.attn)
    for mine, theirs in [
        (block.ln_1, ref.norm1),
        (block.ln_2, ref.norm2),
        (block.mlp.fc, ref.linear1),
        (block.mlp.proj, ref.linear2),
    ]:
        theirs.load_state_dict(mine.state_dict())
    x = randn(2, 6, 16)
    mask = ~causal_mask(6) if causal else None
    assert torch.allclose(block(x), ref(x, src_mask=mask, is_causal=causal), atol=1e-5)


def test_block_with_cross_attention_fast_and_written_out_paths_agree():
    torch.manual_seed(0)
    block = TransformerBlock(BlockConfig(n_embd=16, n_head=4, context_dim=10)).eval()
    x, context = randn(2, 5, 16), randn(2, 3, 10)
    y, weights = block(x, context, return_weights=True)
    assert y.shape == x.shape and weights["self"].shape == (2, 4, 5, 5) and weights["cross"].shape == (2, 4, 5, 3)
    assert torch.allclose(block(x, context), y, atol=1e-5)
    assert len(block.residual_projections()) == 3
    with pytest.raises(ValueError, match="pass the context"):
        block(x)


def test_attention_errors_say_what_to_do():
    with pytest.raises(ValueError, match="n_embd=10 is not divisible by n_head=4"):
        AttentionConfig(n_embd=10, n_head=4)
    with pytest.raises(ValueError, match="causal=False with context_dim"):
        AttentionConfig(n_embd=8, n_head=2, causal=True, context_dim=4)
    attn = MultiHeadAttention(AttentionConfig(n_embd=8, n_head=2))
    with pytest.raises(ValueError, match=r"shape \(B, T, C\).*got \(5, 8\).*x\[None\]"):
        attn(torch.randn(5, 8))
    with pytest.raises(ValueError, match="n_embd = 8, got"):
        attn(torch.randn(1, 5, 6))
    with pytest.raises(ValueError, match="self-attention.*context_dim"):
        attn(torch.randn(1, 5, 8), torch.randn(1, 3, 8))
    with pytest.raises(ValueError, match=r"key_padding_mask must be a bool tensor of shape \(B, S\) = \(1, 5\)"):
        attn(torch.randn(1, 5, 8), key_padding_mask=torch.zeros(1, 5))
    cross = MultiHeadAttention(AttentionConfig(n_embd=8, n_head=2, context_dim=4))
    with pytest.raises(ValueError, match=r"context must have shape .*\(1, S, 4\), got \(1, 3, 6\).*context_dim=6"):
        cross(torch.randn(1, 5, 8), torch.randn(1, 3, 6))
    with pytest.raises(ValueError, match="pass the context"):
        cross(torch.randn(1, 5, 8))


def test_sinusoidal_encoding_follows_the_formula():
    pe = sinusoidal_encoding(50, 6)
    pos, i = 7, 2  # channels 2i and 2i+1 hold sin and cos of pos / 10000^(2i/d)
    angle = pos / 10000 ** (2 * i / 6)
    assert pe.shape == (50, 6) and pe.dtype == torch.float32
    assert math.isclose(pe[pos, 2 * i], math.sin(angle), abs_tol=1e-6)
    assert math.isclose(pe[pos, 2 * i + 1], math.cos(angle), abs_tol=1e-6)
    assert torch.equal(pe[0], torch.tensor([0.0, 1.0] * 3))
    with pytest.raises(ValueError, match="dim must be even"):
        sinusoidal_encoding(10, 5)


def test_timestep_embedding_golden_values():
    emb = timestep_embedding(torch.tensor([0, 10, 999]), 8)
    freqs = torch.tensor([1.0, 0.1, 0.01, 0.001])  # exp(-ln(10000) * j / 4)
    expected = torch.cat([torch.cos(10 * freqs), torch.sin(10 * freqs)])
    assert emb.shape == (3, 8) and torch.allclose(emb[1], expected, atol=1e-5)
    assert torch.equal(emb[0], torch.tensor([1.0] * 4 + [0.0] * 4))
    assert timestep_embedding(torch.tensor([3.5]), 7).shape == (1, 7)  # odd width, fractional time


def test_position_embeddings_add_to_x_and_refuse_long_sequences():
    x = torch.zeros(2, 5, 6)
    sin = SinusoidalPositionalEncoding(block_size=8, n_embd=6)
    assert torch.equal(sin(x)[1], sinusoidal_encoding(8, 6)[:5]) and "pe" not in sin.state_dict()
    learned = LearnedPositionalEmbedding(block_size=8, n_embd=6)
    assert torch.equal(learned(x)[0], learned.weight[:5].detach())
    for module in (sin, learned):
        with pytest.raises(ValueError, match="9 positions but .* block_size=8"):
            module(torch.zeros(1, 9, 6))
