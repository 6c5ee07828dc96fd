"""Reference solutions for chapter 14's checks."""

import torch

from genai_checks.ch14 import GUIDANCE_SCALES, IGNORE, POSITION_CASES, logits_case, masked_logits_case, sequence_case


def make_sequences(
    ids: torch.Tensor, tokens: torch.Tensor, offset: int, ignore_index: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets of the caption-then-image GPT; the caption's targets are ignored."""
    S = ids.size(1)
    seq = torch.cat([ids, tokens.flatten(1) + offset], dim=1)  # (B, S + h·w)
    targets = seq[:, 1:].clone()
    targets[:, : S - 1] = ignore_index
    return seq[:, :-1], targets


def _sequences() -> dict[str, object]:
    ids, tokens, offset = sequence_case()
    S = ids.size(1)
    x, y = make_sequences(ids, tokens, offset, IGNORE)
    seq = torch.cat([ids, tokens.flatten(1) + offset], 1)
    raw = torch.cat([ids, tokens.flatten(1)], 1)  # no offset on the image tokens
    one_too_many = y.clone()
    one_too_many[:, S - 1] = IGNORE
    one_too_few = seq[:, 1:].clone()
    one_too_few[:, : S - 2] = IGNORE
    return {
        "ar_sequences/inputs": x,
        "ar_sequences/targets": y,
        "ar_sequences/inputs/without_offset": raw[:, :-1],
        "ar_sequences/inputs/column_order": torch.cat([ids, tokens.transpose(1, 2).flatten(1) + offset], 1)[:, :-1],
        "ar_sequences/targets/unmasked": seq[:, 1:],
        "ar_sequences/targets/without_offset": raw[:, 1:].masked_fill(y == IGNORE, IGNORE),
        "ar_sequences/targets/one_too_many_ignored": one_too_many,
        "ar_sequences/targets/one_too_few_ignored": one_too_few,
    }


def _guided_logits() -> dict[str, object]:
    cond, uncond = logits_case()
    out: dict[str, object] = {}
    for w in GUIDANCE_SCALES:
        key = f"guided_logits/w={w}"
        out[f"{key}/probs"] = (uncond + w * (cond - uncond)).softmax(-1)
        out[f"{key}/swapped_probs"] = (cond + w * (uncond - cond)).softmax(-1)
        out[f"{key}/paper_probs"] = (uncond + (1 + w) * (cond - uncond)).softmax(-1)
        mix = uncond.softmax(-1) + w * (cond.softmax(-1) - uncond.softmax(-1))
        out[f"{key}/mixed_probs"] = mix
        out[f"{key}/log_mixed_probs"] = mix.clamp_min(1e-12).log()
        out[f"{key}/temperature_probs"] = (w * cond).softmax(-1)
    cond, uncond = (t.double() for t in masked_logits_case())
    for w in GUIDANCE_SCALES:
        out[f"guided_logits/hidden/masked/w={w}"] = (uncond + w * (cond - uncond)).softmax(-1)
    return out


def _positions() -> dict[str, object]:
    out: dict[str, object] = {}
    for S, n in POSITION_CASES:
        key = f"positions/S={S},n={n}"
        out[f"{key}/no_cache"] = sum(S + t for t in range(n))  # pass t reads the caption and t image tokens
        out[f"{key}/cache"] = S + n - 1  # the caption once, then one new token per pass
        out[f"{key}/no_cache/one_more_per_pass"] = sum(S + t + 1 for t in range(n))
        out[f"{key}/no_cache/without_caption"] = [sum(t for t in range(n)), sum(t + 1 for t in range(n))]
        out[f"{key}/no_cache/rectangle"] = n * (S + n - 1)
        out[f"{key}/cache/last_fed_back"] = S + n
        out[f"{key}/cache/no_first_pass"] = n
    return out


def answers() -> dict[str, object]:
    return {**_sequences(), **_guided_logits(), **_positions()}
