"""Schematics of Part 0."""

from __future__ import annotations

__all__: list[str] = []
