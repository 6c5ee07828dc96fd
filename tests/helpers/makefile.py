"""The Makefile's targets, as the tests read them."""

from __future__ import annotations

import re
from pathlib import Path


def phony_and_targets(root: Path) -> tuple[set[str], set[str]]:
    """The names of .PHONY, and the targets the Makefile defines (not `VAR := ...` assignments)."""
    makefile = (root / "Makefile").read_text(encoding="utf8")
    phony = set(re.search(r"^\.PHONY:(.*)$", makefile, re.MULTILINE).group(1).split())
    return phony, set(re.findall(r"^([a-z][\w-]*):(?!=)", makefile, re.MULTILINE))
