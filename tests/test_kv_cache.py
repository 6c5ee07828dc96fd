"""The KV cache: cached decoding computes what the full forward pass computes, token for token, within the window."""

import pytest
import torch

from genai_lib.models.gpt import GPT, GPTConfig
from genai_lib.nn import AttentionConfig, MultiHeadAttention, causal_mask
from genai_lib.nn.kv_cache import KVCache, LayerCache


def _gpt(block_size: int = 16, seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=11, block_size=block_size, n_layer=2, n_head=2, n_embd=16)).eval()


def test_the_causal_mask_places_the_queries_last():
    """With S > T (cached keys before the new queries) query t sits at position S - T + t."""
    assert causal_mask(2, 5).tolist() == [[True, True, True, True, False], [True] * 5]
    assert torch.equal(causal_mask(4), torch.ones(4, 4, dtype=torch.bool).tril())


@torch.no_grad()
def test_cached_logits_equal_the_full_pass_in_chunks_of_any_size():
    model = _gpt()
    idx = torch.randint(0, 11, (3, 12), generator=torch.Generator().manual_seed(1))
    full, _ = model(idx)  # (3, 12, V)
    cache = model.new_cache()
    pieces = [model(idx[:, a:b], cache=cache)[0] for a, b in ((0, 5), (5, 6), (6, 9), (9, 12))]
    assert cache.length == 12
    assert torch.allclose(torch.cat(pieces, dim=1), full, atol=1e-5)


@pytest.mark.parametrize("prompt_len, new", [(3, 10), (4, 30)])  # 30: far past the window of 16
def test_cached_and_uncached_generation_draw_the_same_tokens(prompt_len, new):
    model = _gpt()
    prompt = torch.randint(0, 11, (4, prompt_len), generator=torch.Generator().manual_seed(2))
    outs = [
        model.generate(prompt, new, top_k=5, temperature=1.3, generator=torch.Generator().manual_seed(3), use_cache=c)
        for c in (True, False)
    ]
    assert outs[0].shape == (4, prompt_len + new)
    assert torch.equal(outs[0], outs[1])


def test_cached_generation_runs_the_blocks_on_one_position_per_new_token():
    model, widths = _gpt(), []
    model.blocks[0].register_forward_hook(lambda m, inputs, out: widths.append(inputs[0].size(1)))
    model.generate(torch.zeros(1, 4, dtype=torch.long), 5)
    assert widths == [4, 1, 1, 1, 1]  # the prompt once, then each new token alone
    widths.clear()
    model.generate(torch.zeros(1, 4, dtype=torch.long), 5, use_cache=False)
    assert widths == [4, 5, 6, 7, 8]


def test_the_cache_refuses_positions_past_the_window():
    model = _gpt(block_size=8)
    cache = model.new_cache()
    model(torch.zeros(1, 6, dtype=torch.long), cache=cache)
    with pytest.raises(ValueError, match="context window of 8"):
        model(torch.zeros(1, 3, dtype=torch.long), cache=cache)


def test_the_cache_refuses_another_batch():
    model = _gpt()
    cache = model.new_cache()
    model(torch.zeros(2, 3, dtype=torch.long), cache=cache)
    with pytest.raises(ValueError, match="one batch of sequences"):
        model(torch.zeros(3, 1, dtype=torch.long), cache=cache)


@pytest.mark.parametrize("kind", ["bidirectional", "cross"])
def test_only_causal_self_attention_takes_a_cache(kind):
    cfg = AttentionConfig(n_embd=8, n_head=2, causal=False, context_dim=8 if kind == "cross" else None)
    attn, x = MultiHeadAttention(cfg), torch.randn(1, 3, 8)
    with pytest.raises(ValueError, match="causal self-attention"):
        attn(x, x if kind == "cross" else None, cache=LayerCache())


def test_a_cache_needs_a_positive_size():
    with pytest.raises(ValueError, match="positive"):
        KVCache(0, 8)


def test_the_ar_text_to_image_model_draws_the_same_codes_with_and_without_its_cache():
    from genai_lib.data.caption_grammar import SHAPES, CaptionTokenizer
    from genai_lib.models.ar_text_to_image import ARTextToImage
    from genai_lib.models.vqvae import VQVAE, VQVAEConfig

    torch.manual_seed(0)
    vq = VQVAE(VQVAEConfig(image_shape=(3, 16, 16), hidden=8, codebook_size=16, code_dim=4))
    model = ARTextToImage(CaptionTokenizer(SHAPES), vq, n_layer=1, n_head=2, n_embd=16).eval()
    prompts = ["a small red circle in the top left", ""]
    codes = [
        model.generate_tokens(prompts, guidance_scale=2.0, generator=torch.Generator().manual_seed(4), use_cache=c)
        for c in (True, False)
    ]
    assert codes[0].shape == (2, *model.grid)
    assert torch.equal(codes[0], codes[1])
