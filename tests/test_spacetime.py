"""Space-time attention for clips: what each mode lets a token see, its equivalence with loops over frames and
positions, and its cost formula against counted FLOPs."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from genai_lib.nn.spacetime import SpaceTimeAttention, attention_cost


def layer(mode, C=16, seed=0):
    torch.manual_seed(seed)
    return SpaceTimeAttention(C, 4, mode=mode).eval()


def moved_by_changing(model, x, t, n):
    """(T, N) bool: which output tokens change when the token (t, n) of x changes."""
    with torch.no_grad():
        base = model(x)
        y = x.clone()
        y[0, t, n] += torch.linspace(-1, 1, x.size(-1))  # not a constant, which LayerNorm would remove
        return (model(y) - base)[0].abs().amax(-1) > 1e-6


def test_full_attention_lets_a_token_reach_every_other_and_factorised_reaches_them_in_two_steps():
    x = torch.randn(1, 4, 6, 16)
    assert moved_by_changing(layer("full"), x, 0, 0).all()
    assert moved_by_changing(layer("factorised"), x, 0, 0).all()  # space, then time: every (t, n)
    model = layer("factorised")
    with torch.no_grad():
        model.time.attn.proj.weight.zero_()
        model.time.attn.proj.bias.zero_()  # the temporal step now adds nothing: frames are on their own
    moved = moved_by_changing(model, x, 2, 3)
    assert moved[2].all() and not moved[[0, 1, 3]].any()


def test_factorised_attention_equals_a_loop_over_frames_then_positions():
    model, x = layer("factorised"), torch.randn(2, 3, 5, 16)
    with torch.no_grad():
        after_space = torch.stack(
            [x[:, t] + model.space(model.ln_space(x[:, t])) for t in range(3)], dim=1
        )  # (B, T, N, C)
        want = torch.stack(
            [after_space[:, :, n] + model.time.attn(model.time.ln(after_space[:, :, n])) for n in range(5)], dim=2
        )
        assert torch.allclose(model(x), want, atol=1e-5)


@pytest.mark.parametrize("mode", ["full", "factorised"])
def test_the_cost_formula_counts_the_multiply_adds_of_the_layer(mode):
    T, N, C = 4, 9, 16
    model = layer(mode, C)
    for attention in (model.space, model.time and model.time.attn):
        if attention is not None:
            attention.fast = False  # the written-out path: matrix products the counter sees
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.randn(1, T, N, C))
    cost = attention_cost(T, N, C, mode)
    assert counter.get_total_flops() == 2 * (cost["scores"] + cost["projections"])  # a multiply-add is 2 FLOPs


def test_factorised_scores_are_a_seventh_of_full_for_eight_frames_of_64_tokens():
    full, factorised = attention_cost(8, 64, 1, "full")["scores"], attention_cost(8, 64, 1, "factorised")["scores"]
    assert full == 2 * 512**2 and factorised == 2 * (8 * 64**2 + 64 * 8**2)
    assert 7 < full / factorised < 7.2


def test_bad_input_says_what_to_do():
    with pytest.raises(ValueError, match="Unknown mode 'divided'"):
        SpaceTimeAttention(16, 4, mode="divided")
    with pytest.raises(ValueError, match=r"\(B, T, N, C\).*\(B, T, H W, C\)"):
        layer("full")(torch.randn(1, 4, 16, 6, 6))
    with pytest.raises(ValueError, match="C = 16"):
        layer("factorised")(torch.randn(1, 4, 6, 8))
    with pytest.raises(ValueError, match="Unknown mode"):
        attention_cost(8, 64, 16, "sparse")
    with pytest.raises(ValueError, match="positive"):
        attention_cost(0, 64, 16, "full")
