"""The publishing workflow runs only make targets that exist, and the cache keys of `make book` are right.

.github/workflows/book.yml builds the book on every push to main and deploys it to GitHub Pages. CI
here has no GitHub, so it checks that every command of the workflow is a `make` target of this
Makefile, that the folders it caches and uploads are the ones the targets write, and runs the
targets itself: `make book` and `make site` build the strict test book (tests/test_book.py), and
`make release-tag` runs below in a clone. The keys of book/build.py are checked on a copy of the book:
a prose edit keeps every key, a code edit changes its chapter's key and those of the chapters that
load its checkpoints, a library edit or another budget changes them all.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from helpers.makefile import phony_and_targets

from book import build
from book.reader import library_version

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"
MAKE_VARIABLE = re.compile(r"^[A-Z_]+=")


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf8"))


def steps() -> list[dict]:
    return [step for job in workflow()["jobs"].values() for step in job.get("steps", [])]


def test_every_command_of_the_workflow_is_an_existing_make_target():
    commands = [step["run"] for step in steps() if "run" in step]
    assert commands, "the workflow runs nothing"
    phony, defined = phony_and_targets(ROOT)
    targets = phony & defined
    called = []
    for command in commands:
        words = shlex.split(command)
        assert words[0] == "make" and "\n" not in command.strip(), f"a workflow step runs {command!r}, not make"
        names = [w for w in words[1:] if not MAKE_VARIABLE.match(w)]
        assert names and set(names) <= targets, f"{command!r} calls {set(names) - targets}, which the Makefile lacks"
        called += names
    assert called[:3] == ["book", "site", "release-tag"], called
    uses = {step["uses"].split("@")[0] for step in steps() if "uses" in step}
    assert uses == {
        "actions/checkout",
        "actions/setup-python",
        "actions/cache",
        "actions/upload-pages-artifact",
        "actions/deploy-pages",
    }


def test_the_workflow_publishes_what_make_book_builds_on_pushes_to_main():
    flow = workflow()
    triggers = flow.get("on", flow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["push"]["branches"] == ["main"]
    by_action = {step["uses"].split("@")[0]: step for step in steps() if "uses" in step}
    assert by_action["actions/upload-pages-artifact"]["with"]["path"] == "_build/html"  # make book, make site
    assert by_action["actions/cache"]["with"]["path"] == "_build/cache"  # book/build.py's cache, every budget
    assert by_action["actions/setup-python"]["with"]["cache"] == "pip"
    build_step = next(step["run"] for step in steps() if step.get("run", "").startswith("make book"))
    assert "GENAI_BUDGET=standard" in build_step
    assert flow["permissions"]["pages"] == "write" and flow["permissions"]["contents"] == "write"


def test_make_release_tag_tags_the_version_once(tmp_path):
    if not shutil.which("git") or not shutil.which("make"):
        pytest.skip("git and make are needed")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--no-local", str(ROOT), str(clone)], check=True)
    tag = f"v{library_version(ROOT)}"
    subprocess.run(["git", "-C", str(clone), "tag", "-d", tag], capture_output=True, check=False)
    first = subprocess.run(["make", "-C", str(clone), "release-tag"], capture_output=True, text=True, check=False)
    assert first.returncode == 0 and f"tagged {tag}" in first.stdout, first.stdout + first.stderr
    listed = subprocess.run(["git", "-C", str(clone), "tag", "--list", tag], capture_output=True, text=True)
    assert listed.stdout.strip() == tag
    again = subprocess.run(["make", "-C", str(clone), "release-tag"], capture_output=True, text=True, check=False)
    assert again.returncode == 0 and "tagged already" in again.stdout, again.stdout + again.stderr


@pytest.fixture
def book_copy(tmp_path) -> Path:
    """The sources that the keys read: the table of contents, the chapters' .md, the library."""
    for name in ("_toc.yml", "_config.yml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    skip = shutil.ignore_patterns("*.ipynb", "checkpoints", "__pycache__", "_ext")
    for folder in ("book", "genai_lib", "genai_checks"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=skip)
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf8")


def test_the_cache_keys_follow_code_library_budget_and_checkpoint_upstreams(book_copy):
    keys = build.notebook_keys("standard", book_copy)
    ch03, ch13, ch14, ch15 = (
        "book/part1/03_dcgan",
        "book/part4/13_text_to_image",
        "book/part4/14_autoregressive_t2i",
        "book/part4/15_evaluating_t2i",
    )

    # A prose edit: one word of chapter 13's text. No key changes, so nothing re-executes.
    edit(book_copy / f"{ch13}.md", "miniature", "small-scale")
    assert build.notebook_keys("standard", book_copy) == keys

    # A code edit in chapter 13: its key, and those of 14 and 15, which load its checkpoints.
    edit(book_copy / f"{ch13}.md", "import genai_lib as gl", "import genai_lib as gl  # edited")
    after = build.notebook_keys("standard", book_copy)
    assert {name for name in keys if after[name] != keys[name]} == {ch13, ch14, ch15}

    # A code edit in chapter 03 changes only chapter 03.
    edit(book_copy / f"{ch03}.md", "import genai_lib as gl", "import genai_lib as gl  # edited")
    assert {name for name in keys if build.notebook_keys("standard", book_copy)[name] != after[name]} == {ch03}

    # The library, or another budget: every key.
    before_library = build.notebook_keys("standard", book_copy)
    edit(book_copy / "genai_lib" / "train.py", '"""', '"""Edited. ')
    library = build.notebook_keys("standard", book_copy)
    assert all(library[name] != before_library[name] for name in keys)
    smoke = build.notebook_keys("smoke", book_copy)
    assert all(smoke[name] != library[name] for name in keys)
