"""`make grade`: a folder of submissions becomes one CSV gradebook with the right totals, offline.

A tiny chapter with two checked exercises (1 and 3 points by the points rule) is made into a student
version and a grader bundle, as `make student` makes them. Three students hand in: one the solved
notebook (as the zip its export cell writes), one the student version untouched, one with only the
first exercise solved. `python -m assignments.grade`, which `make grade` runs, must give 4, 0 and 1.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from helpers.tiny_chapter import make_tiny_chapter

from genai_checks.submit import export_submission

ROOT = Path(__file__).resolve().parents[1]

TWO = """# Two exercises

```{code-cell} ipython3
import genai_lib as gl
import torch
```

## Exercises

### Exercise 99.1 — The optimal discriminator (easy, ~10 min)

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

### Exercise 99.2 — A KL divergence (medium, ~20 min)

```{code-cell} ipython3
def kl_to_standard_normal(mu, logvar):
    # BEGIN SOLUTION
    return 0.5 * (mu.square() + logvar.exp() - logvar - 1).sum(-1)
    # END SOLUTION
```

```{code-cell} ipython3
from genai_checks import check_gaussian_kl

check_gaussian_kl(kl_to_standard_normal)
```

## References

None.
"""

FIRST_SOLUTION = "    return p_data_x / (p_data_x + p_g_x)"


@pytest.mark.slow
def test_grading_a_folder_writes_a_gradebook_with_the_right_totals(tmp_path):
    made = make_tiny_chapter(tmp_path, "99_two", TWO)
    bundles = tmp_path / "out"

    hand_ins = tmp_path / "hand-ins"
    hand_ins.mkdir()
    solved = bundles / "99_two" / "autograder" / "99_two.ipynb"
    export_submission(str(solved), student="ada", out=hand_ins)  # the zip the export cell writes
    (hand_ins / "bo.ipynb").write_text(made.student.read_text())  # nothing written
    student = nbformat.read(made.student, as_version=4)
    first = next(c for c in student.cells if c.cell_type == "code" and "def optimal_discriminator" in c.source)
    first.source = first.source.replace("    ...", FIRST_SOLUTION)
    assert FIRST_SOLUTION in first.source
    (hand_ins / "cy").mkdir()
    nbformat.write(student, hand_ins / "cy" / "99_two.ipynb")  # one folder per student

    out = tmp_path / "results"
    env = dict(os.environ, GENAI_OFFLINE="1")
    done = subprocess.run(
        [sys.executable, "-m", "assignments.grade", str(hand_ins), "99", "--out", str(out), "--bundles", str(bundles)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    rows = list(csv.DictReader((out / "99_two-gradebook.csv").open()))
    totals = {
        row["student"]: (float(row["points"]), float(row["possible"])) for row in rows if row["question"] == "total"
    }
    assert totals == {"ada": (4.0, 4.0), "bo": (0.0, 4.0), "cy": (1.0, 4.0)}, rows
    per_question = {(r["student"], r["question"]): float(r["points"]) for r in rows if r["question"] != "total"}
    assert per_question[("cy", "exercise_99_1")] == 1.0 and per_question[("cy", "exercise_99_2")] == 0.0
    feedback = (out / "bo" / "feedback.md").read_text()
    assert "exercise_99_2" in feedback and "write your solution" in feedback.lower(), feedback


def test_make_grade_says_what_to_pass():
    done = subprocess.run(["make", "-C", str(ROOT), "grade"], capture_output=True, text=True, check=False)
    assert done.returncode != 0 and "make grade SUBMISSIONS=" in done.stderr
