"""Checks for the exercises of chapter 07 (Discrete latents: VQ-VAE)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from genai_checks.answers import stored
from genai_checks.core import CheckError, expect, expect_answer, expect_close, passed

__all__ = [
    "check_nearest_code",
    "check_straight_through",
    "check_codebook_perplexity",
    "check_codebook_perplexity_any_shape",
]


# ----- Exercise 7.1: nearest-code quantisation ------------------------------------------------------------


def quantisation_case() -> tuple[torch.Tensor, torch.Tensor]:
    """Points and a codebook whose codes have very different norms, so that shortcuts give other answers."""
    g = torch.Generator().manual_seed(7)
    K, D, N = 12, 3, 40
    direction = torch.nn.functional.normalize(torch.randn(K, D, generator=g, dtype=torch.float64), dim=1)
    codebook = direction * torch.linspace(0.3, 4.0, K, dtype=torch.float64)[:, None]  # (K, D), norms 0.3 .. 4
    z = torch.randn(N, D, generator=g, dtype=torch.float64)  # (N, D)
    return z, codebook


_NEAREST_MISTAKES = [  # (stored answer of a wrong formula, what it means)
    ("farthest", "You picked the FARTHEST code: use argmin of the distances, not argmax."),
    (
        "largest_dot",
        "You picked the code with the largest dot product z.e_k, which is what "
        "argmin(||z||^2 - 2 z.e_k) gives: you forgot the ||e_k||^2 term. It does not depend on z "
        "but it differs between codes, so it changes which code is nearest.",
    ),
    ("plus_cross_term", "You picked the code nearest to -z: the cross term is -2 z.e_k, with a minus sign."),
    ("cross_term_without_2", "The cross term needs its factor 2: ||z - e||^2 = ||z||^2 - 2 z.e + ||e||^2."),
    ("norm_not_squared", "You added the norm ||e_k|| where the SQUARED norm ||e_k||^2 belongs."),
    (
        "smallest_dot",
        "You picked the smallest dot product z.e_k: distances need all three terms, "
        "||z||^2 - 2 z.e_k + ||e_k||^2, and their argmin.",
    ),
]


def check_nearest_code(nearest_code: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """Exercise 7.1: index of the nearest code for each row of z, via ||z||^2 - 2 z.e + ||e||^2."""
    z, codebook = quantisation_case()
    N, K = len(z), len(codebook)
    try:
        got = nearest_code(z.clone(), codebook.clone())
    except (TypeError, ValueError, RuntimeError, IndexError) as err:
        raise CheckError(
            f"nearest_code(z of shape {tuple(z.shape)}, codebook of shape {tuple(codebook.shape)}) raised "
            f"{type(err).__name__}: {err}. z @ codebook.T has shape (N, K)."
        ) from err
    expect_answer(got, "nearest_code", "a tensor of code indices, one per row of z")
    expect(isinstance(got, torch.Tensor), f"nearest_code should return a tensor, got {type(got).__name__}.")
    if got.shape == (K,):
        raise CheckError(
            f"nearest_code returned {K} indices, one per code, but z has {N} rows: you took the argmin "
            "over the points (dim=0). Take it over the codes, dim=1 of the (N, K) distance matrix."
        )
    if got.shape == (N, codebook.shape[1]):
        raise CheckError(
            "nearest_code returned vectors of shape (N, D): return the indices of the codes "
            "(argmin), not the codes themselves."
        )
    expect(got.shape == (N,), f"nearest_code returned shape {tuple(got.shape)}, expected ({N},): one index per row.")
    expect(
        not got.is_floating_point(),
        f"nearest_code returned {got.dtype} values: return integer indices (argmin gives torch.int64), not distances.",
    )
    got = got.long()
    expected = stored("ch07", "nearest_code")
    if torch.equal(got, expected):
        passed(
            "nearest_code picks the code at the smallest squared distance for every point, as a brute-force loop does."
        )
        return
    for key, message in _NEAREST_MISTAKES:
        if torch.equal(got, stored("ch07", f"nearest_code/mistake/{key}")):
            raise CheckError(message)
    bad = (got != expected).nonzero().flatten()
    i = int(bad[0])
    mine, nearest = int(got[i]), int(expected[i])
    d2_mine, d2_nearest = ((z[i] - codebook[c]).square().sum().item() for c in (mine, nearest))  # ||z_i - e_c||^2
    raise CheckError(
        f"For {len(bad)} of {N} points you chose another code than the nearest; e.g. point {i}: you chose "
        f"code {mine} at squared distance {d2_mine:.4f}, but code {nearest} is at {d2_nearest:.4f}."
    )


# ----- Exercise 7.2: the straight-through estimator -------------------------------------------------------


def check_straight_through(straight_through: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """Exercise 7.2: z_e + sg(z_q - z_e): the value of z_q forwards, the gradient copied to z_e backwards."""
    g = torch.Generator().manual_seed(3)
    z_e = torch.randn(2, 4, 3, 3, generator=g, dtype=torch.float64).requires_grad_()
    codes = torch.randn(2, 4, 3, 3, generator=g, dtype=torch.float64).requires_grad_()  # as if from a learnt codebook
    upstream = torch.randn(2, 4, 3, 3, generator=g, dtype=torch.float64)  # dL/dz_q from the decoder
    out = straight_through(z_e, codes)
    expect_answer(out, "straight_through", "z_q with straight-through gradients")
    expect(isinstance(out, torch.Tensor), f"straight_through should return a tensor, got {type(out).__name__}.")
    expect(out.shape == z_e.shape, f"straight_through returned shape {tuple(out.shape)}, expected {tuple(z_e.shape)}.")
    value = out.detach()
    if torch.allclose(value, z_e.detach()) and not torch.allclose(value, codes.detach()):
        raise CheckError(
            "The forward value is z_e, the encoder output: the decoder must see the quantised z_q. "
            "Put the stop-gradient around the difference (z_q - z_e) and add it to z_e; "
            "z_q + sg(z_e - z_q) has the value of z_e."
        )
    expect_close(
        value,
        codes.detach(),
        what="the forward value of straight_through(z_e, z_q)",
        rtol=1e-10,
        atol=1e-12,
        hint="Forwards, z_e + (z_q - z_e) must equal z_q.",
    )
    if not out.requires_grad:
        raise CheckError(
            "The result carries no gradient at all: you detached everything. Only the difference "
            "(z_q - z_e) goes inside .detach(); the z_e outside it is what carries the gradient."
        )
    (out * upstream).sum().backward()
    if z_e.grad is None:
        raise CheckError(
            "No gradient reaches z_e: you returned z_q itself (or something computed from z_q only). "
            "The quantiser's argmin has no useful gradient, so write z_e + (z_q - z_e).detach(), whose "
            "gradient with respect to z_e is the identity."
        )
    if torch.allclose(z_e.grad, -upstream):
        raise CheckError(
            "The gradient reaching z_e is the NEGATIVE of dL/dz_q: you detached z_e instead of the "
            "difference (z_e.detach() + (z_q - z_e)). Write z_e + (z_q - z_e).detach()."
        )
    if torch.allclose(z_e.grad, torch.zeros_like(z_e.grad)):
        raise CheckError(
            "The gradient reaching z_e is zero: z_e + (z_q - z_e) without .detach() cancels z_e out of "
            "the graph. Stop the gradient of the difference: z_e + (z_q - z_e).detach()."
        )
    expect_close(
        z_e.grad,
        upstream,
        what="the gradient reaching z_e",
        rtol=1e-10,
        atol=1e-12,
        hint="Backwards, the gradient at z_q should be copied unchanged to z_e.",
    )
    if codes.grad is not None and codes.grad.abs().max() > 0:
        raise CheckError(
            "Gradient also flows into z_q (the codebook) through your result: the reconstruction loss "
            "must not move the codes. Keep all of z_q inside the .detach()."
        )
    passed("straight_through has the value of z_q and hands dL/dz_q to z_e unchanged, and none to the codebook.")


# ----- Exercise 7.3: codebook perplexity ------------------------------------------------------------------


def perplexity_cases() -> list[tuple[str, torch.Tensor, int]]:
    """Grids of code indices with known usage: (what they are, indices, codebook size K)."""
    g = torch.Generator().manual_seed(5)
    K = 16
    skewed = torch.multinomial(torch.tensor([8.0, 4, 2, 1, 1] + [0.0] * 11), 4 * 7 * 7, replacement=True, generator=g)
    return [
        ("a batch that uses every one of the K = 16 codes equally often", torch.arange(K).repeat(8).view(2, 8, 8), K),
        ("a batch that uses only code 3", torch.full((2, 7, 7), 3), K),
        ("a batch that uses 5 of the 16 codes with frequencies about 8:4:2:1:1", skewed.view(4, 7, 7), K),
    ]


_PERPLEXITY_MISTAKES = [  # (stored answer of a wrong formula, what it means)
    ("entropy_nats", "You returned the entropy H (in nats); the perplexity is exp(H)."),
    ("entropy_bits", "You returned the entropy H in bits; the perplexity is 2**H_bits = exp(H_nats)."),
    (
        "exp_of_bits",
        "You took the entropy in bits (log2) and exponentiated with exp: the base of the exponential must "
        "match the base of the logarithm (2**H_bits or exp(H_nats)).",
    ),
    (
        "two_to_nats",
        "You took the entropy in nats (natural log) and exponentiated with 2**: the base of the "
        "exponential must match the base of the logarithm (exp(H_nats) or 2**H_bits).",
    ),
    ("raw_counts", "You used the raw counts as probabilities: normalise them first, usage = counts / counts.sum()."),
    (
        "counts_over_K",
        "You divided the counts by K, the codebook size: the usage is counts / (number of tokens), which sums to 1.",
    ),
    ("mean_over_codes", "You averaged -p log p over the codes; the entropy is the SUM over codes."),
    ("wrong_sign", "Wrong sign: the entropy is H = -sum_k p_k log p_k (positive), and the perplexity exp(H) >= 1."),
]


def check_codebook_perplexity(codebook_perplexity: Callable[[torch.Tensor, int], object]) -> None:
    """Exercise 7.3: exp(H(usage)) from a grid of code indices, with usage the normalised counts."""
    for case, (what, idx, K) in enumerate(perplexity_cases()):
        try:
            got = codebook_perplexity(idx.clone(), K)
        except (TypeError, ValueError, RuntimeError, IndexError) as err:
            raise CheckError(
                f"codebook_perplexity on {what} (indices of shape {tuple(idx.shape)}) raised "
                f"{type(err).__name__}: {err}. Flatten the grid first: torch.bincount(indices.flatten(), "
                "minlength=K)."
            ) from err
        expect_answer(got, "codebook_perplexity", "the perplexity, a number")
        got = torch.as_tensor(got, dtype=torch.float64)
        expect(
            got.numel() == 1,
            f"codebook_perplexity returned {got.numel()} numbers on {what}; return one number "
            "(sum the entropy over the codes).",
        )
        got = got.reshape(())
        expected = stored("ch07", "codebook_perplexity")[case]
        if torch.isnan(got):
            raise CheckError(
                f"codebook_perplexity is NaN on {what}: unused codes give 0 * log 0 = 0 * (-inf) = NaN. "
                "Leave out the codes with zero count (or use torch.xlogy(p, p))."
            )
        if abs(got.item() - expected) <= 1e-6 * expected:
            continue
        for key, message in _PERPLEXITY_MISTAKES:
            wrong = stored("ch07", f"codebook_perplexity/mistake/{key}")[case]
            if abs(got.item() - wrong) <= 1e-6 * max(1.0, abs(wrong)):
                raise CheckError(f"On {what}: {message}")
        expect_close(
            got,
            torch.tensor(expected, dtype=torch.float64),
            what=f"the perplexity of {what}",
            rtol=1e-6,
            hint="perplexity = exp(-sum_k p_k log p_k), p_k = count_k / (number of tokens).",
        )
    passed("codebook_perplexity is K for uniform use of K codes, 1 for a single code, and exact on skewed use.")


def perplexity_shape_cases() -> list[tuple[str, torch.Tensor, int]]:
    """Token ids that are not a (B, h, w) batch: one grid (h, w) and one flat sequence, with codebook size K = 16."""
    g = torch.Generator().manual_seed(77)
    usage = torch.tensor([5.0, 3, 3, 2, 1, 1, 1] + [0.0] * 9)  # 7 of the 16 codes in use
    grid = torch.multinomial(usage, 6 * 6, replacement=True, generator=g).view(6, 6)
    sequence = torch.multinomial(usage, 50, replacement=True, generator=g)
    return [("the token grid of one image, shape (6, 6)", grid, 16), ("a flat sequence of 50 token ids", sequence, 16)]


def check_codebook_perplexity_any_shape(codebook_perplexity: Callable[[torch.Tensor, int], object]) -> None:
    """Exercise 7.3, hidden: token ids of other shapes than (B, h, w), a single grid and a 1-D sequence."""
    for case, (what, idx, K) in enumerate(perplexity_shape_cases()):
        try:
            got = codebook_perplexity(idx.clone(), K)
        except (TypeError, ValueError, RuntimeError, IndexError) as err:
            raise CheckError(
                f"codebook_perplexity on {what} raised {type(err).__name__}: {err}. The token ids may have any "
                "shape, not only (B, h, w): count them over all axes, torch.bincount(indices.flatten(), "
                "minlength=K), and divide by indices.numel()."
            ) from err
        expect_answer(got, "codebook_perplexity", "the perplexity, a number")
        got = torch.as_tensor(got, dtype=torch.float64)
        expect(got.numel() == 1, f"codebook_perplexity returned {got.numel()} numbers on {what}; return one number.")
        expected = stored("ch07", "codebook_perplexity/hidden/shapes")[case]
        expect(
            abs(got.item() - expected) <= 1e-6 * expected,
            f"On {what}, your perplexity is {got.item():.6g}, expected {expected:.6g}. The token ids may have any "
            "shape, not only (B, h, w): did you count or average over fixed axes, such as (0, 1, 2)? Count "
            "every id of the tensor, torch.bincount(indices.flatten(), minlength=K) / indices.numel().",
        )
    passed("codebook_perplexity counts the code ids of a tensor of any shape: one grid, or a flat sequence.")
