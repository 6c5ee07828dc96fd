"""Exercise 14.4: per-token guidance on two binary tokens against the sequence-level tilted distribution.

The numbers of the exercise's solution are checked here, and the identities it asks for: the last factor
is exact, and the two distributions coincide at w = 0 and w = 1 but not in general.
"""

import pytest
import torch


def tilted(p: torch.Tensor, lik: torch.Tensor, w: float) -> torch.Tensor:
    """Sequence-level q(z1, z2) ∝ p(z1, z2) p(c | z1, z2)^w, as a (2, 2) table."""
    q = p * lik**w
    return q / q.sum()


def per_token(p: torch.Tensor, lik: torch.Tensor, w: float) -> torch.Tensor:
    """q~(z1) q~(z2 | z1), each factor the softmax of the guided logits l_∅ + w (l_c − l_∅) (eq-ar-cfg)."""
    joint_c = p * lik  # p(z1, z2, c)
    p1, p1_c = p.sum(1), joint_c.sum(1) / joint_c.sum()  # p(z1), p(z1 | c): (2,)
    p2, p2_c = p / p.sum(1, keepdim=True), joint_c / joint_c.sum(1, keepdim=True)  # p(z2 | z1), p(z2 | c, z1)

    def guided(uncond, cond):
        return (uncond.log() + w * (cond.log() - uncond.log())).softmax(-1)

    return guided(p1, p1_c)[:, None] * guided(p2, p2_c)  # (2, 2)


# The example of the solution: p uniform, p(c | z) = 0.9, 0.1 after z1 = 0 and 0.5, 0.5 after z1 = 1.
P = torch.full((2, 2), 0.25, dtype=torch.float64)
LIK = torch.tensor([[0.9, 0.1], [0.5, 0.5]], dtype=torch.float64)


def test_solution_example_at_w_2():
    q, q_tilde = tilted(P, LIK, 2.0), per_token(P, LIK, 2.0)
    assert torch.allclose(q.sum(1), torch.tensor([0.621, 0.379], dtype=torch.float64), atol=5e-4)
    assert torch.allclose(q_tilde.sum(1), torch.tensor([0.5, 0.5], dtype=torch.float64), atol=1e-12)
    assert torch.allclose(q.flatten(), torch.tensor([0.614, 0.008, 0.189, 0.189], dtype=torch.float64), atol=5e-4)
    assert torch.allclose(q_tilde.flatten(), torch.tensor([0.494, 0.006, 0.25, 0.25], dtype=torch.float64), atol=5e-4)


@pytest.mark.parametrize("seed", range(5))
def test_last_factor_exact_and_agreement_only_at_0_and_1(seed):
    g = torch.Generator().manual_seed(seed)
    p = torch.rand(2, 2, generator=g, dtype=torch.float64) + 0.1
    p = p / p.sum()
    lik = torch.rand(2, 2, generator=g, dtype=torch.float64) * 0.8 + 0.1  # p(c | z), depends on z2
    for w in (0.0, 0.5, 1.0, 2.0, 5.0):
        q, q_tilde = tilted(p, lik, w), per_token(p, lik, w)
        # (a) the conditional of the second token is exact at every w
        assert torch.allclose(q / q.sum(1, keepdim=True), q_tilde / q_tilde.sum(1, keepdim=True), atol=1e-12)
        # (b) q~(z1) ∝ p(z1) p(c | z1)^w, and q(z1) ∝ p(z1) E[p(c | z1, z2)^w]
        p1, p2 = p.sum(1), p / p.sum(1, keepdim=True)
        want_tilde = p1 * (p2 * lik).sum(1) ** w
        want = p1 * (p2 * lik**w).sum(1)
        assert torch.allclose(q_tilde.sum(1), want_tilde / want_tilde.sum(), atol=1e-12)
        assert torch.allclose(q.sum(1), want / want.sum(), atol=1e-12)
        # (c) the same distribution at w = 0 (p) and w = 1 (p(z | c)), different otherwise
        if w in (0.0, 1.0):
            assert torch.allclose(q, q_tilde, atol=1e-12)
            assert torch.allclose(q, p * lik**w / (p * lik**w).sum(), atol=1e-12)
        else:
            assert (q - q_tilde).abs().max() > 1e-4
