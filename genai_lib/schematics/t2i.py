"""Schematics of chapters 13-15 (text to image)."""

from __future__ import annotations

__all__: list[str] = []
