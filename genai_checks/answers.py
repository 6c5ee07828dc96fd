"""Stored answers: what each check expects on its fixed inputs, kept as numbers, not as solutions.

A check builds its inputs deterministically (fixed tensors or a seeded ``torch.Generator``) and
compares a student's result with values stored in ``genai_checks/answers/<chapter>.json``. Those
values were computed once by the reference solutions in ``assignments/references/`` (never
installed with the package) and are regenerated with ``python -m assignments.answers``; a test fails
when they go stale.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import torch

ANSWERS_DIR = Path(__file__).parent / "answers"


def encode(value: Any) -> Any:
    """A JSON-ready form of a tensor (dtype, shape, flat values), a number, a string or a list of them."""
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu()
        return {"dtype": str(t.dtype).removeprefix("torch."), "shape": list(t.shape), "data": t.flatten().tolist()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    raise TypeError(f"cannot store a {type(value).__name__} as an answer; use a tensor, number or string")


def decode(value: Any) -> Any:
    """The inverse of :func:`encode`."""
    if isinstance(value, dict) and set(value) == {"dtype", "shape", "data"}:
        return torch.tensor(value["data"], dtype=getattr(torch, value["dtype"])).reshape(value["shape"])
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


@cache
def _load(chapter: str) -> dict[str, Any]:
    path = ANSWERS_DIR / f"{chapter}.json"
    if not path.exists():
        raise FileNotFoundError(f"no stored answers for {chapter} at {path}: run `python -m assignments.answers`.")
    return json.loads(path.read_text())


def stored(chapter: str, key: str) -> Any:
    """The stored answer `key` of `chapter` (a tensor comes back as a new tensor each call)."""
    answers = _load(chapter)
    if key not in answers:
        raise KeyError(f"{chapter} has no stored answer {key!r}: run `python -m assignments.answers`.")
    return decode(answers[key])
