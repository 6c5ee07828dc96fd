"""The random number generators' state (Python, NumPy, torch CPU and CUDA), saved and restored exactly.

A checkpoint that holds it lets a resumed run draw the same dropout masks, noise and batches as an
uninterrupted one; `preserved_rng` lets evaluation draw random numbers without shifting training's.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

import numpy as np
import torch


def rng_state() -> dict[str, Any]:
    """Python, NumPy, torch CPU and CUDA generator states, in types `weights_only` loading accepts."""
    kind, keys, pos, has_gauss, gauss = cast(tuple[str, np.ndarray, int, int, float], np.random.get_state())
    state = {
        "python": random.getstate(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": pos,
            "has_gauss": has_gauss,
            "gauss": gauss,
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Put every generator back in the state `rng_state` returned (also after a save and a `weights_only` load)."""
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


@contextmanager
def preserved_rng() -> Iterator[None]:
    """Run the block, then restore every generator: what it draws leaves the caller's random stream unchanged."""
    saved = rng_state()
    try:
        yield
    finally:
        set_rng_state(saved)


def drawing_device(generator: torch.Generator | None, device: torch.device | str) -> torch.device | str:
    """Where random numbers for `device` are drawn: on the generator's device when there is one, so a CPU
    generator gives the same numbers on every device (and CUDA refuses a CPU generator for GPU draws)."""
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(
            f"generator= is the torch.Generator of the random numbers, e.g. torch.Generator().manual_seed(0); got "
            f"{type(generator).__name__}. (A GAN's generator network is G: call G.sample(n, generator=...).)"
        )
    return generator.device if generator is not None else device


def randn(
    shape: tuple[int, ...],
    generator: torch.Generator | None,
    device: torch.device | str,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """N(0, I) noise of `shape` on `device`, drawn where `drawing_device` says."""
    return torch.randn(shape, generator=generator, device=drawing_device(generator, device), dtype=dtype).to(device)


def rand(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device | str) -> torch.Tensor:
    """Uniform [0, 1) numbers of `shape` on `device`, drawn where `drawing_device` says."""
    return torch.rand(shape, generator=generator, device=drawing_device(generator, device)).to(device)


def randint(
    high: int, shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device | str
) -> torch.Tensor:
    """Integers in [0, high) of `shape` on `device`, drawn where `drawing_device` says."""
    return torch.randint(high, shape, generator=generator, device=drawing_device(generator, device)).to(device)


def bernoulli(probs: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """0/1 draws with probabilities `probs`, on probs' device, drawn where `drawing_device` says."""
    where = drawing_device(generator, probs.device)
    return torch.bernoulli(probs.to(where), generator=generator).to(probs.device)
