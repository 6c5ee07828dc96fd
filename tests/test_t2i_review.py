"""Identities of chapters 13-15 that their prose states and no cell checks: checked numerically here.

Chapter 13, Exercise 13.3: the per-level cost count 1,616 C² (pixels) against 144 C² (latents) at `standard`.
Chapter 14: the guided softmax against the Bayes form of eq-ar-cfg; the sampler's cost, n S + n(n-1)/2
positions per image and 2N sequences under guidance, counted on `generate_tokens` itself; the loss in bits
per image is -log2 p(z | c). Chapter 15: the Wilson interval's closed form, its ends at p = 0 and 1, and the
coverage statements of Section 3, computed exactly from the binomial distribution instead of by simulation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from genai_lib import text_to_image as t2i
from genai_lib.data.caption_grammar import SHAPES, CaptionTokenizer
from genai_lib.models.ar_text_to_image import ARTextToImage
from genai_lib.models.vqvae import VQVAE, VQVAEConfig

Z = 1.96


# ----- chapter 13 ----------------------------------------------------------------------------------------------


def test_exercise_13_3_level_costs_follow_from_the_standard_unets():
    """Positions x (channel multiplier)^2 summed over the U-Net levels: 1,616 for pixels, 144 for latents."""
    cfg = t2i.preset("standard")
    pixel_mults = (1, *cfg.unet_mults, cfg.unet_mults[-1])  # as build_diffusion widens the pixel U-Net
    latent_side = cfg.image_size // 4  # the VQ-VAE's two stride-2 convolutions

    def cost(side: int, mults: tuple[int, ...]) -> int:
        return sum((side >> i) ** 2 * m**2 for i, m in enumerate(mults))

    assert pixel_mults == (1, 1, 2, 2, 2) and cfg.unet_mults == (1, 2, 2)
    assert cfg.image_size >> (len(pixel_mults) - 1) == latent_side >> (len(cfg.unet_mults) - 1) == 2
    assert cost(cfg.image_size, pixel_mults) == 1616 and cost(latent_side, cfg.unet_mults) == 144
    assert 11 < 1616 / 144 < 11.3  # "about 11 times cheaper"


# ----- chapter 14 ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("w", [0.0, 0.5, 1.0, 2.0, 7.0])
def test_guided_softmax_is_the_bayes_reweighting(w):
    """softmax(l_0 + w (l_c - l_0)) = p(k) [p(c | k) / p(c)]^w / Z, with p(c | k) from Bayes' rule."""
    g = torch.Generator().manual_seed(0)
    joint = torch.rand(9, 2, generator=g, dtype=torch.float64)  # p(k, caption), caption in {c, another one}
    joint = joint / joint.sum()
    p_k, p_c = joint.sum(1), joint[:, 0].sum()  # p(k) (K,), p(c)
    p_k_given_c, p_c_given_k = joint[:, 0] / p_c, joint[:, 0] / p_k  # the two conditionals, (K,) each
    l_0, l_c = p_k.log() + 1.7, p_k_given_c.log() - 0.4  # logits: log-probabilities up to a constant
    guided = (l_0 + w * (l_c - l_0)).softmax(-1)
    bayes = p_k * (p_c_given_k / p_c) ** w
    torch.testing.assert_close(guided, bayes / bayes.sum(), rtol=1e-12, atol=1e-14)


def _tiny_ar() -> ARTextToImage:
    torch.manual_seed(0)
    vq = VQVAE(VQVAEConfig(image_shape=(3, 32, 32), hidden=8, codebook_size=16, code_dim=4))
    return ARTextToImage(CaptionTokenizer(SHAPES), vq, n_layer=1, n_head=2, n_embd=32).eval()


@pytest.mark.parametrize("w", [1.0, 2.0])
@pytest.mark.parametrize("use_cache", [False, True])
def test_sampling_cost_is_the_counted_one(w, use_cache):
    """Without a cache generate_tokens makes n passes of lengths S, S+1, ..., S+n-1: n S + n(n-1)/2 positions;
    with one, the caption once and then each code alone: S + n - 1 positions. 2N rows if guided."""
    model = _tiny_ar()
    S, n, N = model.S, model.grid[0] * model.grid[1], 3
    shapes = []
    handle = model.gpt.register_forward_hook(lambda module, args, out: shapes.append(tuple(args[0].shape)))
    try:
        model.generate_tokens(
            ["a big red circle in the top left"] * N,
            guidance_scale=w,
            generator=torch.Generator().manual_seed(0),
            use_cache=use_cache,
        )
    finally:
        handle.remove()
    rows = 2 * N if w != 1.0 else N
    if use_cache:
        assert shapes == [(rows, S)] + [(rows, 1)] * (n - 1)
        assert sum(T for _, T in shapes) == S + n - 1
    else:
        assert shapes == [(rows, S + t) for t in range(n)]
        assert sum(T for _, T in shapes) == n * S + n * (n - 1) // 2  # per sequence


def test_loss_in_bits_per_image_is_minus_log2_p_of_the_code_grid():
    """n L / ln 2 = -log2 p(z | c) = -sum_i log2 p(z_i | c, z_<i), per image, averaged over the batch."""
    model = _tiny_ar()
    g = torch.Generator().manual_seed(1)
    tok = model.tokenizer
    ids = tok.encode(["a big red circle in the top left", "a small blue square at the bottom right"])
    z = torch.randint(0, model.vqvae.config.codebook_size, (2, *model.grid), generator=g)
    n = z[0].numel()
    with torch.no_grad():
        L = model.loss(ids, z, p_uncond=0.0)
        x, _ = model.sequences(ids, z)
        logp = F.log_softmax(model.gpt(x)[0][:, model.S - 1 :].double(), -1)  # (2, n, V): the image positions
        log2_p = logp.gather(-1, (z.flatten(1) + model.offset)[..., None]).sum((1, 2)) / math.log(2)  # (2,)
    torch.testing.assert_close(n * L.double() / math.log(2), -log2_p.mean(), rtol=1e-5, atol=1e-4)


# ----- chapter 15 ----------------------------------------------------------------------------------------------


def wilson(k: int, n: int, z: float = Z) -> tuple[float, float]:
    """eq-wilson, in closed form."""
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return centre - half, centre + half


@pytest.mark.parametrize("n", [20, 100, 1000])
def test_wilson_closed_form_is_the_root_pair_of_the_score_quadratic(n):
    for k in range(n + 1):
        p = k / n
        roots = np.sort(np.roots([1 + Z**2 / n, -(2 * p + Z**2 / n), p**2]).real)
        np.testing.assert_allclose(wilson(k, n), roots, atol=1e-9)
    assert wilson(0, n)[0] == pytest.approx(0, abs=1e-12) and wilson(0, n)[1] == pytest.approx(Z**2 / (n + Z**2))
    assert wilson(n, n)[0] == pytest.approx(n / (n + Z**2)) and wilson(n, n)[1] == pytest.approx(1)


def test_section_3_interval_widths_at_a_hundred_prompts():
    lo, hi = wilson(90, 100)
    assert round(lo, 2) == 0.83 and round(hi, 2) == 0.94 and round(100 * (hi - lo)) == 12
    lo, hi = wilson(50, 100)
    assert round(100 * (hi - lo)) == 19
    assert wilson(0, 100)[1] == pytest.approx(0.037, abs=5e-4)  # Exercise 15.2: "up to 3.7%"
    assert round(100 * Z * math.sqrt(2 * 0.9 * 0.1 / 100)) == 8  # two scores near 0.9 told apart at 8 points


def coverage(n: int, pi: float) -> tuple[float, float]:
    """Exact probability that the Wald and the Wilson 95% intervals contain pi, k ~ Bin(n, pi)."""
    k = np.arange(n + 1)
    pmf = np.array([math.comb(n, int(j)) * pi ** int(j) * (1 - pi) ** (n - int(j)) for j in k])
    p = k / n
    wald = np.abs(p - pi) <= Z * np.sqrt(p * (1 - p) / n)
    wils = np.array([lo <= pi <= hi for lo, hi in (wilson(int(j), n) for j in k)])
    return float(pmf[wald].sum()), float(pmf[wils].sum())


@pytest.mark.parametrize("n", [20, 100, 1000])  # max(n_eval, 20) at smoke, standard and full
def test_section_3_coverage_claims_hold_exactly(n):
    cover = {pi: coverage(n, pi) for pi in (0.5, 0.9, 0.97, 0.99)}
    assert abs(cover[0.5][0] - cover[0.5][1]) < 0.01  # the two agree at pi = 0.5
    assert cover[0.99][0] < cover[0.99][1] - 0.02  # Wald under-covers near 1
    assert all(0.9 <= wils <= 1 for _, wils in cover.values())  # Wilson stays near 95%


def test_an_untrained_gpt_favours_repeating_its_input_token():
    """Chapter 14: with tied embeddings, an untrained GPT's loss is ln V + about 1/6 nat on tokens that never
    repeat (chapter 10's prediction) and below ln V on tokens that always repeat (background-like grids)."""
    torch.manual_seed(0)
    vq = VQVAE(VQVAEConfig(image_shape=(3, 32, 32), hidden=8, codebook_size=64, code_dim=8))
    model = ARTextToImage(CaptionTokenizer(SHAPES), vq, n_layer=2, n_head=4, n_embd=64).eval()
    ln_V = math.log(model.gpt.config.vocab_size)
    ids = model.tokenizer.encode(["a big red circle in the top left"] * 64)
    iid = torch.randint(0, 64, (64, 8, 8), generator=torch.Generator().manual_seed(0))
    repeated = torch.full((64, 8, 8), 5)
    with torch.no_grad():
        assert abs(model.loss(ids, iid, p_uncond=0.0).item() - (ln_V + 1 / 6)) < 0.1
        assert model.loss(ids, repeated, p_uncond=0.0).item() < ln_V - 0.5
