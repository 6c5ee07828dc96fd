"""Checks for the exercises of chapter 16 (Memorisation and privacy)."""

from __future__ import annotations

import torch

from genai_lib.exercises.core import CheckError, expect, expect_answer, expect_close, passed

__all__: list[str] = []
