"""`make student` makes, for every chapter, a student version whose checks fail and a grader that grades.

nbval (`make test`) already proves that every solution notebook passes its checks. Here:

1. `python -m assignments` (what `make student` runs) writes a student notebook for every chapter and
   an otter grader bundle for every chapter with checked exercises, within the issue's 2 minutes;
2. each student notebook is its chapter with the solutions, and nothing else, taken out;
3. each student notebook, executed as a student receives it (smoke budget, with the checkpoints its
   chapter's nbval run trained when they are there), fails the check of every exercise it asks for (a
   `CheckError`, or a `NameError` for a variable the solution would define), while every other cell
   runs; so every check can fail, and the starter code breaks nothing else;
4. hidden checks reach the grader and never the student, and otter's grader, run locally (`otter
   run`, no Docker), gives full marks to a solution notebook and none to a student notebook.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import ipykernel.kernelspec
import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from helpers.tiny_chapter import make_tiny_chapter  # noqa: E402

from assignments.chapters import chapter_sources, check_calls, read_pieces  # noqa: E402
from assignments.grade import run_otter, scores_of  # noqa: E402

CHAPTERS = chapter_sources(
    ROOT
)  # every notebook of _toc.yml; one without its .ipynb fails here, and in test_notebooks.py
# The environment this run was started with (CI's GENAI_OFFLINE, data mirrors, checkpoint folder),
# taken before conftest.py gives each test an empty data cache: the notebooks run as nbval runs them.
START_ENV = dict(os.environ)
MAKE_STUDENT_BUDGET_S = 120  # the issue: every chapter in under 2 minutes
GRADED_CHAPTER = "00_how_to_use"  # one real chapter graded end to end by otter (the fastest at smoke)
STUDENT_ERRORS = {"CheckError", "NameError"}


def kernel_env(tmp: Path, *, share_checkpoints: bool = False) -> dict[str, str]:
    """The kernel's environment: smoke budget, and a checkpoint folder of its own unless `share_checkpoints`.

    Shared, the folder is the run's own (make test sets it for nbval): a student version then loads what
    its chapter's nbval run trained, as it would for a student who ran the chapter first, instead of
    training it a second time. Its body is the chapter's code, which nbval runs, and no exercise trains
    into a checkpoint (test_exercises_never_train_into_a_checkpoint), so nothing it writes reaches nbval.
    """
    env = dict(START_ENV, GENAI_BUDGET="smoke", GENAI_WIDGETS="off", GENAI_PROGRESS="off")
    if share_checkpoints and "GENAI_CHECKPOINT_DIR" in env:
        return env
    env.setdefault("GENAI_CHECKPOINT_DIR", str(tmp / "checkpoints"))
    env["GENAI_CHECKPOINT_DIR"] = str(Path(env["GENAI_CHECKPOINT_DIR"]) / "student" / tmp.name)
    return env


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("student")
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "assignments", "--out", str(out)],
        cwd=ROOT,
        env=START_ENV,
        capture_output=True,
        text=True,
        timeout=600,
    )
    seconds = time.perf_counter() - start
    assert result.returncode == 0, f"python -m assignments failed:\n{result.stdout}\n{result.stderr}"
    print(result.stdout)
    assert seconds < MAKE_STUDENT_BUDGET_S, f"make student took {seconds:.0f} s for {len(CHAPTERS)} chapters"
    return out


def student_of(made: Path, chapter: Path) -> nbformat.NotebookNode:
    return nbformat.read(made / chapter.stem / "student" / f"{chapter.stem}.ipynb", as_version=4)


def stripped(source: str) -> str:
    """A solution cell as the student sees it: each BEGIN/END SOLUTION block becomes `...`."""
    out, inside = [], False
    for line in source.splitlines():
        if line.strip() == "# BEGIN SOLUTION":
            out.append(line.replace("# BEGIN SOLUTION", "..."))
            inside = True
        elif line.strip() == "# END SOLUTION":
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def md_lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines() if line.strip()]


# ------------------------------------------------------------------------------------------------
# 1-2. What `make student` writes


def test_every_chapter_has_a_student_version_and_checked_ones_a_grader(made):
    for chapter in CHAPTERS:
        exercises = read_pieces(chapter)[1]
        assert (made / chapter.stem / "student" / f"{chapter.stem}.ipynb").exists(), chapter.stem
        grader = made / chapter.stem / "autograder" / f"{chapter.stem}-autograder.zip"
        checked = {e.name for e in exercises if e.checked}
        if not checked:
            assert not grader.exists(), f"{chapter.stem} has no checked exercise but a grader"
            continue
        with zipfile.ZipFile(grader) as z:
            tests = {Path(n).stem for n in z.namelist() if n.startswith("tests/")}
        assert tests == checked, f"{grader.name} tests {sorted(tests)}, the chapter checks {sorted(checked)}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_student_version_is_the_chapter_without_its_solutions(made, chapter):
    pieces, exercises = read_pieces(chapter)
    student = student_of(made, chapter)
    text = json.dumps(student.cells)
    code = [c.source for c in student.cells if c.cell_type == "code"]
    assert not any(re.search(r"#\s*(BEGIN|END) SOLUTION", source) for source in code)

    # Code: every cell of the chapter, in order, solutions replaced by `...`, hidden checks left out.
    expected = [stripped(p.cell.source) for p in pieces if p.cell.cell_type == "code" and p.role != "hidden-check"]
    got = [c.source for c in student.cells if c.cell_type == "code"]
    if exercises:  # the student version ends with the cell that exports a submission
        assert "export_submission(" in got[-1] and f'"{chapter.stem}.ipynb"' in got[-1]
        got = got[:-1]
    assert got == expected, f"{chapter.stem}: the student version's code is not the chapter's without solutions"
    for e in exercises:
        if e.code_solution:
            assert any(p.exercise is e and p.role == "solution" for p in pieces)

    # Prose: every line of the chapter but those of the written solutions; otter adds answer cells.
    solutions = [p.cell.source for p in pieces if p.cell.cell_type == "markdown" and p.role == "solution"]
    expected_md = [
        line
        for p in pieces
        if p.cell.cell_type == "markdown" and p.role != "solution"
        for line in md_lines(p.cell.source)
    ]
    got_md = [
        line
        for c in student.cells
        if c.cell_type == "markdown" and not c.source.startswith("## Handing in")
        for line in md_lines(c.source)
        if not re.fullmatch(r"<!-- (BEGIN|END) QUESTION -->|_Type your answer here, replacing this text._", line)
    ]
    assert got_md == expected_md, f"{chapter.stem}: the student version's prose differs from the chapter's"
    for solution in solutions:
        assert solution not in text
    assert "{admonition} Solution" not in text

    # Hidden checks stay in the grader.
    for test in student.metadata.get("otter", {}).get("tests", {}).values():
        assert "hidden=True" not in test


# ------------------------------------------------------------------------------------------------
# 3. Executed as a student receives it


class CurrentEnvKernels(KernelSpecManager):
    """The `python3` kernel of the interpreter running pytest, as nbval --nbval-current-env uses."""

    def get_kernel_spec(self, kernel_name):
        return self.kernel_spec_class(
            resource_dir=ipykernel.kernelspec.RESOURCES, **ipykernel.kernelspec.get_kernel_dict()
        )


def execute(path: Path, env: dict[str, str], timeout: int = 600) -> nbformat.NotebookNode:
    """Run every cell of a notebook in its folder, going on after errors; returns it with outputs."""
    nb = nbformat.read(path, as_version=4)
    km = KernelManager(kernel_name="python3", kernel_spec_manager=CurrentEnvKernels())
    client = NotebookClient(
        nb, km=km, timeout=timeout, allow_errors=True, resources={"metadata": {"path": str(path.parent)}}
    )
    try:
        client.execute(env=env)
    finally:  # a kernel manager passed in is ours to shut down
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    return nb


def errors(cell) -> list[tuple[str, str]]:
    return [(o.ename, o.evalue) for o in cell.get("outputs", []) if o.output_type == "error"]


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_student_version_fails_every_check_and_runs_everything_else(made, chapter, tmp_path):
    pieces = [p for p in read_pieces(chapter)[0] if p.role != "hidden-check"]
    if not any(p.role == "solution" and p.cell.cell_type == "code" for p in pieces):
        pytest.skip("no code solution: the student version's code is the chapter's, which nbval runs")
    start = time.perf_counter()
    env = kernel_env(tmp_path, share_checkpoints=True)
    nb = execute(made / chapter.stem / "student" / f"{chapter.stem}.ipynb", env)
    print(f"{chapter.stem}: student version executed in {time.perf_counter() - start:.0f} s")
    cells = [c for c in nb.cells if c.cell_type == "code"]
    export = cells.pop()  # the last cell exports the submission: it runs, and writes the zip
    assert "export_submission(" in export.source and not errors(export), errors(export)
    assert (made / chapter.stem / "student" / f"{chapter.stem}-submission.zip").is_file()
    code_pieces = [p for p in pieces if p.cell.cell_type == "code"]
    assert len(cells) == len(code_pieces)
    asked: set[str] = set()
    for cell, piece in zip(cells, code_pieces, strict=True):
        raised = errors(cell)
        if piece.exercise is not None and piece.role in ("check", "solution") and check_calls(cell.source):
            asked.add(piece.exercise.number)
            assert raised, (
                f"{chapter.stem}, exercise {piece.exercise.number}: its check passed on the "
                f"student version (starter code), so it cannot fail:\n{cell.source}"
            )
            assert raised[0][0] in STUDENT_ERRORS, (
                f"{chapter.stem}, exercise {piece.exercise.number}: the check cell raised {raised[0]}, "
                f"not a CheckError telling the student to write the solution:\n{cell.source}"
            )
        else:
            assert not raised, (
                f"{chapter.stem}: a cell that is no exercise check fails in the student "
                f"version with {raised}; if it uses an exercise's answer, give the starter "
                f"a fallback:\n{cell.source}"
            )
    expected = {e.number for e in read_pieces(chapter)[1] if e.checks}
    assert asked == expected, f"{chapter.stem}: exercises whose check did not run: {expected - asked}"


TRAINS_INTO_A_CHECKPOINT = re.compile(r"ckpt_path|checkpoint_path|\bt2i\.train_|\bfit\(|\bcached\(")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_exercises_never_train_into_a_checkpoint(chapter):
    """What a student version trains in an exercise would land where its chapter's run loads from."""
    for piece in read_pieces(chapter)[0]:
        if piece.exercise is not None and piece.cell.cell_type == "code":
            assert not TRAINS_INTO_A_CHECKPOINT.search(piece.cell.source), (
                f"{chapter.stem}, exercise {piece.exercise.number} trains into a checkpoint; the student "
                f"versions share the chapters' checkpoint folder under make test:\n{piece.cell.source}"
            )


# ------------------------------------------------------------------------------------------------
# 4. Hidden checks, and grading with otter


def otter_run(grader: Path, notebook: Path, out: Path, env: dict[str, str]) -> dict:
    result = run_otter(grader, notebook, out, env)  # what `make grade` runs (assignments/grade.py)
    assert result.returncode == 0, f"otter run failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return json.loads((out / "results.json").read_text())


def scores(results: dict) -> dict[str, tuple[float, float]]:
    """Score and maximum of each question."""
    return scores_of(results["tests"])


TINY = """# Tiny chapter

```{code-cell} ipython3
import genai_lib as gl
x = 2
```

## Exercises

### Exercise 99.1 — The optimal discriminator (easy, ~5 min)

Write `optimal_discriminator(p_data_x, p_g_x)`.

```{code-cell} ipython3
def optimal_discriminator(p_data_x, p_g_x):
    # BEGIN SOLUTION
    return p_data_x / (p_data_x + p_g_x)
    # END SOLUTION
```

```{code-cell} ipython3
from genai_checks import check_optimal_discriminator

check_optimal_discriminator(optimal_discriminator)
```

```{code-cell} ipython3
:tags: [hidden-check]
check_optimal_discriminator(optimal_discriminator)  # SECRET-CHECK
```

### Exercise 99.2 — Why (medium, ~10 min)

Explain.

```{admonition} Solution
:class: dropdown

Because SECRET-ANSWER.
```

## References

None.
"""


def test_hidden_checks_reach_the_grader_only_and_otter_grades_a_tiny_chapter(tmp_path):
    made = make_tiny_chapter(tmp_path, "99_tiny", TINY)

    student = nbformat.read(made.student, as_version=4)
    text = json.dumps(student)
    assert "SECRET-CHECK" not in text and "hidden=True" not in text
    assert "SECRET-ANSWER" not in text and "return p_data_x /" not in text
    with zipfile.ZipFile(made.grader) as z:
        test = z.read("tests/exercise_99_1.py").decode()
    assert test.count("check_optimal_discriminator(env['optimal_discriminator'])") == 2
    assert "hidden=True" in test and "hidden=False" in test
    assert {Path(n).stem for n in z.namelist() if n.startswith("tests/")} == {"exercise_99_1"}

    env = kernel_env(tmp_path)
    solution = otter_run(
        made.grader, tmp_path / "out" / "99_tiny" / "autograder" / "99_tiny.ipynb", tmp_path / "graded-solution", env
    )
    assert scores(solution) == {"exercise_99_1": (1.0, 1.0)}
    graded_student = otter_run(made.grader, made.student, tmp_path / "graded-student", env)
    assert scores(graded_student) == {"exercise_99_1": (0.0, 1.0)}


@pytest.mark.slow
def test_otter_grades_a_real_chapter_solution_full_marks_and_student_version_zero(made, tmp_path):
    chapter = next(c for c in CHAPTERS if c.stem == GRADED_CHAPTER)
    grader = made / chapter.stem / "autograder" / f"{chapter.stem}-autograder.zip"
    checked = {e.name: float(e.points) for e in read_pieces(chapter)[1] if e.checked}
    env = kernel_env(tmp_path)
    solution = otter_run(
        grader, made / chapter.stem / "autograder" / f"{chapter.stem}.ipynb", tmp_path / "solution", env
    )
    assert scores(solution) == {name: (points, points) for name, points in checked.items()}, solution
    student = otter_run(grader, made / chapter.stem / "student" / f"{chapter.stem}.ipynb", tmp_path / "student", env)
    assert scores(student) == {name: (0.0, points) for name, points in checked.items()}, student


# ------------------------------------------------------------------------------------------------
# 5. The teachers' page lists every exercise as the chapters mark it


def test_the_exercise_table_of_the_assignments_guide_is_up_to_date():
    from assignments.guide import PAGE, table, with_table

    text = PAGE.read_text(encoding="utf8")
    assert with_table(text, table()) == text, (
        f"The exercise table of {PAGE.relative_to(ROOT)} disagrees with the chapters' exercise headings "
        "(a chapter or exercise was added, renamed or re-marked): run `.venv/bin/python -m assignments.guide`."
    )


def test_the_exercise_table_can_fail(tmp_path):
    from assignments.guide import END, START, with_table

    stale = f"# Page\n\n{START}\n\n| old |\n{END}\n\nAfter.\n"
    assert with_table(stale, "| new |\n") == f"# Page\n\n{START}\n\n| new |\n\n{END}\n\nAfter.\n"
    with pytest.raises(ValueError, match="marker"):
        with_table("# Page without markers\n", "| new |\n")


def test_written_solutions_are_recognised_in_exercises_only():
    from assignments.chapters import split_markdown

    md = "\n".join(
        [
            "### Exercise 1.1 — X (easy, ~5 min)",
            "",
            "Text.",
            "",
            "```{admonition} Solution",
            ":class: dropdown",
            "",
            "Secret one",
            "```",
            "",
            "```{admonition} Hint",
            ":class: dropdown",
            "",
            "A hint",
            "```",
            "",
            "````{admonition} Why a view is wrong",
            ":class: dropdown",
            "",
            "```python",
            "# no heading",
            "```",
            "````",
            "",
            "```{note}",
            "A note",
            "```",
            "",
            ":::{admonition} Solution to (b)",
            "Secret two",
            ":::",
            "",
            "## References",
            "",
            "```{admonition} Solution",
            ":class: dropdown",
            "",
            "Not an exercise's",
            "```",
        ]
    )
    parts = split_markdown(md, in_exercise=False)
    solutions = [text for text, solution in parts if solution]
    assert [s.splitlines()[0] for s in solutions] == [
        "```{admonition} Solution",
        "````{admonition} Why a view is wrong",
        ":::{admonition} Solution to (b)",
    ]
    kept = [line for text, _ in parts for line in text.splitlines() if line]
    assert kept == [line for line in md.splitlines() if line]


def test_points_follow_difficulty_and_time_in_the_bundles_and_the_student_headings(made):
    from assignments.chapters import points_for

    assert points_for("easy", 10) == 1 and points_for("medium", 20) == 3 and points_for("hard", 60) == 8
    seen = set()
    for chapter in CHAPTERS:
        exercises = read_pieces(chapter)[1]
        student = "\n".join(c.source for c in student_of(made, chapter).cells if c.cell_type == "markdown")
        grader = made / chapter.stem / "autograder" / f"{chapter.stem}-autograder.zip"
        bundled = {}
        if grader.exists():
            with zipfile.ZipFile(grader) as z:
                for name in z.namelist():
                    if name.startswith("tests/"):  # otter's test file: `points = N`, shared among its cases
                        found = re.search(r"^points = ([0-9.]+)$", z.read(name).decode(), re.MULTILINE)
                        bundled[Path(name).stem] = float(found[1]) if found else None
        for e in exercises:
            seen.add((e.difficulty, e.points))
            assert e.points == (e.points_override or points_for(e.difficulty, e.minutes))
            assert f"{e.points} point" in student and e.student_heading.removeprefix("### ") in student, (
                f"{chapter.stem}: the student version's heading of exercise {e.number} does not show its points"
            )
            if e.name in bundled:
                assert bundled[e.name] == pytest.approx(e.points), (chapter.stem, e.name, bundled[e.name])
    assert len({points for _, points in seen}) >= 4, f"points hardly differ: {sorted(seen)}"


def test_the_committed_exercise_editions_are_the_student_versions_made_now(made):
    from assignments.student import EDITIONS, Made, exercise_edition

    expected = set()
    for chapter in CHAPTERS:
        if not read_pieces(chapter)[1]:
            continue
        path = EDITIONS / f"{chapter.stem}.ipynb"
        expected.add(path)
        assert path.exists(), f"exercises/{path.name} is missing: run `make sync`."
        student = made / chapter.stem / "student" / f"{chapter.stem}.ipynb"
        now = exercise_edition(Made(chapter.stem, student, None, 1, 0, 0.0))
        assert path.read_text(encoding="utf8") == now, f"exercises/{path.name} is out of date: run `make sync`."
        code = [c.source for c in nbformat.reads(now, as_version=4).cells if c.cell_type == "code"]
        assert not any("# BEGIN SOLUTION" in source for source in code) and "hidden=True" not in now
    assert set(EDITIONS.glob("*.ipynb")) == expected, "exercises/ holds an edition of no chapter: run `make sync`."
