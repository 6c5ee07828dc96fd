"""Schematics of Part 4."""

from __future__ import annotations

__all__: list[str] = []
