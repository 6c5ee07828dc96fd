"""Compute the stored answers of the exercise checks from the reference solutions.

Each module ``assignments/references/<chapter>.py`` defines ``answers() -> dict[str, value]``: the
reference solutions run on the checks' own inputs. This script writes them to
``genai_checks/answers/<chapter>.json``; ``--check`` only reports stale files (tests/test_answers.py).

    python -m assignments.answers [--check]
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from genai_checks.answers import ANSWERS_DIR, encode

REFERENCES = Path(__file__).parent / "references"


def chapters() -> list[str]:
    """The chapters that have reference solutions."""
    return sorted(p.stem for p in REFERENCES.glob("*.py") if p.stem != "__init__")


def render(chapter: str) -> str:
    """The JSON text of one chapter's answers, as the reference solutions compute them now."""
    module = importlib.import_module(f"assignments.references.{chapter}")
    answers = {key: encode(value) for key, value in module.answers().items()}
    return json.dumps(answers, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report answer files that are stale")
    args = parser.parse_args(argv)
    stale = []
    for chapter in chapters():
        text, path = render(chapter), ANSWERS_DIR / f"{chapter}.json"
        if path.exists() and path.read_text() == text:
            continue
        stale.append(chapter)
        if not args.check:
            path.write_text(text)
            print(f"wrote {path}")
    if args.check and stale:
        print(f"stale answers: {', '.join(stale)}; run `python -m assignments.answers`")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
