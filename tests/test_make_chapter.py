"""`make chapter N=...`: one chapter executed headless, named by its number (README, "The two commands")."""

import subprocess


def make(repo_root, *args):
    command = ["make", "--no-print-directory", "-C", str(repo_root), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_make_chapter_runs_one_notebook_by_number_and_says_what_to_pass_otherwise(repo_root):
    missing = make(repo_root, "chapter")
    assert missing.returncode != 0 and "Name the chapter: make chapter N=03" in missing.stderr
    unknown = make(repo_root, "chapter", "N=99")
    assert unknown.returncode != 0 and "No notebook book/*/99*.ipynb" in unknown.stderr
    # What it would run for N=00 (a dry run: the notebook itself runs in the one nbval pass of make test).
    planned = make(repo_root, "-n", "chapter", "N=00")
    assert "book/*/00*.ipynb" in planned.stdout and "--nbval-lax" in planned.stdout
