"""Pacing: each chapter's reading time, computed from its text, stated at its top, with natural breaks marked.

A chapter's reading time counts the words of its prose and the lines of its code up to its Exercises
(the exercises carry their own times): technical prose with equations at READ_WPM words a minute, code at
READ_LINES_PM lines a minute, since a student reads code line by line. The chapter states the result in an
admonition titled "Reading time" (written by this module, so the number cannot drift from the text), and
marks natural breaks with an admonition titled "A natural break" before the section headings that fall
nearest the halves (or thirds, for a long chapter) of that time.

    .venv/bin/python -m book.pacing            # print every chapter's words, code lines and minutes
    .venv/bin/python -m book.pacing --write    # state the reading times and place the breaks in the .md files
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

from book import chapters as registry

ROOT = Path(__file__).resolve().parents[1]
READ_WPM = 100  # words a minute: a textbook with derivations, read to be understood
READ_LINES_PM = 6  # lines of code a minute: read, and predicted before the output is looked at
LONG_CHAPTER_MINUTES = 120  # longer chapters get two breaks
BREAK_TITLE = "A natural break"
TIME_TITLE = "Reading time"

CODE_FENCE = re.compile(r"^```\{code-cell\}[^\n]*\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
ADMONITION = re.compile(r"^(?P<fence>`{3,}|:{3,})\{admonition\}[ \t]+(?P<title>[^\n]*)\n.*?^(?P=fence)[ \t]*\n\n?",
                        re.MULTILINE | re.DOTALL)  # fmt: skip
MATH_BLOCK = re.compile(r"\$\$.*?\$\$", re.DOTALL)
INLINE_MATH = re.compile(r"\$[^$\n]+\$")  # read as one word: `$p_\text{data}$` is a symbol, not three words
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
SECTION = re.compile(r"^## (?!Summary|Exercises|References)\S", re.MULTILINE)  # a section that teaches
EXERCISES = re.compile(r"^## Exercises[ \t]*$", re.MULTILINE)
FRONT_MATTER_END = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)


@dataclass(frozen=True)
class Pace:
    """What a chapter asks of its reader: prose words and code lines before its exercises, and minutes."""

    words: int
    code_lines: int

    @property
    def minutes(self) -> int:
        """Reading time, rounded to 5 minutes."""
        raw = self.words / READ_WPM + self.code_lines / READ_LINES_PM
        return max(5, 5 * round(raw / 5))


def strip_pacing(text: str) -> str:
    """The chapter without the admonitions this module writes."""
    return ADMONITION.sub(lambda m: "" if m["title"].strip() in (BREAK_TITLE, TIME_TITLE) else m[0], text)


def measure(text: str) -> Pace:
    """Count the prose words and the non-blank, non-comment code lines before the exercises."""
    text = strip_pacing(FRONT_MATTER_END.sub("", text))
    body = text[: m.start()] if (m := EXERCISES.search(text)) else text
    words = code = 0
    last = 0
    for cell in CODE_FENCE.finditer(body):
        words += _words(body[last : cell.start()])
        lines = cell["body"].splitlines()
        options = [line for line in lines if line.startswith(":")]  # `:tags: [...]` heads the cell
        if not any("remove-cell" in option for option in options):  # the Colab install cell is never seen
            code += sum(1 for line in lines if line.strip() and not line.lstrip().startswith(("#", ":")))
        last = cell.end()
    words += _words(body[last:])
    return Pace(words, code)


def _words(prose: str) -> int:
    """Words of prose: displayed maths counts as none (its time is in the prose around it), inline maths as one."""
    return len(WORD.findall(INLINE_MATH.sub(" x ", MATH_BLOCK.sub(" ", prose))))


def time_box(pace: Pace, breaks: int) -> str:
    """The "Reading time" admonition of a chapter."""
    hours, minutes = divmod(pace.minutes, 60)
    said = f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
    where = "one natural break is marked" if breaks == 1 else f"{breaks} natural breaks are marked"
    return (
        f"```{{admonition}} {TIME_TITLE}\n:class: tip\n\n"
        f"About {said} to read with care: {pace.words:,} words of prose and {pace.code_lines:,} lines of code "
        f"before the exercises (at {READ_WPM} words and {READ_LINES_PM} lines a minute). The exercises state their "
        f"own times. {where.capitalize()} below, where a section ends and a new idea begins.\n```\n\n"
    )


def break_box(done_minutes: int, total_minutes: int) -> str:
    """The "A natural break" admonition placed before a section heading."""
    return (
        f"```{{admonition}} {BREAK_TITLE}\n:class: note\n\n"
        f"About {done_minutes} of this chapter's {total_minutes} minutes are behind you. If you stop here, nothing "
        "is lost: the models trained so far are saved as checkpoints, so running the cells above again reloads "
        "them instead of training them anew.\n```\n\n"
    )


def paced(text: str) -> str:
    """The chapter with its reading time stated before its first section and its breaks placed."""
    text = strip_pacing(text)
    pace = measure(text)
    sections = list(SECTION.finditer(text))
    if not sections:
        raise ValueError("A chapter needs sections ('## ...' headings) to place its reading time and breaks.")
    n_breaks = 2 if pace.minutes > LONG_CHAPTER_MINUTES else 1
    # Minutes read before each section heading (the first section has none before it worth a break).
    before = {s.start(): measure(text[: s.start()]) for s in sections[1:]}
    targets = [pace.minutes * (k + 1) / (n_breaks + 1) for k in range(n_breaks)]
    chosen = sorted({min(before, key=lambda pos: abs(_raw(before[pos]) - t)) for t in targets})
    for pos in reversed(chosen):
        text = text[:pos] + break_box(5 * round(_raw(before[pos]) / 5), pace.minutes) + text[pos:]
    first = sections[0].start()
    return text[:first] + time_box(pace, len(chosen)) + text[first:]


def _raw(p: Pace) -> float:
    return p.words / READ_WPM + p.code_lines / READ_LINES_PM


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="write the reading times and breaks into the chapters")
    args = parser.parse_args()
    for page in registry.chapters(ROOT):
        if not page.docname.startswith("book/part"):
            continue
        path = ROOT / page.path
        text = path.read_text(encoding="utf-8")
        pace = measure(text)
        print(f"{page.docname:40s} {pace.words:6,d} words {pace.code_lines:5d} code lines {pace.minutes:4d} min")
        if args.write and (new := paced(text)) != text:
            path.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    main()
