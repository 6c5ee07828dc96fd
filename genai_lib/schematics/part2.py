"""Schematics of Part 2."""

from __future__ import annotations

__all__: list[str] = []
