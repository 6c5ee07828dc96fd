"""The checks behind the book's exercises: each failure says what is wrong and what to try."""

from __future__ import annotations

from typing import Any

import torch


class CheckError(AssertionError):
    """An exercise check failed; the message tells the student what to fix."""


def expect_answer(value: Any, name: str, returns: str = "your answer") -> None:
    """Fail if a student's function returned nothing, as the starter code (`...`) does."""
    if value is None or value is Ellipsis:
        raise CheckError(
            f"{name} returned nothing ({value!r}): write your solution in place of the `...` and return {returns}."
        )


def _as_tensor(value: Any, what: str) -> torch.Tensor:
    expect_answer(value, what)
    try:
        return torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as err:
        raise CheckError(f"{what} should be a number or a tensor, got {type(value).__name__}.") from err


def expect_close(got: Any, expected: Any, *, what: str, rtol: float = 1e-5, atol: float = 1e-8, hint: str = "") -> None:
    """Fail unless `got` has the shape of `expected` and matches it within tolerance."""
    g, e = _as_tensor(got, what), _as_tensor(expected, "the expected value")
    if g.shape != e.shape:
        raise CheckError(f"{what} has shape {tuple(g.shape)}, expected {tuple(e.shape)}. {hint}".strip())
    if not torch.isfinite(g).all():
        raise CheckError(f"{what} contains NaN or infinity: {g.tolist() if g.numel() < 8 else '...'}. {hint}".strip())
    if not torch.allclose(g, e, rtol=rtol, atol=atol):
        err = (g - e).abs().max().item()
        show = (lambda t: f"{t.item():.6g}") if g.numel() == 1 else (lambda t: str(t.flatten()[:4].tolist()))
        raise CheckError(f"{what} is {show(g)}, expected {show(e)} (largest difference {err:.3g}). {hint}".strip())


def expect(condition: bool, message: str) -> None:
    """Fail with `message` unless `condition` holds."""
    if not condition:
        raise CheckError(message)


def passed(what: str) -> None:
    print(f"Correct: {what}")
