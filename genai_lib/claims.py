"""Claims: a sentence of the book about its own run, checked by the run that it describes (DESIGN §10).

A chapter that writes "without positions the accuracy stays near chance" follows the cell that
measures it with ``claim("accuracy without positions is near chance (25%)", acc < 0.35, acc=acc)``.
At the ``standard`` and ``full`` budgets a false claim raises :class:`ClaimError`, so ``make book``
fails when a run no longer supports its text; at ``smoke``, where runs are too short to support
anything, or in a step-time probe (genai_lib.probe), whose models are untrained, it only reports.
"""

from __future__ import annotations

import warnings
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
