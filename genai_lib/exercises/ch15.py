"""Checks for the exercises of chapter 15 (Evaluating text-to-image)."""

from __future__ import annotations

import torch

from genai_lib.exercises.core import CheckError, expect, expect_answer, expect_close, passed

__all__: list[str] = []
