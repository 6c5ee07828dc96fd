"""The table of every exercise on the teachers' page, made from the chapters' exercise headings.

``python -m assignments.guide`` rewrites the table in book/part0/assignments.md (between its two
marker comments); ``python -m assignments.guide --check`` only says whether it is up to date, and
tests/test_student.py fails when it is not, so the page never disagrees with the chapters.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path

from assignments.chapters import ROOT, Exercise, chapter_sources, exercises_of
from book.reader import title_of

PAGE = ROOT / "book" / "part0" / "assignments.md"
START = "<!-- exercise-table: start. Made by `python -m assignments.guide`; do not edit by hand. -->"
END = "<!-- exercise-table: end -->"
KIND = {"checked": "code, checked", "written": "on paper, solution in the book", "open": "open"}


def heading_anchor(heading: str) -> str:
    """The anchor MyST gives a ### heading (myst_heading_anchors in _config.yml), computed as MyST does."""
    from markdown_it.renderer import RendererHTML
    from markdown_it.tree import SyntaxTreeNode
    from myst_parser.config.main import MdParserConfig
    from myst_parser.mdit_to_docutils.base import compute_unique_slug
    from myst_parser.parsers.mdit import create_md_parser

    config = MdParserConfig(enable_extensions={"amsmath", "colon_fence", "dollarmath"})
    tree = SyntaxTreeNode(create_md_parser(config, RendererHTML).parse("### " + heading))
    return compute_unique_slug(tree.children[0], set())


def kind(exercise: Exercise) -> str:
    if exercise.checked:
        return KIND["checked"]
    return KIND["written"] if exercise.written_solution else KIND["open"]


def table(root: Path = ROOT, page: Path = PAGE) -> str:
    """The Markdown of the exercise table, with a line of totals by difficulty."""
    lines = ["| exercise | chapter | difficulty | minutes | points | kind |", "| --- | --- | --- | --- | --- | --- |"]
    count: Counter[str] = Counter()
    minutes: Counter[str] = Counter()
    points: Counter[str] = Counter()
    for chapter in chapter_sources(root):  # the notebooks _toc.yml lists: a draft joins once it is in the book
        if not chapter.with_suffix(".ipynb").exists():
            continue
        link = Path(os.path.relpath(chapter, page.parent)).as_posix()
        name = title_of(chapter, chapter.read_text(encoding="utf8")).replace("|", r"\|")
        for e in exercises_of(chapter):
            title = e.title.replace("|", r"\|")
            lines.append(
                f"| [{e.number} {title}]({link}#{heading_anchor(e.heading)}) | {name} | "
                f"{e.difficulty} | {e.minutes} | {e.points} | {kind(e)} |"
            )
            count[e.difficulty] += 1
            minutes[e.difficulty] += e.minutes
            points[e.difficulty] += e.points
    total = ", ".join(
        f"{count[d]} {d} ({minutes[d] / 60:.1f} h, {points[d]} points)" for d in ("easy", "medium", "hard")
    )
    return "\n".join(lines) + f"\n\nIn all: {total}.\n"


def with_table(text: str, new_table: str) -> str:
    if START not in text or END not in text:
        raise ValueError(f"{PAGE.relative_to(ROOT)} lacks the marker lines {START!r} and {END!r}")
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    return f"{before}{START}\n\n{new_table}\n{END}{after}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assignments.guide", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether the page is up to date")
    args = parser.parse_args(argv)
    text = PAGE.read_text(encoding="utf8")
    updated = with_table(text, table())
    if args.check:
        if updated != text:
            print(f"{PAGE.relative_to(ROOT)}: the exercise table is out of date; run `python -m assignments.guide`.")
            return 1
        print(f"{PAGE.relative_to(ROOT)}: the exercise table is up to date.")
        return 0
    if updated != text:
        PAGE.write_text(updated, encoding="utf8")
    print(f"wrote the exercise table of {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
