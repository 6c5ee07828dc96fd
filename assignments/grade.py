"""Grade a folder of submissions of one chapter with its otter bundle, and write one gradebook.

    python -m assignments.grade SUBMISSIONS CHAPTER [--out results/]   # what `make grade` runs

SUBMISSIONS holds what students handed in: the zips that the last cell of the exercise edition
writes (`<chapter>-<name>.zip`), or notebooks, either at the top (`alice.ipynb`, `alice.zip`) or in
one folder per student (`alice/<chapter>.ipynb`). Each is run by `otter run` against the chapter's
grader bundle (made by `make student`) at the smoke budget, so that training cells take seconds, in
a fresh kernel of this environment; no network and no container are needed. The gradebook,
`<out>/<chapter>-gradebook.csv`, has one row per student and question (student, question, points,
possible) and one "total" row per student; `<out>/<student>/feedback.md` says what each check said.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from assignments.chapters import ROOT

BUNDLES = ROOT / "_build" / "student"


@dataclass
class Graded:
    student: str
    scores: dict[str, tuple[float, float]]  # question -> (points, possible)
    feedback: str
    error: str = ""  # why the submission could not be graded at all


def submissions(folder: Path, chapter: str) -> dict[str, Path]:
    """Student name -> the notebook or zip they handed in."""
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.is_dir():
            inside = sorted([*path.glob("*.ipynb"), *path.glob("*.zip")])
            if inside:
                found[path.name] = inside[0]
        elif path.suffix in (".ipynb", ".zip"):
            name = path.stem.removeprefix(f"{chapter}-").removeprefix(chapter).strip("-_") or path.stem
            found[name] = path
    return found


def notebook_of(submission: Path, work: Path) -> Path:
    """The notebook of a submission: the file itself, or the one .ipynb in a zip."""
    if submission.suffix == ".ipynb":
        return submission
    with zipfile.ZipFile(submission) as archive:
        names = [n for n in archive.namelist() if n.endswith(".ipynb") and not Path(n).name.startswith(".")]
        if len(names) != 1:
            raise ValueError(f"{submission.name} holds {len(names)} notebooks; a submission holds exactly one.")
        target = work / Path(names[0]).name
        target.write_bytes(archive.read(names[0]))
    return target


def run_otter(bundle: Path, notebook: Path, out: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`otter run`: the notebook in a fresh kernel of this environment, then the bundle's tests; out/results.json."""
    out.mkdir(parents=True, exist_ok=True)
    otter = Path(sys.executable).with_name("otter")
    command = [str(otter), "run", "--no-logo", "-a", str(bundle), "-o", str(out), str(notebook)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800, check=False)


def scores_of(tests: list[dict]) -> dict[str, tuple[float, float]]:
    """Question -> (points, possible) from the tests of otter's results.json (Gradescope's format)."""
    return {t["name"]: (float(t["score"]), float(t["max_score"])) for t in tests if "score" in t}


def grade_one(student: str, submission: Path, bundle: Path, out: Path) -> Graded:
    """Run otter on one submission; its scores per question and what the checks said."""
    folder = out / student
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            notebook = notebook_of(submission, Path(tmp))
        except (ValueError, zipfile.BadZipFile) as error:
            return Graded(student, {}, "", f"could not read the submission: {error}")
        env = dict(os.environ, GENAI_BUDGET="smoke", GENAI_WIDGETS="off", GENAI_PROGRESS="off")
        env["GENAI_CHECKPOINT_DIR"] = str(Path(tmp) / "checkpoints")
        done = run_otter(bundle, notebook, folder, env)
    results = folder / "results.json"
    if done.returncode != 0 or not results.exists():
        return Graded(student, {}, done.stdout[-2000:], f"otter could not run the notebook:\n{done.stderr[-2000:]}")
    tests = json.loads(results.read_text())["tests"]
    scores = scores_of(tests)
    feedback = "\n\n".join(
        f"### {t['name']}: {t.get('score')} of {t.get('max_score')}\n\n{t.get('output', '')}" for t in tests
    )
    return Graded(student, scores, feedback)


def possible_points(bundle: Path) -> dict[str, float]:
    """Question -> its points, as the bundle's otter tests say (`points = N`; make student sets them)."""
    with zipfile.ZipFile(bundle) as archive:
        tests = [n for n in archive.namelist() if n.startswith("tests/") and n.endswith(".py")]
        found = {
            Path(n).stem: re.search(r"^points = ([0-9.]+)$", archive.read(n).decode(), re.MULTILINE) for n in tests
        }
    return {name: float(match[1]) if match else 1.0 for name, match in found.items()}


def write_gradebook(graded: list[Graded], path: Path, possible: dict[str, float]) -> None:
    """One row per student and question (an ungraded question scores 0), and a total per student."""
    questions = sorted(possible, key=lambda q: [(int(n), letter) for n, letter in re.findall(r"(\d+)([a-z]?)", q)])
    with path.open("w", newline="", encoding="utf8") as file:
        writer = csv.writer(file)
        writer.writerow(["student", "question", "points", "possible"])
        for g in graded:
            points = {q: g.scores.get(q, (0.0, possible[q]))[0] for q in questions}
            for question in questions:
                writer.writerow([g.student, question, f"{points[question]:g}", f"{possible[question]:g}"])
            writer.writerow([g.student, "total", f"{sum(points.values()):g}", f"{sum(possible.values()):g}"])


def grade(folder: Path, chapter: str, out: Path, bundles: Path = BUNDLES) -> list[Graded]:
    bundle = bundles / chapter / "autograder" / f"{chapter}-autograder.zip"
    if not bundle.is_file():
        raise FileNotFoundError(f"No grader bundle {bundle}: run `make student` first (it makes every chapter's).")
    handed_in = submissions(folder, chapter)
    if not handed_in:
        raise FileNotFoundError(
            f"No submissions in {folder}: expected .zip or .ipynb files, or one folder per student."
        )
    out.mkdir(parents=True, exist_ok=True)
    graded = []
    for student, path in handed_in.items():
        g = grade_one(student, path, bundle, out)
        (out / student).mkdir(parents=True, exist_ok=True)
        (out / student / "feedback.md").write_text(
            f"# {chapter}: {student}\n\n{g.error or g.feedback}\n", encoding="utf8"
        )
        print(
            f"{student:20s} "
            + (g.error.splitlines()[0] if g.error else f"{sum(p for p, _ in g.scores.values()):g} points")
        )
        graded.append(g)
    write_gradebook(graded, out / f"{chapter}-gradebook.csv", possible_points(bundle))
    print(f"gradebook: {out / f'{chapter}-gradebook.csv'}")
    return graded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assignments.grade", description=__doc__.splitlines()[0])
    parser.add_argument("submissions", type=Path)
    parser.add_argument("chapter", help="the chapter's number or file name: 05 or 05_vae")
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument("--bundles", type=Path, default=BUNDLES, help="where `make student` wrote the bundles")
    args = parser.parse_args(argv)
    names = sorted(p.name for p in args.bundles.glob(f"{args.chapter}*") if p.is_dir())
    if not names:
        print(f"No bundle for chapter {args.chapter!r} in {args.bundles}: run `make student`.", file=sys.stderr)
        return 2
    grade(args.submissions, names[0], args.out, args.bundles)
    return 0


if __name__ == "__main__":
    sys.exit(main())
