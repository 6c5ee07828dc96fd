"""Reference solutions for chapter 15's checks."""

import math

import torch

from genai_checks.ch15 import WILSON_CASES, exact_cases, reordered_case
from genai_lib.metrics import caption_accuracy, wilson_interval


def _exact_match() -> dict[str, object]:
    out: dict[str, object] = {}
    for i, (_, predicted, asked) in enumerate(exact_cases()):
        hits = torch.stack([predicted[a] == asked[a] for a in asked]).double()  # (attributes, N)
        per_attribute = hits.mean(1)
        exact = float(hits.prod(0).mean())  # every attribute right
        key = f"exact_match/case={i}"
        out[f"{key}/exact"] = exact
        out[f"{key}/count"] = exact * hits.shape[1]
        out[f"{key}/product_of_accuracies"] = float(per_attribute.prod())
        out[f"{key}/mean_of_accuracies"] = float(per_attribute.mean())
        out[f"{key}/any_right"] = float(hits.amax(0).mean())
    predicted, asked = reordered_case()
    out["exact_match/hidden/reordered"] = caption_accuracy(predicted, asked)["exact"]  # pairs attributes by name
    return out


def _wilson() -> dict[str, object]:
    out: dict[str, object] = {}
    for k, n, z in WILSON_CASES:
        p = k / n
        wald = z * math.sqrt(p * (1 - p) / n)
        key = f"wilson/k={k},n={n},z={z}"
        out[f"{key}/interval"] = list(wilson_interval(k, n, z))  # the library's function is the answer
        out[f"{key}/centre"] = (p + z * z / (2 * n)) / (1 + z * z / n)
        out[f"{key}/wald"] = [p - wald, p + wald]
        out[f"{key}/width_without_factor"] = 2 * z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return out


def answers() -> dict[str, object]:
    return {**_exact_match(), **_wilson()}
