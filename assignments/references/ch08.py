"""Reference solutions for chapter 08's checks (nats to bits and perplexity, smoothed bigram NLL), with the
common mistakes."""

import math

import torch

from genai_checks.ch08 import conversion_losses, conversion_shape_cases, nll_cases

LN2 = math.log(2)

BPC = {  # the correct conversion of nats to bits per character, then the wrong ones
    "": lambda h: h / LN2,
    "/mistake/times_ln2": lambda h: h * LN2,
    "/mistake/nats": lambda h: h,
    "/mistake/over_ln10": lambda h: h / math.log(10),
    "/mistake/log2_of_loss": lambda h: math.log2(h),
}

PERPLEXITY = {  # the correct perplexity from nats, then the wrong ones
    "": lambda h: math.exp(h),
    "/mistake/two_to_nats": lambda h: 2**h,
    "/mistake/e_to_bits": lambda h: math.exp(h / LN2),
    "/mistake/e_to_minus_nats": lambda h: math.exp(-h),
    "/mistake/ten_to_nats": lambda h: 10**h,
    "/mistake/nats": lambda h: h,
}


def nll(counts, tokens, alpha, *, denom="row", order="ab", pairs="right", reduce="mean", log=torch.log, sign=-1.0):
    """The mean NLL of add-alpha smoothed bigrams; the keywords switch on one mistake at a time."""
    V = counts.shape[0]
    if denom == "row":
        P = (counts + alpha) / (counts.sum(1, keepdim=True) + V * alpha)
    elif denom == "row_no_Va":
        P = (counts + alpha) / counts.sum(1, keepdim=True)
    elif denom == "row_plus_a":
        P = (counts + alpha) / (counts.sum(1, keepdim=True) + alpha)
    elif denom == "col":
        P = (counts + alpha) / (counts.sum(0, keepdim=True) + V * alpha)
    elif denom == "total":
        P = (counts + alpha) / (counts.sum() + V * V * alpha)
    elif denom == "no_smoothing_num":
        P = counts / (counts.sum(1, keepdim=True) + V * alpha)
    a, b = {
        "right": (tokens[:-1], tokens[1:]),
        "skip_first": (tokens[1:-1], tokens[2:]),
        "wrap": (tokens, tokens.roll(-1)),
        "same": (tokens, tokens),
    }[pairs]
    if order == "ba":
        a, b = b, a
    values = sign * log(P[a, b])
    if reduce == "mean":
        return values.mean().item()
    if reduce == "sum":
        return values.sum().item()
    return (values.sum() / len(tokens)).item()  # divided by the number of tokens, not of pairs


NLL = {  # the correct NLL, then the wrong ones (keywords of `nll`)
    "": dict(),
    "/mistake/no_V_alpha": dict(denom="row_no_Va"),
    "/mistake/one_alpha": dict(denom="row_plus_a"),
    "/mistake/no_alpha_in_numerator": dict(denom="no_smoothing_num"),
    "/mistake/column_sums": dict(denom="col"),
    "/mistake/joint": dict(denom="total"),
    "/mistake/next_current": dict(order="ba"),
    "/mistake/skip_first": dict(pairs="skip_first"),
    "/mistake/wrap": dict(pairs="wrap"),
    "/mistake/same": dict(pairs="same"),
    "/mistake/per_token": dict(reduce="per_token"),
    "/mistake/sum": dict(reduce="sum"),
    "/mistake/bits": dict(log=torch.log2),
    "/mistake/log_likelihood": dict(sign=1.0),
}


def answers() -> dict[str, object]:
    losses = conversion_losses()
    out: dict[str, object] = {}
    out.update({"bpc" + key: [f(h) for h in losses] for key, f in BPC.items()})
    out.update({"perplexity" + key: [f(h) for h in losses] for key, f in PERPLEXITY.items()})
    shaped = [nats for _, nats in conversion_shape_cases()]
    out["bpc/hidden/shapes"] = [nats / LN2 for nats in shaped]
    out["perplexity/hidden/shapes"] = [torch.exp(nats) for nats in shaped]
    out.update(
        {"smoothed_bigram_nll" + key: [nll(c, t, a, **kw) for _, c, t, a in nll_cases()] for key, kw in NLL.items()}
    )
    return out
