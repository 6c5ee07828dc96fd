"""Checks for the exercises of chapter 08 (Next-token prediction)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from genai_checks.answers import stored
from genai_checks.core import CheckError, expect, expect_answer, passed

__all__ = [
    "check_nats_to_bpc_and_perplexity",
    "check_conversion_any_shape",
    "check_smoothed_bigram_nll",
    "check_sample_bigram",
]


def _matches(got: list[float], expected: list[float], rtol: float = 1e-6) -> bool:
    return len(got) == len(expected) and all(
        g == e or (math.isfinite(g) and math.isfinite(e) and abs(g - e) <= rtol * max(1.0, abs(e)))
        for g, e in zip(got, expected, strict=True)
    )


# ----- Exercise 8.1: nats, bits per character and perplexity -------------------------------------------------

_BPC_MISTAKES = [  # (stored answer of a wrong conversion of nats to bits per character, what it means)
    (
        "times_ln2",
        "You multiplied by ln 2; divide by it: log2(x) = ln(x) / ln 2, so bits = nats / ln 2 "
        "(about 1.4427 x nats, more bits than nats).",
    ),
    ("nats", "Your bits per character equal the nats: a loss in nats must be divided by ln 2 to be in bits."),
    ("over_ln10", "You divided by ln 10 (that gives decimal digits, 'bans'); bits need ln 2."),
    (
        "log2_of_loss",
        "You took log2 of the loss. The loss is already a logarithm (of a probability); changing its base only "
        "rescales it: bits = nats / ln 2.",
    ),
]

_PPL_MISTAKES = [  # (stored answer of a wrong perplexity from nats, what it means)
    (
        "two_to_nats",
        "You computed 2 ** nats. Perplexity is e ** nats (or, equally, 2 ** bits): the base of the "
        "exponential must match the unit of the loss.",
    ),
    (
        "e_to_bits",
        "You computed e ** bits. Perplexity is e ** nats, or equally 2 ** bits: the "
        "base of the exponential must match the unit of the loss.",
    ),
    (
        "e_to_minus_nats",
        "You computed exp(-nats): that is the geometric mean of the probabilities given to the "
        "data. Perplexity is its inverse, exp(+nats).",
    ),
    ("ten_to_nats", "You computed 10 ** nats; perplexity is e ** nats."),
    ("nats", "Your perplexity equals the loss; perplexity is exp(loss in nats)."),
]


def conversion_losses() -> list[float]:
    """Losses in nats per character, from a fair coin's ln 2 to a uniform guess among 65 characters."""
    return [math.log(2), 1.0, 1.47, 2.5, math.log(65)]


def _diagnose(values: list[float], got: list[float], key: str, mistakes, what: str, rule: str) -> None:
    """Fail on the first wrong conversion, naming the known mistake that reproduces all of `got`, if any."""
    want = stored("ch08", key)
    if _matches(got, want):
        return
    hint = next((msg for name, msg in mistakes if _matches(got, stored("ch08", f"{key}/mistake/{name}"))), rule)
    i = next(i for i, (x, w) in enumerate(zip(got, want, strict=True)) if not _matches([x], [w]))
    raise CheckError(f"For a loss of {values[i]:.4g} nats your {what} {got[i]:.6g}, expected {want[i]:.6g}. {hint}")


def check_nats_to_bpc_and_perplexity(convert: Callable) -> None:
    """Exercise 8.1: convert losses in nats per character (a tensor) to (bits per character, perplexity)."""
    values = conversion_losses()
    losses = torch.tensor(values, dtype=torch.float64)
    try:
        result = convert(losses.clone())
    except (TypeError, ValueError, RuntimeError) as err:
        raise CheckError(
            f"convert(a tensor of losses) raised {type(err).__name__}: {err}. The argument is a tensor: "
            "use torch.exp and tensor arithmetic (math.exp and math.log take single numbers)."
        ) from err
    expect_answer(result, "convert", "a pair (bits per character, perplexity)")
    expect(
        isinstance(result, (tuple, list)) and len(result) == 2,
        f"convert should return a pair (bpc, perplexity), got {type(result).__name__}.",
    )
    expect_answer(result[0], "convert's bpc", "the bits per character")
    expect_answer(result[1], "convert's perplexity", "the perplexity")
    b, p = (torch.as_tensor(r, dtype=torch.float64) for r in result)
    for name, t in (("bpc", b), ("perplexity", p)):
        expect(
            t.shape == losses.shape,
            f"convert's {name} has shape {tuple(t.shape)} for losses of shape "
            f"{tuple(losses.shape)}: convert each loss, without summing or averaging.",
        )
    bpc, ppl = b.tolist(), p.tolist()
    if _matches(bpc, stored("ch08", "perplexity")) and _matches(ppl, stored("ch08", "bpc")):
        raise CheckError("You returned (perplexity, bpc): the order is (bits per character, perplexity).")
    _diagnose(values, bpc, "bpc", _BPC_MISTAKES, "bits per character are", "bits per character = nats / ln 2.")
    _diagnose(values, ppl, "perplexity", _PPL_MISTAKES, "perplexity is", "perplexity = exp(nats) = 2 ** bits.")
    passed(
        "bits per character = nats / ln 2 and perplexity = exp(nats) = 2 ** bits; a uniform guess among 65 "
        "characters has perplexity 65."
    )


def conversion_shape_cases() -> list[tuple[str, torch.Tensor]]:
    """Losses in nats that are not a 1-D tensor: per-character losses of a batch (B, T), and one mean loss (0-d)."""
    return [
        (
            "the per-character losses of a batch, shape (2, 3)",
            torch.tensor([[0.5, 1.0, 1.47], [2.0, 2.5, 4.0]], dtype=torch.float64),
        ),
        ("a single mean loss, a 0-d tensor such as F.cross_entropy returns", torch.tensor(1.47, dtype=torch.float64)),
    ]


def check_conversion_any_shape(convert: Callable) -> None:
    """Exercise 8.1, hidden: losses of other shapes than 1-D, converted element by element to the same shape."""
    want_bpc, want_ppl = stored("ch08", "bpc/hidden/shapes"), stored("ch08", "perplexity/hidden/shapes")
    for (what, nats), bpc, ppl in zip(conversion_shape_cases(), want_bpc, want_ppl, strict=True):
        try:
            result = convert(nats.clone())
        except (TypeError, ValueError, RuntimeError, IndexError) as err:
            raise CheckError(
                f"convert raised {type(err).__name__} on {what}: {err}. The losses may be a tensor of any "
                "shape: do not loop over its entries with math.exp or math.log, which take one number at a "
                "time; torch.exp and tensor arithmetic work element by element on any shape."
            ) from err
        expect_answer(result, "convert", "a pair (bits per character, perplexity)")
        expect(
            isinstance(result, (tuple, list)) and len(result) == 2,
            f"convert should return a pair (bpc, perplexity), got {type(result).__name__}.",
        )
        for name, got, want in (("bits per character", result[0], bpc), ("perplexity", result[1], ppl)):
            expect_answer(got, f"convert's {name}", f"the {name}")
            got = torch.as_tensor(got, dtype=torch.float64)
            expect(
                got.shape == nats.shape,
                f"On {what}, convert's {name} has shape {tuple(got.shape)}, expected {tuple(nats.shape)}: "
                "convert each loss, keeping the shape of the input, without flattening, summing or averaging.",
            )
            expect(
                _matches(got.flatten().tolist(), want.flatten().tolist()),
                f"On {what}, convert's {name} is {got.tolist()}, expected {want.tolist()}: convert every "
                "entry, bits = nats / ln 2 and perplexity = exp(nats).",
            )
    passed("convert works element by element on losses of any shape: a batch (B, T), or a single 0-d loss.")


# ----- Exercise 8.2: the NLL of an add-alpha smoothed bigram model ---------------------------------------------


def nll_cases() -> list[tuple[str, torch.Tensor, torch.Tensor, float]]:
    """Bigram counts, a text and a smoothing alpha: (what they are, counts, tokens, alpha)."""
    counts = torch.tensor([[0, 5, 2, 1], [3, 0, 7, 0], [1, 1, 0, 9], [6, 2, 2, 4]], dtype=torch.float64)
    tokens = torch.tensor([0, 1, 2, 3, 3, 0, 2, 1, 0, 3, 1, 3, 2])
    g = torch.Generator().manual_seed(0)
    big = torch.randint(0, 30, (6, 6), generator=g).double()
    big = big * torch.rand(6, 6, generator=g, dtype=torch.float64).gt(0.3)  # some zero counts
    big_tokens = torch.randint(0, 6, (40,), generator=g)
    return [
        ("the 4 x 4 counts with alpha = 1", counts, tokens, 1.0),
        ("the 4 x 4 counts with alpha = 0.5", counts, tokens, 0.5),
        ("a 6 x 6 counts matrix with alpha = 0.1", big, big_tokens, 0.1),
        ("a 6 x 6 counts matrix with alpha = 3", big, big_tokens, 3.0),
    ]


_NLL_MISTAKES = [  # (stored answer of a wrong NLL, what it means)
    (
        "no_V_alpha",
        "Your probabilities do not sum to 1: you added alpha to every count in the numerator "
        "but not V * alpha to the row total in the denominator. P(b|a) = (N[a,b] + alpha) / "
        "(N[a] + V * alpha).",
    ),
    (
        "one_alpha",
        "The denominator gets alpha once per possible next character, V * alpha in all, not "
        "a single alpha: P(b|a) = (N[a,b] + alpha) / (N[a] + V * alpha).",
    ),
    ("no_alpha_in_numerator", "You added V * alpha to the denominator but forgot alpha in the numerator."),
    (
        "column_sums",
        "You normalised over the wrong axis: counts[a, b] counts a followed by b, so the "
        "distribution of the next character b is row a; divide by the row sums "
        "counts.sum(dim=1, keepdim=True), not the column sums.",
    ),
    (
        "joint",
        "You divided by the total of all counts: that is the joint p(a, b), not the conditional "
        "P(b|a). Normalise each row.",
    ),
    (
        "next_current",
        "You looked up P[next, current]: the pairs are (tokens[:-1], tokens[1:]), the current "
        "character indexing the row and the next one the column.",
    ),
    (
        "skip_first",
        "Off by one: you skipped the first pair. A text of n tokens has n - 1 pairs, (tokens[:-1], tokens[1:]).",
    ),
    (
        "wrap",
        "Off by one: your pairs wrap around (the last token followed by the first, as torch.roll "
        "does). A text of n tokens has n - 1 pairs, (tokens[:-1], tokens[1:]).",
    ),
    ("same", "You paired each token with itself; pair it with the next one: (tokens[:-1], tokens[1:])."),
    (
        "per_token",
        "Off by one: you divided by the number of tokens, n, but there are n - 1 pairs: take the mean over the pairs.",
    ),
    ("sum", "You returned the sum over the pairs; the loss is the mean over them."),
    ("bits", "Your loss is in bits (log2); the exercise asks for nats (natural log)."),
    ("log_likelihood", "Your value is negative: you returned the average log-likelihood. The NLL has a minus sign."),
]


def check_smoothed_bigram_nll(smoothed_bigram_nll: Callable) -> None:
    """Exercise 8.2: the mean NLL in nats of tokens under P(b|a) = (N[a,b] + alpha) / (N[a] + V alpha)."""
    cases = nll_cases()
    got = []
    for what, counts, tokens, alpha in cases:
        try:
            value = smoothed_bigram_nll(counts.clone(), tokens.clone(), alpha)
        except (TypeError, ValueError, RuntimeError, IndexError) as err:
            raise CheckError(f"On {what}, smoothed_bigram_nll raised {type(err).__name__}: {err}") from err
        expect_answer(value, "smoothed_bigram_nll", "the mean negative log-likelihood (a number)")
        value = torch.as_tensor(value, dtype=torch.float64)
        expect(
            value.numel() == 1,
            f"On {what}, smoothed_bigram_nll returned shape {tuple(value.shape)}: return one "
            "number, the mean over all pairs (without reducing you get one loss per pair).",
        )
        got.append(value.item())
    want = stored("ch08", "smoothed_bigram_nll")
    if not _matches(got, want):
        hint = next(
            (
                msg
                for name, msg in _NLL_MISTAKES
                if _matches(got, stored("ch08", f"smoothed_bigram_nll/mistake/{name}"))
            ),
            "P(b|a) = (N[a,b] + alpha) / (N[a] + V * alpha), averaged as -log P over the pairs "
            "(tokens[:-1], tokens[1:]).",
        )
        i = next(i for i, (g, w) in enumerate(zip(got, want, strict=True)) if not _matches([g], [w]))
        raise CheckError(f"On {cases[i][0]}, your NLL is {got[i]:.6g}, expected {want[i]:.6g}. {hint}")
    passed("smoothed_bigram_nll normalises each row with N[a] + V * alpha and averages -log P over the n - 1 pairs.")


# ----- Exercise 8.3: sampling from a bigram model ---------------------------------------------------------------

_P = torch.tensor([[0.05, 0.80, 0.15], [0.10, 0.10, 0.80], [0.70, 0.25, 0.05]], dtype=torch.float64)


def _transitions(chain: torch.Tensor, V: int) -> torch.Tensor:
    counts = torch.bincount(chain[:-1] * V + chain[1:], minlength=V * V).reshape(V, V).double()
    return counts / counts.sum(1, keepdim=True).clamp(min=1)


def check_sample_bigram(sample_bigram: Callable) -> None:
    """Exercise 8.3: n tokens drawn one at a time, each from the row P[previous token]."""

    def draw(P, start, n, seed):
        try:
            out = sample_bigram(P.clone(), start, n, torch.Generator().manual_seed(seed))
        except (TypeError, ValueError, RuntimeError, IndexError) as err:
            raise CheckError(
                f"sample_bigram(P, start={start}, n={n}, generator) raised {type(err).__name__}: {err}"
            ) from err
        expect_answer(out, "sample_bigram", "a tensor of n token ids")
        out = torch.as_tensor(out).reshape(-1).long()
        if len(out) == n + 1 and out[0] == start:
            raise CheckError(
                f"sample_bigram returned {n + 1} tokens, the start token first: return only the {n} new "
                "tokens that follow it."
            )
        expect(len(out) == n, f"sample_bigram(..., n={n}) returned {len(out)} tokens, expected {n}.")
        return out

    V = _P.shape[0]
    torch.manual_seed(1)
    a = draw(_P, 0, 200, seed=7)
    torch.manual_seed(2)
    b = draw(_P, 0, 200, seed=7)
    expect(
        torch.equal(a, b),
        "Two calls with generators seeded the same gave different tokens: draw every random "
        "number from `generator` (torch.multinomial(..., generator=generator)).",
    )
    expect(bool(((a >= 0) & (a < V)).all()), f"Your tokens {a[:10].tolist()}... are not ids in 0..{V - 1}.")
    c = draw(_P, 0, 200, seed=8)
    if torch.equal(a, c):
        raise CheckError(
            "Different seeds gave the same tokens: you chose deterministically (the argmax of a row, "
            "greedy decoding?). Draw each token at random, torch.multinomial(P[prev], 1, "
            "generator=generator)."
        )
    x = draw(_P, 0, 30_000, seed=3)
    chain = torch.cat([torch.tensor([0]), x])
    freq = _transitions(chain, V)
    if (freq - _P).abs().max() < 0.03:
        passed("sample_bigram draws each token from the row of the previous one, reproducibly from the generator.")
        return
    columns = _P.T / _P.T.sum(1, keepdim=True)
    if (freq - columns).abs().max() < 0.03:
        raise CheckError(
            "Your transitions follow the columns of P: you drew from P[:, prev]. Row a of P is the "
            "distribution of the token after a: draw from P[prev]."
        )
    if (freq - _P[0]).abs().max() < 0.03:
        raise CheckError(
            "Every token is drawn from the row of the start token, P[start]: update the previous token "
            "after each draw, so that the next one comes from P[the token just drawn]."
        )
    if (freq - 1 / V).abs().max() < 0.03:
        raise CheckError("Your tokens are uniformly distributed: draw from the probabilities in P[prev].")
    raise CheckError(
        f"The transition frequencies of your samples are {freq.numpy().round(2).tolist()}, expected "
        f"close to P = {_P.numpy().round(2).tolist()}: draw token t+1 from the row P[token t]."
    )
