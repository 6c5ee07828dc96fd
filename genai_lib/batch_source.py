"""Where `fit` gets its batches: a callable, an iterator with state (exact resume) or any iterable, cycled."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import torch

Batch = Any  # a tensor, or a tuple, list or dict of them (and of other values, passed along as they are)


def to_device(batch: Batch, device: torch.device) -> Batch:
    """Move every tensor in a batch (nested in tuples, lists or dicts) to `device`."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(b, device) for b in batch)
    if isinstance(batch, Mapping):
        return {k: to_device(v, device) for k, v in batch.items()}
    return batch


class BatchSource:
    """Draws batches from a callable, an iterator with state (exact resume) or any iterable (cycled)."""

    def __init__(self, data: Callable[[], Batch] | Iterable[Batch]) -> None:
        self.data: Any = data  # which of the three it is, is found out at each call
        self._it: Iterator[Batch] | None = None

    def next(self) -> Batch:
        if callable(self.data) and not hasattr(self.data, "__next__") and not hasattr(self.data, "__iter__"):
            return self.data()
        if hasattr(self.data, "__next__"):
            return next(self.data)
        if self._it is None:
            self._it = iter(self.data)
        try:
            return next(self._it)
        except StopIteration:  # an epoch ended: start the next one
            self._it = iter(self.data)
            try:
                return next(self._it)
            except StopIteration:
                raise ValueError("The data iterable is empty: fit has nothing to train on.") from None

    def state_dict(self) -> dict | None:
        return self.data.state_dict() if hasattr(self.data, "state_dict") else None

    def load_state_dict(self, state: dict | None) -> None:
        if state is not None and hasattr(self.data, "load_state_dict"):
            self.data.load_state_dict(state)
        elif not callable(self.data) or hasattr(self.data, "__iter__"):
            print(
                "Note: this data iterable has no state_dict, so the resumed run sees batches in another "
                "order than an uninterrupted one would (genai_lib.data.Batches resumes exactly)."
            )
