"""The checks of chapter 08's exercises accept correct solutions and name each common mistake."""

import math

import pytest
import torch

from assignments.wrong_answers import ch08 as wrong
from genai_checks import (
    CheckError,
    check_conversion_any_shape,
    check_nats_to_bpc_and_perplexity,
    check_sample_bigram,
    check_smoothed_bigram_nll,
)

# ----- Exercise 8.1 ----------------------------------------------------------------------------------------


def test_conversion_accepts_correct_solutions(capsys):
    check_nats_to_bpc_and_perplexity(lambda h: (h / math.log(2), torch.exp(h)))
    check_nats_to_bpc_and_perplexity(lambda h: (h / math.log(2), 2 ** (h / math.log(2))))  # 2 ** bits
    check_nats_to_bpc_and_perplexity(lambda h: (h * math.log2(math.e), math.e**h))
    check_nats_to_bpc_and_perplexity(lambda h: [(h / math.log(2)).float(), torch.exp(h).float()])  # float32 is fine
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda h: None, "write your solution"),
        (lambda h: ..., "write your solution"),
        (lambda h: (None, torch.exp(h)), "write your solution"),
        (lambda h: h / math.log(2), "should return a pair"),
        (lambda h: (torch.exp(h), h / math.log(2)), r"returned \(perplexity, bpc\)"),
        (lambda h: (h * math.log(2), torch.exp(h)), "multiplied by ln 2"),
        (lambda h: (h, torch.exp(h)), "equal the nats"),
        (lambda h: (h / math.log(10), torch.exp(h)), "ln 10"),
        (lambda h: (torch.log2(h), torch.exp(h)), "took log2 of the loss"),
        (lambda h: (h / math.log(2), 2**h), r"2 \*\* nats"),
        (lambda h: (h / math.log(2), torch.exp(h / math.log(2))), r"e \*\* bits"),
        (lambda h: (h / math.log(2), torch.exp(-h)), "inverse"),
        (lambda h: (h / math.log(2), 10**h), r"10 \*\* nats"),
        (lambda h: (h / math.log(2), h), "perplexity equals the loss"),
        (lambda h: (h / math.log(2), torch.exp(h) + 1), r"expected 2\b"),
        (lambda h: (h / math.log(2), math.exp(h)), "use torch.exp"),
        (lambda h: ((h / math.log(2)).mean(), torch.exp(h)), "without summing or averaging"),
    ],
)
def test_conversion_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_nats_to_bpc_and_perplexity(wrong)


def test_conversion_hidden_check_takes_losses_of_any_shape(capsys):
    check_conversion_any_shape(lambda h: (h / math.log(2), torch.exp(h)))
    check_conversion_any_shape(lambda h: (h * math.log2(math.e), 2 ** (h / math.log(2))))
    check_conversion_any_shape(lambda h: ((h / math.log(2)).float(), torch.exp(h).float()))  # float32 is fine
    assert capsys.readouterr().out.count("Correct") == 3
    with pytest.raises(CheckError, match=r"raised ValueError on the per-character losses.*one number at a time"):
        check_conversion_any_shape(wrong.convert)


# ----- Exercise 8.2 ----------------------------------------------------------------------------------------


def good_nll(counts, tokens, alpha):
    V = counts.shape[0]
    P = (counts + alpha) / (counts.sum(dim=1, keepdim=True) + V * alpha)
    return -torch.log(P[tokens[:-1], tokens[1:]]).mean()


def loop_nll(counts, tokens, alpha):  # a slow but correct version with Python loops and floats
    V = len(counts)
    total = 0.0
    for a, b in zip(tokens[:-1].tolist(), tokens[1:].tolist(), strict=True):
        total -= math.log((counts[a, b].item() + alpha) / (counts[a].sum().item() + V * alpha))
    return total / (len(tokens) - 1)


def test_smoothed_nll_accepts_correct_solutions(capsys):
    check_smoothed_bigram_nll(good_nll)
    check_smoothed_bigram_nll(loop_nll)
    check_smoothed_bigram_nll(
        lambda c, t, a: torch.nn.functional.cross_entropy(torch.log(c + a)[t[:-1]], t[1:])
    )  # softmax of log(N + alpha) normalises the row: also right
    assert "Correct" in capsys.readouterr().out


def _with(P_fn, pairs=lambda t: (t[:-1], t[1:]), reduce=lambda v, t: v.mean()):
    def nll(counts, tokens, alpha):
        a, b = pairs(tokens)
        return reduce(-torch.log(P_fn(counts, alpha)[a, b]), tokens)

    return nll


def _row(c, a):
    return (c + a) / (c.sum(1, keepdim=True) + c.shape[0] * a)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda c, t, a: None, "write your solution"),
        (lambda c, t, a: ..., "write your solution"),
        (_with(lambda c, a: (c + a) / c.sum(1, keepdim=True)), r"do not sum to 1.*V \* alpha"),
        (_with(lambda c, a: (c + a) / (c.sum(1, keepdim=True) + a)), "not a single alpha"),
        (_with(lambda c, a: c / (c.sum(1, keepdim=True) + c.shape[0] * a)), "forgot alpha in the numerator"),
        (_with(lambda c, a: (c + a) / (c.sum(0, keepdim=True) + c.shape[0] * a)), "wrong axis"),
        (_with(lambda c, a: (c + a) / (c.sum() + c.numel() * a)), "joint"),
        (_with(_row, pairs=lambda t: (t[1:], t[:-1])), r"P\[next, current\]"),
        (_with(_row, pairs=lambda t: (t[1:-1], t[2:])), "skipped the first pair"),
        (_with(_row, pairs=lambda t: (t, t.roll(-1))), "wrap around"),
        (_with(_row, pairs=lambda t: (t, t)), "with itself"),
        (_with(_row, reduce=lambda v, t: v.sum() / len(t)), "divided by the number of tokens"),
        (_with(_row, reduce=lambda v, t: v.sum()), "the sum over the pairs"),
        (lambda c, t, a: good_nll(c, t, a) / math.log(2), "in bits"),
        (lambda c, t, a: -good_nll(c, t, a), "minus sign"),
        (_with(_row, reduce=lambda v, t: v), "one number"),
        (lambda c, t, a: good_nll(c, t, a) + 0.01, "expected"),
    ],
)
def test_smoothed_nll_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_smoothed_bigram_nll(wrong)


# ----- Exercise 8.3 ----------------------------------------------------------------------------------------


def good_sample(P, start, n, generator):
    out, prev = [], start
    for _ in range(n):
        prev = torch.multinomial(P[prev], 1, generator=generator).item()
        out.append(prev)
    return torch.tensor(out)


def test_sample_bigram_accepts_correct_solutions(capsys):
    check_sample_bigram(good_sample)

    def inverse_cdf(P, start, n, generator):  # another correct way: invert the cumulative distribution
        u, out, prev = torch.rand(n, generator=generator, dtype=P.dtype), [], start
        for t in range(n):
            prev = min(int(torch.searchsorted(P[prev].cumsum(0), u[t])), len(P) - 1)
            out.append(prev)
        return out  # a list is accepted

    check_sample_bigram(inverse_cdf)
    assert "Correct" in capsys.readouterr().out


def with_start(P, start, n, generator):
    return torch.cat([torch.tensor([start]), good_sample(P, start, n, generator)])


def columns(P, start, n, generator):
    out, prev = [], start
    for _ in range(n):
        prev = torch.multinomial(P[:, prev], 1, generator=generator).item()
        out.append(prev)
    return torch.tensor(out)


def never_updated(P, start, n, generator):
    return torch.multinomial(P[start], n, replacement=True, generator=generator)


def global_rng(P, start, n, generator):
    out, prev = [], start
    for _ in range(n):
        prev = torch.multinomial(P[prev], 1).item()
        out.append(prev)
    return torch.tensor(out)


def greedy(P, start, n, generator):
    out, prev = [], start
    for _ in range(n):
        prev = P[prev].argmax().item()
        out.append(prev)
    return torch.tensor(out)


def uniform(P, start, n, generator):
    return torch.randint(0, len(P), (n,), generator=generator)


def squared(P, start, n, generator):  # some other wrong distribution: P ** 2, renormalised
    return good_sample(P**2 / (P**2).sum(1, keepdim=True), start, n, generator)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda *a: None, "write your solution"),
        (lambda P, s, n, g: good_sample(P, s, n, g)[:-1], "expected 200"),
        (with_start, "the start token first"),
        (global_rng, "draw every random number from `generator`"),
        (greedy, "deterministically"),
        (columns, r"P\[:, prev\]"),
        (never_updated, "update the previous token"),
        (uniform, "uniformly distributed"),
        (squared, "transition frequencies"),
    ],
)
def test_sample_bigram_explains_mistakes(wrong, message):
    with pytest.raises(CheckError, match=message):
        check_sample_bigram(wrong)
