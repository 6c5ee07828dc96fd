"""Schematics of Part 3."""

from __future__ import annotations

__all__: list[str] = []
