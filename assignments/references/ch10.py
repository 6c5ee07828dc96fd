"""Reference solutions for chapter 10's checks (temperature, top-p, loss per character), with the common
mistakes."""

import math

import torch

from genai_checks.ch10 import LARGE_LOGITS, loss_per_char_cases, temperature_cases, temperature_rows_case, top_p_cases


def temperature_answers() -> dict[str, object]:
    """softmax(z / T) over the last dimension on each case, and what the wrong versions give."""
    z_T = [(logits.double(), T) for logits, T in temperature_cases()]
    rows, T_rows = temperature_rows_case()
    return {
        "apply_temperature": [torch.softmax(z / T, dim=-1) for z, T in z_T],
        "apply_temperature/mistake/times_T": [torch.softmax(z * T, dim=-1) for z, T in z_T],
        "apply_temperature/mistake/scaled_logits": [z / T for z, T in z_T],
        "apply_temperature/mistake/probabilities_over_T": [torch.softmax(z, dim=-1) / T for z, T in z_T],
        "apply_temperature/mistake/T_ignored": [torch.softmax(z, dim=-1) for z, T in z_T],
        "apply_temperature/mistake/softmax_over_dim0": [torch.softmax(z / T, dim=0) for z, T in z_T],
        "apply_temperature/large_logits": torch.softmax(torch.tensor(LARGE_LOGITS).double() / 0.5, dim=-1),
        "apply_temperature/hidden/rows": torch.softmax(rows.double() / T_rows, dim=-1),
    }


def nucleus(probs: torch.Tensor, p: float) -> torch.Tensor:
    """Top-p filtering (Holtzman et al. 2020): the smallest top set of mass >= p, renormalised."""
    sorted_probs, order = probs.sort(descending=True)
    keep_sorted = (sorted_probs.cumsum(0) - sorted_probs) < p
    keep = torch.zeros_like(keep_sorted).scatter(0, order, keep_sorted)
    kept = torch.where(keep, probs, torch.zeros_like(probs))
    return kept / kept.sum()


def nucleus_mistakes(probs: torch.Tensor, p: float) -> dict[str, torch.Tensor | None]:
    """What the usual wrong nuclei give; None where a mistake keeps no token at all."""
    sorted_probs, order = probs.sort(descending=True)
    cum = sorted_probs.cumsum(0)
    out: dict[str, torch.Tensor | None] = {}
    keep = cum < p  # stops before the token that takes the mass past p
    keep[0] = True
    k = torch.zeros_like(keep).scatter(0, order, keep)
    kept = torch.where(k, probs, torch.zeros_like(probs))
    out["crossing_token_dropped"] = kept / kept.sum()
    keep_sorted = (cum - sorted_probs) < p
    kept = torch.where(keep_sorted, probs, torch.zeros_like(probs))  # sorted mask applied in the original order
    out["sorted_mask_unsorted_tokens"] = kept / kept.sum() if kept.sum() > 0 else None
    kept = torch.where(torch.zeros_like(keep_sorted).scatter(0, order, keep_sorted), probs, torch.zeros_like(probs))
    out["not_renormalised"] = kept
    keep_tail = torch.zeros_like(keep_sorted).scatter(0, order, ~keep_sorted)
    kept = torch.where(keep_tail, probs, torch.zeros_like(probs))
    out["tail_kept"] = kept / kept.sum() if kept.sum() > 0 else None
    return out


def top_p_answers() -> dict[str, object]:
    cases = [(probs.double(), p) for probs, p, _ in top_p_cases()]
    mistakes = [nucleus_mistakes(probs, p) for probs, p in cases]
    return {
        "top_p_probs": [nucleus(probs, p) for probs, p in cases],
        **{f"top_p_probs/mistake/{key}": [m[key] for m in mistakes] for key in mistakes[0]},
    }


def per_char(losses: torch.Tensor, texts: list[str]) -> dict[str, float]:
    """Total nats / number of characters, and what the wrong normalisations give."""
    n_chars = sum(len(s) for s in texts)
    return {
        "": losses.sum().item() / n_chars,
        "/total_nats": losses.sum().item(),  # the two numbers the failure message quotes
        "/n_chars": n_chars,
        "/mistake/per_token": losses.mean().item(),
        "/mistake/bits": losses.sum().item() / n_chars / math.log(2),
        "/mistake/mean_of_ratios": sum(loss / len(s) for loss, s in zip(losses.tolist(), texts, strict=True))
        / len(texts),
        "/mistake/utf8_bytes": losses.sum().item() / sum(len(s.encode("utf-8")) for s in texts),
        "/mistake/mean_over_chars": losses.mean().item() / n_chars,
        "/mistake/sum_per_token": losses.sum().item() / len(texts),
    }


def loss_per_char_answers() -> dict[str, list[float]]:
    per_case = [per_char(losses, texts) for losses, texts, _ in loss_per_char_cases()]
    return {"loss_per_char" + key: [case[key] for case in per_case] for key in per_case[0]}


def answers() -> dict[str, object]:
    return {**temperature_answers(), **top_p_answers(), **loss_per_char_answers()}
