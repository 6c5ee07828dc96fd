"""Every notebook of the book is listed in _toc.yml, run by `make test`, a MyST notebook with a stripped,
in-sync .ipynb twin, and (for a chapter) in the book's chapter format.

Which pages are notebooks and chapters is book/chapters.py's answer, read from _toc.yml; the Makefile,
assignments/ and the part maps ask it too. Plain Markdown pages (book/appendices/a_reference.md) are
not notebooks and are not checked here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml
from helpers.makefile import phony_and_targets

from book import chapters as registry
from book import reader

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = [page.path for page in registry.notebooks(ROOT)]
CHAPTERS = [page.path for page in registry.chapters(ROOT)]
# Notebooks that execute but teach nothing to exercise: no parameters, summary or exercises.
REFERENCE_NOTEBOOKS = {page.path for page in registry.notebooks(ROOT) if page.kind == "reference"}
SITE = reader.Site.of(ROOT)
PAGES = {page.path: page for page in registry.notebooks(ROOT)}


def cells_of(notebook) -> list[tuple[str, str, list[str]]]:
    return [(c.cell_type, c.source, sorted(c.metadata.get("tags", []))) for c in notebook.cells]


def pairing_problems(md: Path, site: reader.Site | None = None) -> list[str]:
    """What is wrong with the .ipynb of one notebook page (empty when nothing is).

    The .ipynb is a build product of the .md (book/reader.py): it must be exactly what `make sync`
    makes from it now, with the same code cells, plain-Markdown prose and no outputs.
    """
    ipynb = md.with_suffix(".ipynb")
    if not ipynb.exists():
        return [f"{ipynb.name} is missing: run `make sync`."]
    page = PAGES.get(md) or registry.Page(md.stem, md, "", "chapter")
    twin = nbformat.read(ipynb, as_version=4)
    problems = []
    dirty = [i for i, c in enumerate(twin.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    if dirty:
        problems.append(f"{ipynb.name} keeps outputs in cells {dirty[:5]}: run `make sync` (it strips them).")
    elif ipynb.read_text(encoding="utf8") != reader.text_of(reader.reader_notebook(page, site or SITE)):
        problems.append(f"{ipynb.name} is out of sync with {md.name}: run `make sync`.")
    return problems


def test_there_are_chapters():
    assert len(CHAPTERS) >= 2
    appendices = {md.stem for md in NOTEBOOKS if md.parent.name == "appendices"}
    assert appendices == {"b_scaling", "c_glossary"}  # not a_reference, a plain page
    assert {md.stem for md in REFERENCE_NOTEBOOKS} == {"c_glossary"}
    kinds = {page.docname: page.kind for page in registry.pages(ROOT)}
    for docname in registry.REFERENCE_NOTEBOOKS:  # a renamed or deleted page leaves no stale name there
        assert kinds.get(docname) == "reference", (
            f"REFERENCE_NOTEBOOKS in book/chapters.py names {docname}, which is not a notebook of "
            "_toc.yml: correct or remove the name."
        )


@pytest.mark.parametrize("md", NOTEBOOKS, ids=lambda p: p.stem)
def test_ipynb_twin_is_in_sync_and_stripped(md):
    assert pairing_problems(md) == []


@pytest.mark.parametrize("md", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_code_cell_lost_its_header_and_became_prose(md):
    # A dropped ```{code-cell} line turns the code below it into Markdown that neither nbval nor the book runs,
    # ending in a stray closing fence: every fence of a Markdown cell must have its partner.
    notebook = jupytext.read(md)
    for i, cell in enumerate(notebook.cells):
        fences = [line for line in cell.source.splitlines() if line.lstrip().startswith("```")]
        if cell.cell_type == "markdown" and len(fences) % 2:
            raise AssertionError(
                f"{md.name}, cell {i}: a Markdown cell with an unmatched ``` fence, starting {cell.source[:60]!r}. "
                "A code cell probably lost its ```{code-cell} ipython3 line."
            )


def test_the_pairing_check_can_fail(tmp_path):
    md = tmp_path / "99_demo.md"
    md.write_text(CHAPTERS[0].read_text())
    page = registry.Page("99_demo", md, "", "chapter")
    md.with_suffix(".ipynb").write_text(reader.text_of(reader.reader_notebook(page, SITE)))
    assert pairing_problems(md) == []
    md.write_text(md.read_text() + "\nA new sentence citing {cite:t}`goodfellow2014gan`.\n")
    assert "out of sync" in pairing_problems(md)[0]  # a prose edit counts: the .ipynb shows the prose
    nb = jupytext.read(md)
    code = nbformat.v4.new_code_cell("print('new')", outputs=[nbformat.v4.new_output("stream", text="new\n")])
    nb.cells.append(code)
    nbformat.write(nb, md.with_suffix(".ipynb"))
    assert "keeps outputs" in pairing_problems(md)[0]


def repository_url() -> str:
    return yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]


@pytest.mark.parametrize("md", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_format(md):
    nb = jupytext.read(md)
    assert nb.metadata["jupytext"]["text_representation"]["format_name"] == "myst"
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    install, setup = code[0], code[1]
    assert "remove-cell" in install.metadata.get("tags", []), "the Colab install cell must be tagged remove-cell"
    assert install.source == reader.install_cell(ROOT), (
        "the Colab install cell must install this version of genai_lib from the repository named in "
        "_config.yml, as book/reader.py's install_cell() writes it: run `make sync`"
    )
    assert f"git+{repository_url()}@v" in install.source
    assert "gl.setup(" in setup.source, "the second code cell must call gl.setup(seed=...)"
    if md in REFERENCE_NOTEBOOKS:
        return
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, "one code cell tagged `parameters` states the hyper-parameters of each budget"
    assert all(f"{b}=dict(" in params[0].source for b in ("smoke", "standard", "full"))
    headings = [line for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines()]
    for section in ("## Summary", "## Exercises", "## References"):
        assert section in headings, f"{md.name} needs a '{section}' section"
    exercises = [h for h in headings if h.startswith("### Exercise")]
    assert len(exercises) >= 2, f"{md.name} needs at least two exercises"
    for h in exercises:
        assert re.search(r"\((easy|medium|hard), ~\d+ min\)$", h), f"mark '{h}' with (easy|medium|hard, ~N min)"


# --------------------------------------------------------------------------------------------
# _toc.yml is the whole book: every notebook is listed, every entry is a file, nbval runs them all


def test_every_notebook_is_in_the_table_of_contents_and_every_entry_is_a_file():
    assert registry.problems(ROOT) == []


def yaml_toc_files(entries: list[dict]) -> list[str]:
    """The `file` of every entry of a _toc.yml list read by PyYAML, each followed by its sections."""
    return [
        name
        for entry in entries
        for name in ([entry["file"]] if "file" in entry else []) + yaml_toc_files(entry.get("sections", []))
    ]


def test_the_toc_reader_finds_what_yaml_finds():
    """book/chapters.py reads _toc.yml without PyYAML (the Makefile runs it before the venv exists)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf8"))
    expected = [("", toc["root"])] + [
        (part["caption"], name) for part in toc["parts"] for name in yaml_toc_files(part["chapters"])
    ]
    assert registry.toc_entries(ROOT) == expected


MYST_HEADER = (
    "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n"
    "kernelspec:\n  display_name: Python 3\n  language: python\n  name: python3\n---\n\n"
)
TINY_TOC = (
    'format: jb-book\nroot: book/intro\nparts:\n  - caption: "Part 0 — Start"  # a comment\n'
    "    chapters:\n      - file: book/part0/index\n        title: About this part\n"
    "      - file: book/part0/00_start\n"
)


def tiny_book(root: Path) -> Path:
    """A repository with a toc, an introduction, a part page and one chapter."""
    files = {
        "_toc.yml": TINY_TOC,
        "book/intro.md": "# Intro\n",
        "book/part0/index.md": "# Part 0\n",
        "book/part0/00_start.md": MYST_HEADER + "# Start\n",
    }
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text, encoding="utf8")
    return root


def test_a_new_chapter_of_any_name_is_reported_until_the_toc_lists_it(tmp_path):
    root = tiny_book(tmp_path)
    assert registry.problems(root) == []
    assert [page.docname for page in registry.chapters(root)] == ["book/part0/00_start"]

    # A new chapter whose name matches no pattern, in a new folder: not listed, so reported.
    new = root / "book" / "flows" / "Normalising flows.md"
    new.parent.mkdir()
    new.write_text(MYST_HEADER + "# Flows\n", encoding="utf8")
    (root / "book" / "flows" / "notes.md").write_text("# Not a notebook\n", encoding="utf8")
    found = registry.problems(root)
    assert len(found) == 1 and "book/flows/Normalising flows.md is a MyST notebook" in found[0], found
    assert "add `- file: book/flows/Normalising flows` to _toc.yml" in found[0]

    # Listed: a chapter, a notebook, and no longer a problem.
    (root / "_toc.yml").write_text(
        TINY_TOC + "  - caption: Flows\n    chapters:\n      - file: book/flows/Normalising flows\n", encoding="utf8"
    )
    assert registry.problems(root) == []
    assert [page.path for page in registry.notebooks(root)] == [root / "book/part0/00_start.md", new]
    last = registry.pages(root)[-1]
    assert (last.kind, last.part, last.folder, last.number) == ("chapter", "Flows", "flows", None)

    # A notebook saved only as .ipynb is reported too.
    (root / "book" / "flows" / "draft.ipynb").write_text("{}", encoding="utf8")
    assert any("draft.ipynb has no MyST twin" in message for message in registry.problems(root))


def test_a_copy_of_this_book_with_an_unlisted_chapter_fails_the_check(tmp_path):
    shutil.copy(ROOT / "_toc.yml", tmp_path / "_toc.yml")
    for md in (ROOT / "book").rglob("*.md"):
        (tmp_path / md.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(md, tmp_path / md.relative_to(ROOT))
    assert registry.problems(tmp_path) == []
    # Chapter 18 as somebody might name it: no pattern the old globs knew ([0-9][0-9]_*, appendices/).
    shutil.copy(CHAPTERS[0], tmp_path / "book" / "part5" / "18-flows.md")
    assert [message.split(" is ")[0] for message in registry.problems(tmp_path)] == ["book/part5/18-flows.md"]
    assert tmp_path / "book" / "part5" / "18-flows.md" not in [page.path for page in registry.notebooks(tmp_path)]


def test_a_toc_entry_without_a_file_is_reported(tmp_path):
    root = tiny_book(tmp_path)
    (root / "_toc.yml").write_text(TINY_TOC + "      - file: book/part0/01_missing\n", encoding="utf8")
    found = registry.problems(root)
    assert found == [
        "_toc.yml lists book/part0/01_missing, but book/part0/01_missing.md does not exist: "
        "create it, or correct or remove the entry."
    ]
    with pytest.raises(registry.TocError, match="01_missing.md does not exist"):
        registry.notebooks(root)


@pytest.mark.parametrize("line", ["  - {file: book/part0/00_start}\n", "  - glob: book/part0/*\n"])
def test_a_toc_line_the_reader_cannot_read_is_an_error_not_a_skipped_page(tmp_path, line):
    root = tiny_book(tmp_path)
    (root / "_toc.yml").write_text(TINY_TOC + line, encoding="utf8")
    with pytest.raises(registry.TocError, match="line 9"):
        registry.toc_entries(root)
    assert len(registry.problems(root)) == 1


def test_the_command_line_lists_nothing_when_the_toc_has_a_problem(tmp_path):
    root = tiny_book(tmp_path)
    script = [sys.executable, str(ROOT / "book" / "chapters.py"), "--root", str(root)]
    listed = subprocess.run([*script, "--notebooks"], capture_output=True, text=True, check=False)
    assert (listed.returncode, listed.stdout, listed.stderr) == (0, "book/part0/00_start.md\n", "")
    (root / "book" / "part0" / "extra.md").write_text(MYST_HEADER, encoding="utf8")
    broken = subprocess.run([*script, "--notebooks"], capture_output=True, text=True, check=False)
    assert broken.returncode == 1 and broken.stdout == "", broken
    assert "book/part0/extra.md is a MyST notebook that _toc.yml does not list" in broken.stderr


def make_dry_run(target: str) -> list[str]:
    """The words of `make -n <target>` (the commands it would run, none of them run)."""
    if not shutil.which("make"):
        pytest.skip("make is not installed")
    result = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"make -n {target} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout.split()


def test_make_test_runs_nbval_on_every_notebook_and_make_sync_pairs_them():
    relative = [md.relative_to(ROOT).as_posix() for md in NOTEBOOKS]
    assert len(relative) >= 20
    words = make_dry_run("test")
    assert [w for w in words if w.endswith(".ipynb")] == [md.removesuffix(".md") + ".ipynb" for md in relative]
    assert "--nbval-lax" in words
    sync = make_dry_run("sync")
    assert "book.reader" in sync  # which reads _toc.yml itself (book/chapters.py), as nbval's list does


def test_make_lab_installs_jupyterlab_myst():
    makefile = (ROOT / "Makefile").read_text(encoding="utf8")
    lab = re.search(r"^lab: (.*)$", makefile, re.MULTILINE)
    stamp = re.search(r"^\$\(LAB_STAMP\): .*\n\t(.*)$", makefile, re.MULTILINE)
    assert lab and "$(LAB_STAMP)" in lab[1] and stamp and "jupyterlab-myst" in stamp[1]


def test_the_makefile_phony_targets_are_its_targets():
    phony, targets = phony_and_targets(ROOT)
    assert phony == targets, (
        f"Makefile: .PHONY names {sorted(phony - targets)}, which are no targets, and misses {sorted(targets - phony)}."
    )


def test_the_readme_has_an_open_in_colab_badge_per_notebook_and_the_published_url():
    readme = (ROOT / "README.md").read_text(encoding="utf8")
    repo = repository_url().removeprefix("https://github.com/")
    for md in NOTEBOOKS:
        notebook = md.with_suffix(".ipynb").relative_to(ROOT).as_posix()
        badge = f"(https://colab.research.google.com/github/{repo}/blob/main/{notebook})"
        assert badge in readme, f"README.md has no Open in Colab badge for {notebook}: add a row to its contents."
    assert reader.published_url(ROOT) in readme, "README.md must give the published book's URL (html.baseurl)"


@pytest.mark.parametrize("md", NOTEBOOKS, ids=lambda p: p.stem)
def test_solution_code_is_folded_in_the_book(md):
    # A reader of the published book sees an exercise's solution only after a click (tests/book_rendered.py).
    for i, cell in enumerate(jupytext.read(md).cells):
        if cell.cell_type == "code" and "# BEGIN SOLUTION" in cell.source:
            tags = cell.metadata.get("tags", [])
            assert "hide-input" in tags or "remove-input" in tags or "remove-cell" in tags, (
                f"{md.name}, cell {i}: a solution cell must be tagged hide-input, so that the book folds it."
            )


LIST_MARKER = re.compile(r"^\s{0,3}([-+*]|\d+[.)])\s")
SINGLE_DOLLAR = re.compile(r"(?<![\\$])\$(?!\$)")


def lines_opening_a_list_inside_math(markdown: str) -> list[str]:
    """Lines that begin with "+ ", "- ", "* " or "1. " while an inline $…$ is still open.

    Markdown reads such a line as a list item that interrupts the paragraph, before it looks for math,
    so the formula is torn apart and its $ signs are printed (in the book, in JupyterLab and in Colab).
    """
    found, open_math, fences = [], False, []  # the open fences: "code" blocks, or "{directive}"s of prose
    for line in markdown.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            if stripped == "```" and fences:
                fences.pop()
            else:
                fences.append("directive" if stripped.startswith("```{") else "code")
            open_math = False
            continue
        if "code" in fences or not stripped or stripped.startswith("$$") or stripped.startswith(":class:"):
            open_math = False
            continue
        if open_math and LIST_MARKER.match(line):
            found.append(line)
        if len(SINGLE_DOLLAR.findall(line)) % 2:
            open_math = not open_math
    return found


@pytest.mark.parametrize("md", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_line_inside_inline_math_starts_a_list(md):
    markdown = "\n\n".join(c.source for c in jupytext.read(md).cells if c.cell_type == "markdown")
    found = lines_opening_a_list_inside_math(markdown)
    assert not found, (
        f"{md.name}: these lines start with a list marker inside an inline $…$ formula, which Markdown "
        f"turns into a list and prints the $ signs: {found}. Move the + or - to the end of the line before."
    )


def test_the_inline_math_check_can_fail():
    assert lines_opening_a_list_inside_math("so $a\n+ b$ holds") == ["+ b$ holds"]
    assert lines_opening_a_list_inside_math("so $a +\nb$ holds\n\n- a list item") == []
    assert lines_opening_a_list_inside_math("```python\nx = '$'\n- 1\n```") == []  # code is not prose
    assert lines_opening_a_list_inside_math("```{admonition} A\nB\n```\n\nso $a\n- b$") == ["- b$"]
