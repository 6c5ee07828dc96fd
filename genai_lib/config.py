"""Budgets (smoke / standard / full), session set-up and small dataclass helpers."""

from __future__ import annotations

import dataclasses
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from genai_lib import device as _device

BUDGETS = ("smoke", "standard", "full")


def get_budget() -> str:
    """The active budget: $GENAI_BUDGET, else 'full' with a CUDA GPU and 'standard' without."""
    name = os.environ.get("GENAI_BUDGET", "").strip().lower()
    if not name:
        return "full" if torch.cuda.is_available() else "standard"
    if name not in BUDGETS:
        raise ValueError(
            f"GENAI_BUDGET={os.environ['GENAI_BUDGET']!r} is not a budget; use one of {', '.join(BUDGETS)} "
            "(or unset it to get 'full' on a GPU and 'standard' on a CPU)."
        )
    return name


class Params(SimpleNamespace):
    """Hyper-parameters chosen for one budget; read them as attributes (`cfg.steps`)."""

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))

    def __repr__(self) -> str:
        return f"Params({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython would otherwise print "namespace(...)"
        printer.text(repr(self))


def budget(*, smoke: dict, standard: dict, full: dict, active: str | None = None) -> Params:
    """Pick the hyper-parameters of the active budget; all three must name the same keys."""
    choices = {"smoke": smoke, "standard": standard, "full": full}
    keys = {name: set(values) for name, values in choices.items()}
    if len({frozenset(k) for k in keys.values()}) != 1:
        every = set().union(*keys.values())
        missing = {name: sorted(every - k) for name, k in keys.items() if every - k}
        raise ValueError(
            "Each budget must set the same hyper-parameters, so that a chapter runs the same code in all "
            f"three. Missing: {missing}."
        )
    return Params(**choices[active or get_budget()])


@dataclass(frozen=True)
class Session:
    """What `setup` decided: the budget, the device, its precision and the seed."""

    budget: str
    device: torch.device
    precision: _device.Precision
    seed: int


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's (CPU and CUDA) random generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def setup(
    seed: int = 0,
    *,
    device: str | None = None,
    precision: str = "auto",
    quiet: bool = False,
    chapter: str | None = None,
) -> Session:
    """Seed everything, pick the device and precision, and print the banner.

    $GENAI_SEED, when set, replaces `seed`: a chapter's claims are checked on several seeds this way.
    With `chapter` (its file name without suffix, e.g. "03_dcgan") the banner also says how long the
    chapter takes at the active budget on this kind of device (genai_lib.expected_time).
    """
    override = os.environ.get("GENAI_SEED", "").strip()
    if override:
        try:
            seed = int(override)
        except ValueError:
            raise ValueError(f"GENAI_SEED={override!r} is not an integer seed; unset it or use e.g. 1.") from None
    seed_everything(seed)
    dev = _device.pick_device(device)
    prec = _device.precision_for(dev, precision)
    session = Session(budget=get_budget(), device=dev, precision=prec, seed=seed)
    if not quiet:
        from genai_lib import __version__

        print(
            f"genai_lib {__version__} | budget: {session.budget} | device: {_device.describe(dev)} | "
            f"precision: {prec.name} | seed: {seed}"
        )
        if chapter is not None:
            from genai_lib.expected_time import expected

            print(expected(chapter, session.budget, dev))
    return session


def config_dict(config: Any) -> dict[str, Any]:
    """A dataclass config as a plain dict of its fields (nested dataclasses included)."""
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise TypeError(f"Expected a dataclass instance, got {type(config).__name__}.")
    return dataclasses.asdict(config)


def config_diff(expected: dict[str, Any], found: dict[str, Any]) -> list[str]:
    """Human-readable differences between two config dicts, one line per field."""
    lines = []
    for key in sorted(set(expected) | set(found)):
        if key not in found:
            lines.append(f"{key}: {expected[key]!r} here, absent in the other")
        elif key not in expected:
            lines.append(f"{key}: absent here, {found[key]!r} in the other")
        elif expected[key] != found[key]:
            lines.append(f"{key}: {expected[key]!r} here, {found[key]!r} in the other")
    return lines


def image_shape(shape: Sequence[int], model: str) -> tuple[int, int, int]:
    """(C, H, W) as a tuple of three positive ints, or a ValueError naming the model and what it got."""
    dims = tuple(int(d) for d in shape)
    if len(dims) != 3 or min(dims) < 1:
        raise ValueError(f"{model}: image_shape must be (C, H, W) with positive sizes, got {tuple(shape)}.")
    return (dims[0], dims[1], dims[2])
