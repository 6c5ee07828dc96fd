"""Part III's derivations that no chapter cell checks, checked numerically (chapters 8-10, appendix B)."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from genai_lib.models.gpt import GPT, GPTConfig
from genai_lib.nn.attention import AttentionConfig, MultiHeadAttention


def _counts(V=7, seed=0):
    """Bigram counts of a random text in which some pairs never occur."""
    g = torch.Generator().manual_seed(seed)
    N = torch.randint(0, 30, (V, V), generator=g).double()
    N[torch.rand(V, V, generator=g) < 0.3] = 0  # unseen pairs
    N[:, 0] += 1  # every row has at least one pair
    return N


def test_bigram_loss_splits_into_entropy_plus_kl_and_counts_minimise_it():
    """Chapter 8, eq. (eq-bigram-kl) and (eq-bigram-mle): L = sum_a p(a) [H(p(.|a)) + KL(p(.|a) || q(.|a))]."""
    N = _counts()
    M = N.sum()
    p_a, p_ba = N.sum(1) / M, N / N.sum(1, keepdim=True)
    log_q = torch.log_softmax(torch.randn(N.shape, dtype=torch.float64), dim=1)  # any model

    def loss(log_q):
        return -(N * log_q).sum() / M  # eq. (eq-ce-empirical)

    H = -torch.special.xlogy(p_ba, p_ba).sum(1)
    KL = (torch.special.xlogy(p_ba, p_ba) - p_ba * log_q).sum(1)
    assert loss(log_q) == pytest.approx((p_a * (H + KL)).sum().item(), rel=1e-12)
    floor = -torch.where(N > 0, N * torch.log(p_ba), torch.zeros_like(N)).sum() / M  # 0 log 0 = 0
    assert floor == pytest.approx((p_a * H).sum().item(), rel=1e-12)
    for seed in range(20):  # no other table does better on the training pairs
        g = torch.Generator().manual_seed(seed)
        other = torch.log_softmax(torch.randn(N.shape, dtype=torch.float64, generator=g), dim=1)
        assert loss(other) > floor


def test_add_alpha_is_a_mixture_with_the_uniform():
    """Chapter 8, eq. (eq-add-alpha-mix): (N_ab + a) / (N_a + V a) = lam_a N_ab / N_a + (1 - lam_a) / V."""
    N = _counts()
    V = N.shape[0]
    for alpha in (0.01, 1.0, 7.0):
        P = (N + alpha) / (N.sum(1, keepdim=True) + V * alpha)
        lam = N.sum(1, keepdim=True) / (N.sum(1, keepdim=True) + V * alpha)
        assert torch.allclose(P, lam * N / N.sum(1, keepdim=True) + (1 - lam) / V, rtol=0, atol=1e-14)
        assert torch.allclose(P.sum(1), torch.ones(V, dtype=torch.float64))


def test_add_alpha_is_the_dirichlet_posterior_mean_and_the_map_is_alpha_minus_one():
    """Exercise 8.4: with a Dirichlet(alpha) prior the posterior mean is add-alpha; the MAP adds alpha - 1."""
    counts = torch.tensor([5.0, 0.0, 2.0, 11.0], dtype=torch.float64)
    alpha, V = 0.5, 4
    draws = torch.distributions.Dirichlet(counts + alpha).sample((200_000,))
    add_alpha = (counts + alpha) / (counts.sum() + V * alpha)
    assert torch.allclose(draws.mean(0), add_alpha, atol=3e-3)
    # MAP for alpha = 2: maximise sum_b (N_b + 1) log pi_b on the simplex (softmax parameters, gradient ascent)
    z = torch.zeros(V, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([z], max_iter=200, tolerance_grad=1e-12, tolerance_change=1e-14)

    def closure():
        opt.zero_grad()
        nlp = -((counts + 2 - 1) * torch.log_softmax(z, 0)).sum()
        nlp.backward()
        return nlp

    opt.step(closure)
    laplace = (counts + 1) / (counts.sum() + V)
    assert torch.allclose(torch.softmax(z, 0).detach(), laplace, atol=1e-6)


def test_chapter8_numbers():
    """Chapter 8: V^T for V = 65, T = 100 has 182 digits; Exercise 8.1's conversions."""
    assert len(str(65**100)) == 182
    assert 1.47 / math.log(2) == pytest.approx(2.12, abs=0.005)
    assert math.exp(1.47) == pytest.approx(4.35, abs=0.005)
    assert math.log(2) == pytest.approx(0.69, abs=0.005)


@pytest.mark.parametrize("d", [16, 64])
def test_standard_error_of_the_sample_variance_of_dot_products(d):
    """Chapter 9, Section 2: the sample variance of n dot products has relative standard error sqrt((2 + 6/d)/n)."""
    g = torch.Generator().manual_seed(d)
    n, reps = 2_000, 400
    q, k = torch.randn(reps, n, d, generator=g), torch.randn(reps, n, d, generator=g)
    rel = (q * k).sum(-1).var(dim=1) / d  # (reps,): each sample variance over its expectation d
    assert rel.mean().item() == pytest.approx(1.0, abs=0.01)
    assert rel.std().item() == pytest.approx(math.sqrt((2 + 6 / d) / n), rel=0.15)


def test_dot_product_variance_for_any_scale():
    """Exercise 9.3 (a): Var(q . k) = d sigma_q^2 sigma_k^2 for independent zero-mean entries."""
    g = torch.Generator().manual_seed(0)
    d, sq, sk = 32, 0.5, 3.0
    q, k = sq * torch.randn(200_000, d, generator=g), sk * torch.randn(200_000, d, generator=g)
    assert (q * k).sum(-1).var().item() == pytest.approx(d * sq**2 * sk**2, rel=0.02)


def test_softmax_jacobian():
    """Chapter 9, Section 2: dA_s / da_s' = A_s (delta_ss' - A_s'), which vanishes for one-hot weights."""
    # Seeded: saturation at 60 a needs a gap between the two largest scores (here 0.97), which an unseeded
    # draw does not always have (the test failed on one run whose draw had its top two nearly tied).
    a = torch.randn(6, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    J = torch.autograd.functional.jacobian(lambda a: torch.softmax(a, 0), a)
    A = torch.softmax(a, 0)
    assert torch.allclose(J, torch.diag(A) - A[:, None] * A[None, :], atol=1e-14)
    J_sat = torch.autograd.functional.jacobian(lambda a: torch.softmax(a, 0), 60 * a)
    assert J_sat.abs().max() < 1e-6 * J.abs().max()


@pytest.mark.parametrize("T, C, nh", [(16, 32, 4), (64, 16, 2)])
def test_attention_multiply_adds(T, C, nh):
    """Exercise 9.3 (b, c): one self-attention layer costs 4 T C^2 + 2 T^2 C multiply-adds, whatever nh."""
    layer = MultiHeadAttention(AttentionConfig(n_embd=C, n_head=nh, causal=True))
    x = torch.randn(1, T, C)
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        layer(x)
    assert counter.get_total_flops() == 2 * (4 * T * C**2 + 2 * T**2 * C)  # 2 FLOPs per multiply-add


def test_initial_scale_numbers():
    """Chapters 9-10 and gpt.py: sigma = 1/sqrt(3C); the scores of a fresh model have standard deviation ~1/3."""
    assert GPTConfig(vocab_size=2, n_embd=768, n_head=12).sigma == pytest.approx(0.0208, abs=5e-5)
    assert GPTConfig(vocab_size=2, n_embd=1600, n_head=16).sigma == pytest.approx(0.0144, abs=5e-5)
    assert 128 * 0.02**2 == pytest.approx(0.05, abs=0.002)
    assert math.sqrt((1 / 3) / (128 * 0.02**2)) == pytest.approx(2.5, abs=0.1)
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=50, block_size=64, n_layer=1, n_head=4, n_embd=256))
    attn, C, nh = model.blocks[0].attn, 256, 4
    h = model.blocks[0].ln_1(torch.randn(1, 64, C))  # what the attention reads: unit variance per coordinate
    q, k, _ = attn.qkv(h).split(C, dim=-1)
    hs = C // nh
    q, k = q.view(64, nh, hs).transpose(0, 1), k.view(64, nh, hs).transpose(0, 1)  # (nh, T, hs)
    scores = q @ k.transpose(-2, -1) / math.sqrt(hs)
    assert scores.std().item() == pytest.approx(1 / 3, rel=0.15)


def test_chapter10_full_model_has_about_10_7_million_parameters():
    """Exercise B.3 (b) quotes 'about 10.7 million parameters' for Chapter 10's full-budget GPT."""
    model = GPT(GPTConfig(vocab_size=65, block_size=256, n_layer=6, n_head=6, n_embd=384))
    assert model.num_params() / 1e6 == pytest.approx(10.7, abs=0.1)


def _ring_all_reduce(chunks):
    """Simulate a ring all-reduce of N ranks' gradients, each cut into N chunks; return the results and values sent."""
    N = len(chunks)
    data = [[c.clone() for c in rank] for rank in chunks]
    sent = [0] * N
    for step in range(N - 1):  # reduce-scatter: rank r sends chunk (r - step) to rank r + 1, which adds it
        outgoing = [(r, (r - step) % N, data[r][(r - step) % N].clone()) for r in range(N)]
        for r, j, chunk in outgoing:
            data[(r + 1) % N][j] += chunk
            sent[r] += chunk.numel()
    for step in range(N - 1):  # all-gather: rank r passes on the summed chunk (r + 1 - step), which is overwritten
        outgoing = [(r, (r + 1 - step) % N, data[r][(r + 1 - step) % N].clone()) for r in range(N)]
        for r, j, chunk in outgoing:
            data[(r + 1) % N][j] = chunk
            sent[r] += chunk.numel()
    return data, sent


@pytest.mark.parametrize("N", [2, 3, 8])
def test_ring_all_reduce_sends_2_n_minus_1_over_n_p_values(N):
    """Appendix B, Section 4.3 and Exercise B.3 (a): each rank sends 2 (N - 1) P / N values and ends with the sum."""
    P = 24 * N
    grads = [torch.randn(P) for _ in range(N)]
    result, sent = _ring_all_reduce([list(g.chunk(N)) for g in grads])
    total = torch.stack(grads).sum(0)
    for rank in result:
        assert torch.allclose(torch.cat(rank), total, atol=1e-5)
    assert sent == [2 * (N - 1) * P // N] * N


def test_appendix_b_arithmetic():
    """Appendix B: 4 GB per step for 1e9 bf16 values; 16 bytes per parameter; Exercise B.3 (b, c); Amdahl's limit."""
    assert 2 * 1e9 * 2 == 4e9
    assert 2 + 2 + 4 + 4 + 4 == 16  # bf16 weights and gradients, fp32 master weights, two fp32 moments
    megabytes = 2 * 7 / 8 * 10.7e6 * 4 / 1e6
    assert megabytes == pytest.approx(74.9, abs=0.05)
    comm_ms, compute_ms = megabytes / 10e3 * 1e3, 50 / 8
    assert comm_ms == pytest.approx(7.5, abs=0.01)
    assert comm_ms / (comm_ms + compute_ms) == pytest.approx(0.55, abs=0.005)
    assert 50 / (comm_ms + compute_ms) == pytest.approx(3.6, abs=0.05)
    assert 1 / ((1 - 0.97) + 0.97 / 1e12) == pytest.approx(1 / 0.03)


def test_fp16_rounds_below_half_its_smallest_subnormal_to_zero():
    """Appendix B's summary and Chapter 10, Section 3: fp16's smallest subnormal is 2^-24; below 2^-25 is zero."""
    tiny = torch.finfo(torch.float16).tiny * torch.finfo(torch.float16).eps
    assert tiny == 2.0**-24
    assert torch.tensor(2.0**-25, dtype=torch.float32).half().item() == 0  # a tie, rounded to even (zero)
    assert torch.tensor(1.01 * 2.0**-25).half().item() == 2.0**-24
    assert torch.tensor(0.99 * 2.0**-25).half().item() == 0


def test_temperature_example_of_exercise_10_1():
    """Exercise 10.1: p = (0.5, 0.3, 0.2) at T = 0.5 becomes p^2 / sum p^2."""
    p = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    q = torch.softmax(torch.log(p) / 0.5, 0)
    assert torch.allclose(q, torch.tensor([0.25, 0.09, 0.04], dtype=torch.float64) / 0.38)
    assert F.cross_entropy(torch.log(p)[None], torch.tensor([1])).item() == pytest.approx(-math.log(0.3))
