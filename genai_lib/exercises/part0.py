"""Checks for the exercises of Part 0 (chapters 00 and 01)."""

__all__: list[str] = []
