"""Figures read without colour vision: no chapter tells right from wrong by red against green alone."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = subprocess.run(
    [sys.executable, str(ROOT / "book" / "chapters.py"), "--notebooks"], capture_output=True, text=True, check=True
).stdout.split()
RED, GREEN = r"['\"](?:tab:)?red['\"]", r"['\"](?:tab:)?green['\"]"
# A choice between red and green in one expression: `"green" if ok else "red"` and the like.
RED_GREEN = re.compile(rf"{GREEN}[^\n]*\bif\b[^\n]*\belse\b[^\n]*{RED}|{RED}[^\n]*\bif\b[^\n]*\belse\b[^\n]*{GREEN}")


def test_no_figure_marks_right_and_wrong_by_red_and_green():
    found = [
        f"{md}:{n}"
        for md in NOTEBOOKS
        for n, line in enumerate((ROOT / md).read_text().splitlines(), 1)
        if RED_GREEN.search(line)
    ]
    assert not found, f"red/green as the only cue (use blue/orange and a mark such as ✓/✗): {found}"


def test_the_pattern_finds_the_mistake_it_is_for():
    assert RED_GREEN.search('color="tab:green" if got == want else "red",')
    assert not RED_GREEN.search('color="tab:blue" if got == want else "tab:orange",')
