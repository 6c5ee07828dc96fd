"""Sampling the next token: temperature, top-k (Fan et al., 2018) and nucleus/top-p (Holtzman et al., 2020)."""

from __future__ import annotations

import math

import torch


def check_sampling_args(*, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None) -> None:
    """Raise ValueError for a temperature < 0, a top_k < 1 or a top_p outside (0, 1]."""
    if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature >= 0):
        raise ValueError(
            f"temperature must be a number >= 0 (0 means greedy: always the most likely token), got {temperature!r}."
        )
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"top_k must be an integer >= 1 (or None to keep every token), got {top_k!r}.")
    if top_p is not None and not (isinstance(top_p, (int, float)) and 0 < top_p <= 1):
        raise ValueError(f"top_p must be in (0, 1] (or None; 1 keeps every token), got {top_p!r}.")


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the k largest logits of each row (..., V) and set the rest to -inf; exactly k survive, even with ties."""
    check_sampling_args(top_k=k)
    k = min(k, logits.size(-1))
    values, indices = logits.topk(k, dim=-1)  # (..., k)
    # Scatter rather than compare with the k-th value: a comparison would keep every token tied with it.
    return torch.full_like(logits, float("-inf")).scatter(-1, indices, values)


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Nucleus filtering: keep the most likely tokens until their probability reaches p, the rest to -inf.

    The kept set is the smallest prefix of the tokens sorted by probability whose total is >= p (so the most
    likely token always survives), plus any token tied with the last one kept, so that the result does not
    depend on how a sort orders equal values.
    """
    check_sampling_args(top_p=p)
    if p == 1:
        return logits  # every token; summing probabilities in float could drop the least likely ones otherwise
    probs = torch.softmax(logits.float(), dim=-1)  # (..., V)
    sorted_probs, _ = probs.sort(dim=-1, descending=True)  # (..., V)
    mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs  # probability of the tokens ranked above
    n_keep = (mass_before < p).sum(dim=-1, keepdim=True)  # (..., 1), >= 1 since mass_before[0] = 0 < p
    threshold = sorted_probs.gather(-1, n_keep - 1)  # probability of the last token kept
    return logits.masked_fill(probs < threshold, float("-inf"))


def filtered_probs(
    logits: torch.Tensor, *, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> torch.Tensor:
    """The distribution `sample_next` draws from: softmax(logits / temperature) after top-k, then top-p."""
    check_sampling_args(temperature=temperature, top_k=top_k, top_p=top_p)
    if temperature == 0:  # the limit temperature -> 0: all the mass on the argmax
        return torch.zeros_like(logits, dtype=torch.float32).scatter(-1, logits.argmax(-1, keepdim=True), 1.0)
    logits = logits.float() / temperature
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    return torch.softmax(logits, dim=-1)


def sample_next(
    logits: torch.Tensor,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draw one token id per row of logits (B, V); returns (B, 1). temperature=0 is greedy (argmax)."""
    if logits.dim() != 2:
        raise ValueError(
            f"sample_next expects logits of shape (B, V), got {tuple(logits.shape)}; for a GPT's "
            "output (B, T, V) pass logits[:, -1, :], the prediction after the last token."
        )
    probs = filtered_probs(logits, temperature=temperature, top_k=top_k, top_p=top_p)  # (B, V)
    if temperature == 0:
        return probs.argmax(dim=-1, keepdim=True)
    if generator is not None and generator.device != probs.device:
        # Sample where the generator lives: a CPU generator then gives the same tokens on any device.
        return torch.multinomial(probs.to(generator.device), 1, generator=generator).to(logits.device)
    return torch.multinomial(probs, 1, generator=generator)  # (B, 1)
