"""Claims: a sentence of the book about its own run, checked by the run that it describes (DESIGN §10).

A chapter that writes "without positions the accuracy stays near chance" follows the cell that
measures it with ``claim("accuracy without positions is near chance (25%)", acc < 0.35, acc=acc)``.
At the ``standard`` and ``full`` budgets a false claim raises :class:`ClaimError`, so ``make book``
fails when a run no longer supports its text; at ``smoke``, where runs are too short to support
anything, or in a step-time probe (genai_lib.probe), whose models are untrained, it only reports.

With $GENAI_RECORD naming a file, every claim and every number kept with :func:`record` is appended to it
as a line of JSON: a benchmark runs a chapter and keeps its results (benchmarks/part6.py).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path
from typing import Any

from genai_lib import probe
from genai_lib.config import get_budget


class ClaimError(AssertionError):
    """The text states something about the run that the run does not show."""


class ClaimWarning(UserWarning):
    """A claim that does not hold in a smoke run (which is too short to be expected to support it)."""


def _show(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def claim(statement: str, holds: bool, **evidence: Any) -> bool:
    """Check that `statement`, a sentence the chapter states about this run, holds; `evidence` is printed beside it.

    Raises ClaimError at the standard and full budgets when it does not hold; warns at smoke.
    """
    facts = ", ".join(f"{k} = {_show(v)}" for k, v in evidence.items())
    shown = f"{statement} ({facts})" if facts else statement
    holds = bool(holds)
    _append({"claim": statement, "holds": holds, "evidence": evidence})
    if holds:
        print(f"✓ {shown}")
        return True
    budget = get_budget()
    message = (
        f"The text says: {statement!r}, but this run shows otherwise ({facts or 'no evidence given'}). "
        "Reword the sentence (a hunch is written as a hunch), or find what changed in the run."
    )
    if budget == "smoke" or probe.active():
        why = "in a probe run, whose models are untrained" if probe.active() else "at the smoke budget"
        print(f"✗ {shown} (not expected to hold {why})")
        warnings.warn(message, ClaimWarning, stacklevel=2)
        return False
    raise ClaimError(message)


def record(name: str, value: float, **details: Any) -> float:
    """Keep a number of the run under `name` for a benchmark (with $GENAI_RECORD set); returns `value`.

    The chapter prints its numbers itself; `record` only marks the ones a benchmark reports against a target.
    """
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"record({name!r}) got {value}: a result must be a finite number; look at what produced it.")
    _append({"record": name, "value": value, **details})
    return value


def _plain(value: Any) -> Any:
    """A JSON-ready copy of `value`: tensors and numpy scalars become Python numbers, anything else its text."""
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        value = value.item()
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def _append(entry: dict[str, Any]) -> None:
    """Append `entry` to the file $GENAI_RECORD names, as one line of JSON; nothing when it is unset."""
    path = os.environ.get("GENAI_RECORD", "").strip()
    if not path:
        return
    plain = {k: {e: _plain(x) for e, x in v.items()} if k == "evidence" else _plain(v) for k, v in entry.items()}
    with Path(path).open("a") as f:
        f.write(json.dumps(plain) + "\n")
