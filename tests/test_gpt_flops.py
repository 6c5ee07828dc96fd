"""The FLOPs of a GPT training step: 6N per token for the weights, plus 12 L T C for attention (PaLM app. B).

PyTorch's FlopCounterMode counts the matrix products of one forward and backward pass. With the attention
computed in full (the MATH backend multiplies the whole T x T square and masks afterwards) the count is
exactly 6 N_mm + 12 L T C per token, N_mm being the weights that enter matrix products; Kaplan et al.'s
6 L T C counts only the causal half. estimate_flops_per_token uses N without the position table, which also
holds the LayerNorm gains and the biases (no matrix products), so it is a little above the count.
"""

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from genai_lib.models.gpt import GPT, GPTConfig


@pytest.mark.parametrize("L, C, H, T, V", [(2, 64, 4, 32, 50), (3, 96, 4, 64, 65)])
def test_counted_flops_are_6n_plus_12ltc_per_token(L, C, H, T, V):
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=V, block_size=T, n_layer=L, n_head=H, n_embd=C))
    idx = torch.randint(0, V, (2, T))
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        _, loss = model(idx, idx)
        loss.backward()
    counted = counter.get_total_flops() / idx.numel()  # per token
    n_matmul = sum(p.numel() for name, p in model.named_parameters() if p.dim() == 2 and "pos" not in name)
    assert counted == 6 * n_matmul + 12 * L * T * C
    assert model.estimate_flops_per_token() == pytest.approx(counted, rel=0.03)
    assert model.estimate_flops_per_token() > counted  # the gains and biases are counted as weights
