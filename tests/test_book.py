"""The book builds strictly, and what a reader clicks on in it works.

One real Jupyter Book build of the repository per test session, with warnings as errors (-W) and
nitpicky cross-references (-n), but with the notebooks NOT executed (except chapters 01 and 19 at the
smoke budget, so that one page has figures and one has audio players): running the chapters is the job
of nbval (`make test`) and of `make book`. So a broken table of contents, cross-reference,
citation or bibliography entry fails here in seconds. The HTML is then checked for what a build
that "succeeds" can still get wrong: a missing page, a Colab button that opens the wrong file,
math without MathJax, a citation that did not resolve.

The same build is then opened in headless chromium (tests/book_rendered.py, imported at the end
of this file): typeset math, figures, cross-references, citations, the Colab button, the part maps
and the genai_lib reference, with screenshots in _build/screenshots/.

A second test builds tiny broken books with the same configuration and checks that they fail,
so that a green result here means something.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from book.build import write_config
from book.chapters import notebooks as toc_notebooks

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "_config.yml"
TOC = ROOT / "_toc.yml"
BIB = ROOT / "book" / "references.bib"
# The pages that are MyST notebooks paired with a .ipynb (book/chapters.py, from _toc.yml): the
# chapters and the notebook appendices (B and C; A is a plain page), each with a Colab button.
NOTEBOOK_PAGES = {page.docname for page in toc_notebooks(ROOT)}
# Pages Sphinx writes on its own, beside the pages of the table of contents.
GENERATED_PAGES = {"genindex", "search", "index"}  # index.html redirects to the root page
BUILD_TIMEOUT_S = 600


# --------------------------------------------------------------------------------------------
# Helpers


def jupyter_book_executable() -> str:
    """The jupyter-book of the running interpreter's environment (the one pytest runs in)."""
    beside = Path(sys.executable).with_name("jupyter-book")
    found = str(beside) if beside.exists() else shutil.which("jupyter-book")
    if not found:
        pytest.fail(
            "jupyter-book is not installed in this environment; install the book tools with "
            "`pip install -e '.[book,test]'` (or run `make test`, which does it for you)."
        )
    return found


def build_book(source: Path, config: Path, out: Path, env: dict | None = None) -> tuple[int, str]:
    """`jupyter-book build` in strict mode; returns (exit status, log).

    --config points at a copy of _config.yml elsewhere; relative paths in it (bibtex_bibfiles,
    logo) still resolve against `source`, because Jupyter Book 1.x hands Sphinx the source folder
    as its configuration folder. --path-output keeps everything the build writes out of `source`.
    """
    command = [
        jupyter_book_executable(),
        "build",
        str(source),
        "--config",
        str(config),
        "--path-output",
        str(out),
        "-W",  # every warning is an error ...
        "-n",  # ... including every cross-reference that does not resolve
        "--keep-going",  # report all of them, not only the first
    ]
    env = dict(os.environ, **(env or {}), NO_COLOR="1", PYTHONWARNINGS="ignore")
    result = subprocess.run(
        command,
        cwd=out,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=BUILD_TIMEOUT_S,
    )
    log = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)  # colour codes
    return result.returncode, log


def log_digest(log: str, tail: int = 40) -> str:
    """The warnings and errors of a build log, then its last lines."""
    problems = [line for line in log.splitlines() if re.search(r"WARNING|ERROR|Error|Exception", line)]
    problems = list(dict.fromkeys(problems))  # Sphinx repeats warnings in its closing summary
    last = log.splitlines()[-tail:]
    return "\n".join(["--- warnings and errors ---", *problems[:60], f"--- last {tail} lines ---", *last])


def toc_docnames(toc_path: Path) -> list[str]:
    """Every page of a jb-book table of contents, root first, without file suffix."""
    toc = yaml.safe_load(toc_path.read_text(encoding="utf8"))
    names = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                names.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({key: value for key, value in toc.items() if key != "root"})
    return [re.sub(r"\.(md|ipynb)$", "", name) for name in names]


class Page(HTMLParser):
    """What the checks need from one HTML page: links, ids, scripts, classes of math."""

    def __init__(self, path: Path):
        super().__init__(convert_charrefs=True)
        self.path = path
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.script_srcs: list[str] = []
        self.inline_scripts: list[str] = []
        self.math_elements = 0
        self._in_script = False
        self.html = path.read_text(encoding="utf8")
        self.feed(self.html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "script":
            self._in_script = True
            if attrs.get("src"):
                self.script_srcs.append(attrs["src"])
        if "math" in (attrs.get("class") or "").split():
            self.math_elements += 1

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts.append(data)

    def prose(self) -> str:
        """The page without code and scripts: what the reader reads as text."""
        return re.sub(r"<(pre|code|script)\b.*?</\1>", "", self.html, flags=re.S)

    def citations(self) -> list[str]:
        """The inner HTML of every in-text citation made by sphinxcontrib-bibtex."""
        return re.findall(r'<span class="bibtex-citation"[^>]*>(.*?)</span>', self.html, flags=re.S)


# --------------------------------------------------------------------------------------------
# The repository's book: one strict build per test session


# Executed in the test build (smoke budget), so that a page with figures is checked too: chapter 01
# is cheap and has figures, math and citations; chapter 19 embeds audio players (about 15 s at smoke).
EXECUTED_CHAPTERS = ("book/part0/01_generative_modelling", "book/part6/19_sound")
# Where `make mathjax` (part of `make test`) puts MathJax 3 from npm; GENAI_BOOK_MATHJAX overrides.
MATHJAX_DIR = ROOT / "_build" / "mathjax" / "node_modules" / "mathjax" / "es5"


def local_mathjax() -> Path | None:
    """The es5 folder of MathJax 3 to serve from the build, or None (then the pages use the CDN)."""
    folder = Path(os.environ.get("GENAI_BOOK_MATHJAX") or MATHJAX_DIR)
    if (folder / "tex-mml-chtml.js").is_file():
        return folder
    if os.environ.get("CI"):
        pytest.fail(
            f"MathJax is missing from {folder}: the browser tests need the book to serve MathJax "
            "itself (CI reaches no CDN). `make mathjax` fetches it with npm; `make test` does that."
        )
    return None


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    """Build the repository's book once, with `make book` and `make site`; returns the HTML folder.

    The targets the publishing workflow runs (.github/workflows/book.yml), at the smoke budget, with
    only EXECUTED_CHAPTERS executed (nbval executes every notebook in the same `make test`), into a
    temporary folder, and with MathJax served from the build (as `make book OFFLINE=1`) when it has
    been fetched.
    """
    work = tmp_path_factory.mktemp("book")
    mathjax = local_mathjax()
    make = shutil.which("make")
    if make is None:
        pytest.fail("make is not installed: the book is built with `make book`, as the README says.")
    command = [make, "-C", str(ROOT), "book", f"VENV={Path(sys.executable).parents[1]}", f"BOOK_OUT={work}"]
    command += [f"BOOK_EXECUTE_ONLY={' '.join(EXECUTED_CHAPTERS)}", *(["OFFLINE=1"] if mathjax == MATHJAX_DIR else [])]
    env = dict(os.environ, GENAI_BUDGET="smoke", GENAI_OFFLINE="1", NO_COLOR="1", PYTHONWARNINGS="ignore")
    env["GENAI_BOOK_MATHJAX"] = str(mathjax or "")
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    log = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
    assert result.returncode == 0, (
        "The strict book build failed (make book: jupyter-book build . -W -n, one notebook executed). "
        "Each warning below names the file and line to fix: a page listed in _toc.yml that does "
        "not exist, a {cite} key missing from book/references.bib, a link or {ref}/{doc}/{eq} "
        "target that does not exist, a malformed directive, a second {bibliography} directive "
        '("duplicate citation": cite in prose, the one list is book/bibliography.md).\n' + log_digest(log)
    )
    site = subprocess.run([make, "-C", str(ROOT), "site", f"BOOK_OUT={work}"], capture_output=True, text=True)
    assert site.returncode == 0, site.stdout + site.stderr
    html = work / "_build" / "html"
    assert (html / ".nojekyll").is_file(), "make site must leave .nojekyll in the site it deploys"
    return html


@pytest.fixture(scope="module")
def pages(built_book) -> dict[str, Page]:
    """Every page of the table of contents, parsed, by docname (book/part0/00_how_to_use)."""
    parsed = {}
    for name in toc_docnames(TOC):
        path = built_book / f"{name}.html"
        assert path.exists(), (
            f"_toc.yml lists '{name}' but the build wrote no {name}.html: check that {name}.md "
            "exists and that no pattern in _config.yml's exclude_patterns matches it."
        )
        parsed[name] = Page(path)
    return parsed


def test_every_toc_page_and_only_those_is_built(built_book, pages):
    built = {
        path.relative_to(built_book).with_suffix("").as_posix()
        for path in built_book.rglob("*.html")
        if not path.relative_to(built_book).parts[0].startswith("_")  # _static, _sources
    }
    extra = sorted(built - set(pages) - GENERATED_PAGES)
    assert not extra, (
        f"The build made pages that are not in _toc.yml: {extra}. Add them to _toc.yml, or keep "
        "them out of the book with exclude_patterns in _config.yml (only_build_toc_files must "
        "stay true so that README.md, tests/ and the paired .ipynb files are never built)."
    )


def test_chapters_have_a_colab_button_that_opens_their_notebook(pages):
    config = yaml.safe_load(CONFIG.read_text(encoding="utf8"))
    colab = config["launch_buttons"]["colab_url"].rstrip("/")
    repo = config["repository"]["url"].rstrip("/").removeprefix("https://github.com/")
    branch = config["repository"]["branch"]
    assert branch == "main" and config["repository"].get("path_to_book", "") == "", (
        "_config.yml: repository.branch must be 'main' and repository.path_to_book '' (the book "
        "is built from the repository root), or every launch button opens a file that does not exist."
    )
    chapters = [name for name in pages if name in NOTEBOOK_PAGES]
    assert chapters, "The build has no page of a notebook that _toc.yml lists (book/chapters.py)."
    for name in chapters:
        expected = f"{colab}/github/{repo}/blob/{branch}/{name}.ipynb"
        found = [link for link in pages[name].links if link.startswith(f"{colab}/")]
        assert found, (
            f"{name}.html has no Colab launch button. Sphinx-book-theme adds one only to notebooks: "
            f"check that {name}.md starts with the jupytext front matter (format_name: myst) and a "
            "kernelspec, and that launch_buttons.colab_url is set in _config.yml."
        )
        assert expected in found, (
            f"The Colab button of {name}.html opens {found}, not {expected}. If it ends in .md, the "
            f"paired notebook {name}.ipynb is missing from the repository: create it with "
            f"`jupytext --to ipynb {name}.md` (or `make sync`) and commit it."
        )


def test_pages_with_math_load_mathjax_and_no_dollar_signs_are_left(pages):
    with_math = [name for name, page in pages.items() if page.math_elements]
    assert with_math, (
        "No page of the book has rendered math; is `dollarmath` still in parse.myst_enable_extensions in _config.yml?"
    )
    for name in with_math:
        page = pages[name]
        assert any("mathjax" in src.lower() for src in page.script_srcs), (
            f"{name}.html has math but loads no MathJax script; check the html settings in _config.yml."
        )
        assert any("MathJax" in script for script in page.inline_scripts), (
            f"{name}.html loads MathJax without the configuration MyST adds (window.MathJax = ...); "
            "is myst_update_mathjax turned off in _config.yml?"
        )
    for name, page in pages.items():
        assert "$$" not in page.prose(), (
            f"{name}.html shows a literal '$$' in its text: a display equation was not parsed. "
            "Put $$ on lines of their own around the equation, with a blank line before it."
        )


def test_citations_resolve_and_the_bibliography_lists_them(pages):
    bibliography = [name for name, page in pages.items() if 'class="citation"' in page.html]
    assert "book/bibliography" in bibliography, (
        "book/bibliography.html lists no references: it must contain a ```{bibliography}``` "
        "directive, and some page must {cite} a key of book/references.bib."
    )
    cited = 0
    for name, page in pages.items():
        for citation in page.citations():
            cited += 1
            text = re.sub(r"<[^>]+>", "", citation)
            assert "reference internal" in citation and "?" not in text and text.strip("[]() "), (
                f"{name}.html has a citation that did not resolve ({citation!r}); check the key "
                "against book/references.bib."
            )
    assert cited, "No page cites anything; the {cite} role of sphinxcontrib-bibtex is not active."


def test_internal_links_lead_to_existing_pages_and_anchors(built_book, pages):
    by_path = {page.path.resolve(): page for page in pages.values()}
    for name, page in pages.items():
        for link in page.links:
            if re.match(r"^[a-z][a-z0-9+.-]*:", link) or link == "#":
                continue  # external (https:, mailto:) or a bare '#'
            target, _, anchor = link.partition("#")
            if target and not target.endswith(".html"):
                continue  # downloads and static files
            path = (page.path.parent / target).resolve() if target else page.path.resolve()
            assert path.exists(), f"{name}.html links to {link}, which the build did not write."
            if anchor:
                if path not in by_path:
                    by_path[path] = Page(path)
                assert anchor in by_path[path].ids, (
                    f"{name}.html links to {link}, but that page has no anchor '{anchor}'; "
                    "fix the link or the label it points to."
                )


def test_every_bibliography_entry_formats_without_missing_fields():
    """The build formats only the entries some page cites; this formats all of them."""
    from pybtex.database import parse_file
    from pybtex.exceptions import PybtexError
    from pybtex.plugin import find_plugin

    config = yaml.safe_load(CONFIG.read_text(encoding="utf8"))
    style_name = config["sphinx"]["config"].get("bibtex_default_style", "alpha")
    style = find_plugin("pybtex.style.formatting", style_name)()
    entries = parse_file(str(BIB), bib_format="bibtex").entries
    assert entries, f"{BIB.relative_to(ROOT)} has no entries."
    for key, entry in entries.items():
        try:
            list(style.format_entries([entry]))
        except PybtexError as error:
            pytest.fail(f"book/references.bib, entry {key}: {error}. Add the missing field.")


# --------------------------------------------------------------------------------------------
# The check can fail: tiny books, each broken in one way, built with the same configuration

INTRO = "# Intro\n\nA sentence that cites {cite:p}`theis2016note`.\n"
PAGE = "# A page\n\nSee the [introduction](intro.md), {cite:t}`theis2016note` and {doc}`bibliography`.\n"
BIBLIOGRAPHY = "# Bibliography\n\n```{bibliography}\n```\n"
TINY_TOC = "format: jb-book\nroot: book/intro\nchapters:\n  - file: book/page\n  - file: book/bibliography\n"

BROKEN = {
    "intact": ({}, None),
    "toc lists a missing page": (
        {"_toc.yml": TINY_TOC + "  - file: book/missing\n"},
        "nonexisting document 'book/missing'",
    ),
    "unknown citation key": (
        {"book/page.md": PAGE + "\nCited: {cite:t}`nosuchkey2099`.\n"},
        'could not find bibtex key "nosuchkey2099"',
    ),
    "link to a missing page": (
        {"book/page.md": PAGE + "\nSee [nowhere](nowhere.md).\n"},
        "cross-reference target not found: 'nowhere.md'",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_book_fails_the_strict_build(case, tmp_path):
    changes, expected_message = BROKEN[case]
    files = {
        "_toc.yml": TINY_TOC,
        "book/intro.md": INTRO,
        "book/page.md": PAGE,
        "book/bibliography.md": BIBLIOGRAPHY,
        **changes,
    }
    book = tmp_path / "tiny"
    for relative, text in files.items():
        (book / relative).parent.mkdir(parents=True, exist_ok=True)
        (book / relative).write_text(text, encoding="utf8")
    shutil.copy(BIB, book / "book" / "references.bib")
    out = tmp_path / "out"
    out.mkdir()
    status, log = build_book(book, write_config(tmp_path / "_config.yml", cache=None, execute_only=None), out)
    if expected_message is None:
        assert status == 0, (
            "A tiny correct book does not build with the repository's _config.yml, so the "
            "configuration itself is broken:\n" + log_digest(log)
        )
    else:
        assert status != 0, (
            f"A book with a {case} built without error: the build is not strict. _config.yml or "
            "build_book() in this file lost -W / -n, or suppress_warnings hides this warning.\n" + log_digest(log)
        )
        assert expected_message in log, (
            f"The build with a {case} failed, but not with the expected message "
            f"{expected_message!r}:\n" + log_digest(log)
        )


# --------------------------------------------------------------------------------------------
# The same build in a browser (headless chromium), and the genai_lib reference in it
# (tests/book_rendered.py); the notebooks that Colab opens, checked against the build
# (tests/book_reader.py). They run here, in this module, so that they share this module's build.

from book_reader import *  # noqa: E402,F401,F403
from book_rendered import *  # noqa: E402,F401,F403
