"""Student versions and grader bundles of the chapters, made with otter-grader's ``otter assign``.

For each chapter, ``master_notebook`` writes the chapter in otter's assignment format: every exercise
becomes a question (autograded when it calls a ``check_*`` function, graded by hand otherwise), its
solutions go into SOLUTION blocks, and its checks become otter tests, each calling the same
``check_*`` function as the chapter does. ``otter assign`` then writes, under ``<out>/<chapter>/``:

- ``student/<chapter>.ipynb``: the chapter with solutions replaced by ``...`` and written solutions
  removed; the chapter's own check cells stay, so students get the same immediate feedback as in the
  book, and the notebook needs nothing but genai_lib (no otter);
- ``autograder/<chapter>-autograder.zip``: the grader bundle, for ``otter run`` (local, no Docker),
  ``otter grade`` (Docker) or Gradescope, with every test including hidden ones (cells tagged
  ``hidden-check``, which never reach the student version);
- ``autograder/<chapter>.ipynb``: the version with solutions that otter grades against.

Otter's own run of the solutions is turned off: nbval (``make test``) executes every chapter.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

from assignments.chapters import ROOT, Exercise, chapter_sources, read_pieces

DEFAULT_OUT = ROOT / "_build" / "student"


def raw(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_raw_cell(text)


def repository_url() -> str:
    return yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]


def library_requirement() -> str:
    """What a grader installs: the release of genai_lib these bundles were made with, by its tag.

    The tag v<version> is what the chapters' Colab cell installs too (book/reader.py), and the
    publishing workflow makes it once per version (`make release-tag`), so a term's grading never
    changes under a class. `library_drift` says when the working tree's library is not that release.
    """
    from genai_lib import __version__

    return f"genai_lib @ git+{repository_url()}@v{__version__}"


def library_drift() -> str | None:
    """Why the pinned release may not be the library these bundles were made from, or None."""
    from genai_lib import __version__

    tag = f"v{__version__}"

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)

    if git("rev-parse", "-q", "--verify", f"refs/tags/{tag}").returncode != 0:
        return f"there is no tag {tag} here yet: publish this version (make release-tag) before handing out the bundles"
    if git("diff", "--quiet", tag, "--", "genai_lib", "genai_checks").returncode != 0:
        return f"genai_lib differs from its release {tag}: raise the version (CHANGELOG.md) and publish it"
    return None


def assignment_config(name: str, any_checks: bool) -> str:
    config = {
        "name": name,
        # The grading environment installs the book's library; nothing is downloaded now.
        "requirements": [library_requirement()],
        "init_cell": False,  # students check with the chapter's own cells, which need no otter
        "check_all_cell": False,
        "export_cell": False,
        "run_tests": False,  # nbval already runs every solution notebook
        "solutions_pdf": False,
        "template_pdf": False,
        # Strip `# BEGIN SOLUTION` blocks in every code cell, also outside an exercise.
        "strip_solutions_from_all_cells": True,
        "tests": {"files": False, "ok_format": False},  # exception-based tests, in the metadata
        "generate": {"pdf": False} if any_checks else False,
        "suppress_no_tests_warning": True,
    }
    return "# ASSIGNMENT CONFIG\n" + yaml.safe_dump(config, sort_keys=False).strip()


class _ToEnv(ast.NodeTransformer):
    """Rewrite the names in a check call as look-ups in the graded notebook's globals: x -> env["x"]."""

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id.startswith("check_") or hasattr(builtins, node.id):
            return node
        return ast.Subscript(ast.Name("env", ast.Load()), ast.Constant(node.id), ast.Load())

    def generic_visit(self, node: ast.AST) -> ast.AST:
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.NamedExpr)):
            raise ValueError(
                f"a check call may not define names ({ast.unparse(node)}); pass the student's objects by name"
            )
        return super().generic_visit(node)


def otter_test_cell(exercise: Exercise, calls: list[ast.Call], hidden: bool) -> nbformat.NotebookNode:
    """An otter test (exception-based) that makes the exercise's check calls in the graded namespace."""
    names = sorted({call.func.id for call in calls})
    import genai_checks  # noqa: PLC0415 (imports torch)

    unknown = [n for n in names if not hasattr(genai_checks, n)]
    if unknown:  # the grader imports checks from the library, so a student cannot redefine them
        raise ValueError(
            f"{exercise.chapter.name}, exercise {exercise.number} calls {unknown}, which "
            "genai_checks does not export: put the check there."
        )
    suffix = "_hidden" if hidden else ""
    body = [
        f"def test_{exercise.name}{suffix}(env):",
        f'    """Exercise {exercise.number}: the {"hidden " if hidden else ""}check of the chapter."""',
        f"    from genai_checks import {', '.join(names)}",
    ]
    body += ["    " + ast.unparse(_ToEnv().visit(ast.parse(ast.unparse(call), mode="eval").body)) for call in calls]
    return nbformat.v4.new_code_cell(("# HIDDEN\n" if hidden else "") + "\n".join(body))


def answer_cell() -> nbformat.NotebookNode:
    """Where a student writes the answer that a removed written solution gave (otter's wording)."""
    return nbformat.v4.new_markdown_cell(
        "_Type your answer here, replacing this text._", metadata={"tags": ["otter_answer_cell"]}
    )


def hand_in_cells(chapter: Path) -> list[nbformat.NotebookNode]:
    """The last cells of a student version: save, then export a zip to hand in (genai_checks.submit)."""
    text = (
        "## Handing in\n\n"
        "Save the notebook (File → Save), then run the next cell: it writes a zip of the notebook, which "
        "is what you hand in (in Colab it downloads it). Put your name in it if your teacher asks."
    )
    code = f'from genai_checks.submit import export_submission\n\nexport_submission("{chapter.stem}.ipynb", student="")'
    return [nbformat.v4.new_markdown_cell(text), nbformat.v4.new_code_cell(code)]


def master_notebook(chapter: Path) -> tuple[nbformat.NotebookNode, list[Exercise]]:
    """The chapter in otter-assign's format (https://otter-grader.readthedocs.io, format v1)."""
    pieces, exercises = read_pieces(chapter)
    source = nbformat.read(chapter.with_suffix(".ipynb"), as_version=4)
    cells = [raw(assignment_config(chapter.stem, any(e.checked for e in exercises)))]
    question: Exercise | None = None

    def close() -> None:
        if question is None:
            return
        if question.checked:
            cells.append(raw("# BEGIN TESTS"))
            if question.checks:
                cells.append(otter_test_cell(question, question.checks, hidden=False))
            if question.hidden_checks:
                cells.append(otter_test_cell(question, question.hidden_checks, hidden=True))
            cells.append(raw("# END TESTS"))
        cells.append(raw("# END QUESTION"))

    for piece in pieces:
        if piece.exercise is not question:
            close()
            question = piece.exercise
            if question is not None:
                config = {"name": question.name, "points": question.points, "check_cell": False}
                if not question.checked:
                    config["manual"] = True
                cells.append(raw("# BEGIN QUESTION\n" + yaml.safe_dump(config, sort_keys=False).strip()))
        if piece.role == "hidden-check":
            if question is None:
                raise ValueError(f"{chapter.name}: a cell tagged hidden-check outside an exercise")
            continue  # it is an otter test now, outside every notebook
        if piece.role == "solution" and question is not None:
            if piece.cell.cell_type == "markdown" and question.checked:
                cells.append(answer_cell())  # otter adds one itself to hand-graded questions only
            cells += [raw("# BEGIN SOLUTION"), piece.cell, raw("# END SOLUTION")]
        else:
            cells.append(piece.cell)
    close()
    if exercises:
        cells += hand_in_cells(chapter)
    master = nbformat.v4.new_notebook(cells=cells, metadata=source.metadata)
    master.nbformat_minor = source.nbformat_minor
    return master, exercises


@dataclass
class Made:
    chapter: str
    student: Path
    grader: Path | None  # None for a chapter without checks
    exercises: int
    checked: int
    seconds: float


def make_student_version(chapter: Path, out: Path) -> Made:
    """Run otter assign on one chapter into ``out/<chapter>/``."""
    import otter.assign  # noqa: PLC0415 (slow to import; only here)

    start = time.perf_counter()
    master, exercises = master_notebook(chapter)
    result = out / chapter.stem
    shutil.rmtree(result, ignore_errors=True)
    result.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="otter-master-") as tmp:
        path = Path(tmp) / f"{chapter.stem}.ipynb"
        nbformat.write(master, path)
        otter.assign.main(str(path), str(result.resolve()), no_pdfs=True, no_run_tests=True)
    grader = None
    zips = sorted((result / "autograder").glob("*-autograder_*.zip"))
    if zips:  # otter stamps the name with the time; a fixed name is easier to hand around
        grader = zips[-1].rename(result / "autograder" / f"{chapter.stem}-autograder.zip")
    return Made(
        chapter.stem,
        result / "student" / f"{chapter.stem}.ipynb",
        grader,
        len(exercises),
        sum(e.checked for e in exercises),
        time.perf_counter() - start,
    )


def _make(args: tuple[Path, Path]) -> Made:
    return make_student_version(*args)


def make_all(chapters: list[Path], out: Path, jobs: int) -> list[Made]:
    drift = library_drift()
    if drift:
        print(f"note: the grader bundles install {library_requirement()}, but {drift}.", file=sys.stderr)
    for chapter in [c for c in chapters if not c.with_suffix(".ipynb").exists()]:
        print(f"skipped {chapter}: it has no .ipynb twin yet (`make sync` makes it)", file=sys.stderr)
        chapters.remove(chapter)
    out.mkdir(parents=True, exist_ok=True)
    if jobs <= 1:
        return [make_student_version(c, out) for c in chapters]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(_make, [(c, out) for c in chapters]))


# The exercise editions: each chapter's student version, committed so that Colab opens it from GitHub
# ("Open the exercises in Colab" in README.md and on each chapter page). `make sync` writes them;
# tests/test_student.py checks that they are what `make student` makes now.
EDITIONS = ROOT / "exercises"


def exercise_edition(made: Made) -> str:
    """A student version as committed: stable cell ids (otter draws random ones), no outputs."""
    notebook = nbformat.read(made.student, as_version=4)
    for index, cell in enumerate(notebook.cells):
        cell.id = hashlib.sha1(f"{made.chapter}:exercises:{index}".encode()).hexdigest()[:8]
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nbformat.writes(notebook) + "\n"


def write_editions(made: list[Made], folder: Path = EDITIONS) -> list[Path]:
    """The exercise edition of every chapter with exercises, written to `folder`; stale ones removed."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {folder / f"{m.chapter}.ipynb": m for m in made if m.exercises}
    for stale in set(folder.glob("*.ipynb")) - set(wanted):
        stale.unlink()
    for path, m in wanted.items():
        path.write_text(exercise_edition(m), encoding="utf8")
    return sorted(wanted)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assignments", description=__doc__.splitlines()[0])
    parser.add_argument(
        "chapters", nargs="*", type=Path, help="chapter .md files (default: every book/<part>/<nn>_<topic>.md)"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"default: {DEFAULT_OUT}")
    parser.add_argument(
        "--jobs", type=int, default=min(2, os.cpu_count() or 1), help="chapters made at once (default: 2)"
    )
    parser.add_argument(
        "--editions", action="store_true", help=f"also write the exercise editions to {EDITIONS.relative_to(ROOT)}/"
    )
    args = parser.parse_args(argv)
    chapters = [c.resolve() for c in args.chapters] or chapter_sources()
    start = time.perf_counter()
    made = make_all(chapters, args.out.resolve(), args.jobs)
    for m in made:
        grader = m.grader.relative_to(args.out.resolve()) if m.grader else "no checked exercise, no grader"
        print(
            f"{m.chapter:28s} {m.exercises} exercises, {m.checked} checked  "
            f"-> {m.student.relative_to(args.out.resolve())}, {grader}  ({m.seconds:.1f} s)"
        )
    print(f"{len(made)} student versions in {args.out} ({time.perf_counter() - start:.0f} s)")
    if args.editions:
        written = write_editions(made)
        print(f"{len(written)} exercise editions in {EDITIONS.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
