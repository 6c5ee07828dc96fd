"""The exercises of the book's chapters, read from the chapters' MyST sources.

A chapter is cut into *pieces*: its code cells, and its Markdown cells cut at headings and around the
written solutions of exercises. Each piece knows the exercise it belongs to (if any) and its role:

- ``solution``: a code cell holding ``# BEGIN SOLUTION`` ... ``# END SOLUTION``, or, in an exercise,
  a Markdown dropdown (```` ```{admonition} Solution ```` with ``:class: dropdown``, or a
  ``{dropdown}``) that reveals an answer; dropdowns titled "Hint..." are not solutions;
- ``check``: a code cell calling a ``check_*`` function of ``genai_checks``;
- ``hidden-check``: a code cell tagged ``hidden-check``, a check the student never sees;
- ``other``: everything else (prose, the chapter's own code).

The pieces are cut from the MyST source, where admonitions mark the written solutions; their Markdown
is then rewritten into plain Markdown by book/reader.py, as in the .ipynb that Colab opens, so that the
student versions read well in JupyterLab and Colab too.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import jupytext
import nbformat

from book.chapters import notebooks
from book.reader import Site

ROOT = Path(__file__).resolve().parents[1]
EXERCISE_HEADING = re.compile(
    r"^### Exercise (?P<number>(?:\d+[a-z]?|[A-Z])\.\d+) [—–-] (?P<title>.+) "
    r"\((?P<difficulty>easy|medium|hard), ~(?P<minutes>\d+) min(?:, (?P<points>\d+) points?)?\)\s*$"
)
# Points follow the work: one per ten minutes of the time the heading states, plus one for a medium
# and two for a hard exercise (book/part0/assignments.md states the rule). A heading may override it:
# "(hard, ~60 min, 5 points)".
EXTRA_POINTS = {"easy": 0, "medium": 1, "hard": 2}


def points_for(difficulty: str, minutes: int) -> int:
    """The points the rule gives an exercise of this difficulty and time."""
    return max(1, round(minutes / 10)) + EXTRA_POINTS[difficulty]


HEADING = re.compile(r"^(#{1,3}) \S")  # a heading down to ### ends the exercise above it
FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*)$")
DIRECTIVE = re.compile(r"^\{(?P<name>admonition|dropdown)\}\s*(?P<title>.*)$")
HIDDEN_TAG = "hidden-check"


@dataclass
class Exercise:
    """One exercise: its heading, and what its cells contain."""

    chapter: Path  # the chapter's .md source
    number: str  # "2.3"
    title: str
    difficulty: str  # easy, medium or hard
    minutes: int
    heading: str  # the full heading line, without "### "
    checks: list[ast.Call] = field(default_factory=list)  # check_* calls students see
    hidden_checks: list[ast.Call] = field(default_factory=list)  # check_* calls kept from students
    code_solution: bool = False
    written_solution: bool = False
    points_override: int | None = None  # "…, 5 points)" in the heading

    @property
    def points(self) -> int:
        return self.points_override if self.points_override is not None else points_for(self.difficulty, self.minutes)

    @property
    def student_heading(self) -> str:
        """The heading students see: with the points the exercise is worth."""
        if self.points_override is not None:
            return "### " + self.heading
        return f"### {self.heading[:-1]}, {self.points} point{'s' if self.points != 1 else ''})"

    @property
    def name(self) -> str:
        """The otter question name, e.g. ``exercise_2_3``."""
        return "exercise_" + self.number.replace(".", "_")

    @property
    def checked(self) -> bool:
        return bool(self.checks or self.hidden_checks)


@dataclass
class Piece:
    cell: nbformat.NotebookNode
    exercise: Exercise | None
    role: str  # solution, check, hidden-check or other


def chapter_sources(root: Path = ROOT) -> list[Path]:
    """The .md of every notebook of the book (chapters and notebook appendices), in the order of
    _toc.yml, as book/chapters.py lists them for nbval."""
    return [page.path for page in notebooks(root)]


def check_calls(source: str) -> list[ast.Call]:
    """The calls of ``check_*`` functions in a code cell (IPython magics are ignored)."""
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id.startswith("check_")
    ]


def is_solution(block: list[str]) -> bool:
    """Whether an admonition or dropdown block, in an exercise, reveals a solution: it is titled
    "Solution...", or it is folded (a dropdown) and not titled "Hint..."."""
    directive = DIRECTIVE.match(FENCE.match(block[0])["info"].strip())
    title = directive["title"].lower()
    folded = directive["name"] == "dropdown" or any(re.match(r":class:.*\bdropdown\b", line) for line in block)
    return title.startswith("solution") or (folded and not title.startswith("hint"))


def split_markdown(source: str, in_exercise: bool) -> list[tuple[str, bool]]:
    """Cut Markdown at headings (down to ###) and around the admonitions of exercises.

    Returns ``(text, is_solution)`` pairs; ``in_exercise`` says whether the text starts inside an
    exercise (only there is an admonition a solution).
    """
    parts: list[tuple[list[str], bool]] = [([], False)]
    fence: str | None = None  # the fence of the code block or directive we are in
    block: list[str] | None = None  # the lines of the exercise's admonition we are in
    for line in source.splitlines():
        match = FENCE.match(line)
        if fence is None and match:
            fence = match["fence"]
            if in_exercise and DIRECTIVE.match(match["info"].strip()):
                block = [line]
                continue
        elif fence is not None and line.strip() == fence:
            fence = None
            if block is not None:
                block.append(line)
                parts += [(block, is_solution(block)), ([], False)]
                block = None
                continue
        elif fence is None and HEADING.match(line):
            in_exercise = bool(EXERCISE_HEADING.match(line))
            parts.append(([line], False))
            continue
        (block if block is not None else parts[-1][0]).append(line)
    if block is not None:  # an unclosed fence runs to the end of the cell, as in MyST
        parts.append((block, is_solution(block)))
    texts = [("\n".join(lines).strip("\n"), solution) for lines, solution in parts]
    return [(text, solution) for text, solution in texts if text.strip()]


@cache
def book_site() -> Site:
    """Titles, equation numbers and citations of the whole book, for rewriting MyST (book/reader.py)."""
    return Site.of(ROOT)


def docname_of(chapter: Path) -> str:
    """The chapter's entry in _toc.yml (book/part1/03_dcgan), or its file name outside the book."""
    return chapter.with_suffix("").relative_to(ROOT).as_posix() if chapter.is_relative_to(ROOT) else chapter.stem


def read_pieces(chapter: Path) -> tuple[list[Piece], list[Exercise]]:
    """The pieces of a chapter (read from its MyST source) and its exercises, in order."""
    nb = jupytext.read(chapter)
    pieces: list[Piece] = []
    exercises: list[Exercise] = []
    current: Exercise | None = None
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for text, solution in split_markdown(cell.source, current is not None):
                first = text.splitlines()[0]
                heading = EXERCISE_HEADING.match(first)
                if heading:
                    current = Exercise(
                        chapter,
                        heading["number"],
                        heading["title"],
                        heading["difficulty"],
                        int(heading["minutes"]),
                        first.removeprefix("### ").rstrip(),
                        points_override=int(heading["points"]) if heading["points"] else None,
                    )
                    exercises.append(current)
                    text = current.student_heading + text[len(first) :]
                elif HEADING.match(first):
                    current = None
                plain = book_site().markdown(text, docname_of(chapter))
                piece = nbformat.v4.new_markdown_cell(plain, metadata=dict(cell.metadata))
                pieces.append(Piece(piece, current, "solution" if solution else "other"))
                if solution and current is not None:
                    current.written_solution = True
            continue
        if cell.cell_type != "code":
            pieces.append(Piece(cell, current, "other"))
            continue
        calls = check_calls(cell.source)
        if HIDDEN_TAG in cell.metadata.get("tags", []):
            role = "hidden-check"
        elif "# BEGIN SOLUTION" in cell.source:
            role = "solution"
        elif calls:
            role = "check"
        else:
            role = "other"
        if current is not None:
            (current.hidden_checks if role == "hidden-check" else current.checks).extend(calls)
            current.code_solution |= role == "solution"
        pieces.append(Piece(cell, current, role))
    return pieces, exercises


def exercises_of(chapter: Path) -> list[Exercise]:
    return read_pieces(chapter)[1]
