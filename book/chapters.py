"""The pages of the book, read from _toc.yml: which are notebooks, and which of those are chapters.

The one answer to "which files are chapters". The Makefile (nbval in `make test`, `make sync`), the
tests, `make student` (assignments/) and the part maps (book/_ext/genai_book.py) all ask here, so a
page is in the book, in nbval and in the student versions exactly when _toc.yml lists it, whatever
its file name. A MyST notebook under book/ that _toc.yml does not list is reported by `problems()`
(and fails tests/test_notebooks.py and `make test`) instead of silently dropping out.

A page of the table of contents is one of three kinds:

- ``chapter``: a MyST notebook (its front matter has a jupytext section with ``format_name: myst``)
  that teaches: a parameters cell, a summary, exercises, references;
- ``reference``: a MyST notebook that executes but teaches nothing to exercise (REFERENCE_NOTEBOOKS);
- ``page``: plain Markdown (the introductions of the parts, the API reference, the bibliography).

Only the standard library: the Makefile runs this file with the system python3, before the virtual
environment exists.

    python3 book/chapters.py --notebooks   # the .md of every notebook, in the order of the book
    python3 book/chapters.py --chapters    # the .md of every chapter
    python3 book/chapters.py --check       # exit status 1, naming each problem, if there is one
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]
TOC = "_toc.yml"
# Notebooks that execute but have no parameters cell, summary or exercises (tests/test_notebooks.py
# holds every other notebook to the chapter format). Named by their entry in _toc.yml.
REFERENCE_NOTEBOOKS = frozenset({"book/appendices/c_glossary"})
# Notebooks that load the checkpoints another notebook trains (by docname): in `make book` they see
# those files in their checkpoint folder, and run again whenever the notebook they load from does
# (book/build.py). Chapters 13-15 and 20 load chapter 7's VQ-VAE of shapes; 14 loads chapter 13's models; 15 loads
# both.
CHECKPOINT_UPSTREAM: dict[str, tuple[str, ...]] = {
    "book/part4/13_text_to_image": ("book/part2/07_vqvae",),
    "book/part4/14_autoregressive_t2i": ("book/part2/07_vqvae", "book/part4/13_text_to_image"),
    "book/part4/15_evaluating_t2i": (
        "book/part2/07_vqvae",
        "book/part4/13_text_to_image",
        "book/part4/14_autoregressive_t2i",
    ),
    "book/part6/20_video": ("book/part2/07_vqvae",),
}

# One `key: value` per line, optionally the first line of a list item (`- file: book/x`).
TOC_LINE = re.compile(r"^\s*(?:-\s+)?(?P<key>[A-Za-z_]+):\s*(?P<value>.*)$")
FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?P<yaml>.*?)\n---[ \t]*$", re.DOTALL | re.MULTILINE)
MYST_FORMAT = re.compile(r"^\s+format_name:\s*[\"']?myst[\"']?\s*$", re.MULTILINE)
CHAPTER_NUMBER = re.compile(
    r"^(\d\d[a-z]?)_"
)  # 02_gan_game -> 02, 04b_stylegan -> 04b: how the part maps name a chapter


class TocError(ValueError):
    """_toc.yml cannot be read, or lists a page that does not exist."""


@dataclass(frozen=True)
class Page:
    """One page of the table of contents."""

    docname: str  # "book/part1/02_gan_game": its entry in _toc.yml, without suffix
    path: Path  # its MyST Markdown source, book/part1/02_gan_game.md
    part: str  # the caption of its part in _toc.yml ("" for pages before the first part)
    kind: str  # "chapter", "reference" or "page"

    @property
    def notebook(self) -> bool:
        return self.kind != "page"

    @property
    def folder(self) -> str:
        """The folder of the page under book/ ("part1"): a part's map draws that folder's chapters."""
        return PurePosixPath(self.docname).parent.name

    @property
    def number(self) -> str | None:
        """The two digits its file name starts with ("02"), or None."""
        match = CHAPTER_NUMBER.match(PurePosixPath(self.docname).name)
        return match.group(1) if match else None


def _scalar(value: str) -> str:
    """A YAML scalar as written on one line: quoted ('a', "a") or plain, with any comment cut off."""
    value = value.strip()
    if value[:1] in ("'", '"'):
        quote = value[0]
        end = value.find(quote, 1)
        while quote == "'" and end != -1 and value[end + 1 : end + 2] == "'":  # '' is an escaped '
            end = value.find(quote, end + 2)
        if end == -1:
            raise TocError(f"{TOC}: the quote in {value!r} is never closed.")
        text = value[1:end]
        return text.replace("''", "'") if quote == "'" else text
    return re.split(r"\s+#", value, maxsplit=1)[0].strip()


def toc_entries(root: Path = ROOT) -> list[tuple[str, str]]:
    """(part caption, docname) of every page of _toc.yml in the order of the book, the root page first.

    _toc.yml is read line by line, not by a YAML library (see the module's docstring); a line this
    reader does not understand raises TocError rather than being skipped, and tests/test_notebooks.py
    checks that it finds what PyYAML finds.
    """
    path = root / TOC
    if not path.is_file():
        raise TocError(f"{path} does not exist: the book's pages are listed there.")
    entries: list[tuple[str, str]] = []
    part = ""
    for number, line in enumerate(path.read_text(encoding="utf8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = TOC_LINE.match(line)
        if not match:
            raise TocError(
                f"{TOC}, line {number}: cannot read {line.strip()!r}. Write one `key: value` "
                "per line (`- file: book/part1/02_gan_game`), as the other entries are."
            )
        key, value = match["key"], _scalar(match["value"])
        if key == "glob":
            raise TocError(
                f"{TOC}, line {number}: `glob: {value}`. List each page with its own "
                "`- file:` entry, so that the order of the book is written down."
            )
        if key == "caption":
            part = value
        elif key in ("root", "file"):
            entries.append(("" if key == "root" else part, re.sub(r"\.(md|ipynb)$", "", value)))
    return entries


def is_notebook(md: Path) -> bool:
    """Whether a Markdown file is a MyST notebook: front matter that names the jupytext format myst."""
    front = FRONT_MATTER.match(md.read_text(encoding="utf8"))
    return bool(front and "jupytext:" in front["yaml"] and MYST_FORMAT.search(front["yaml"]))


def _kind(docname: str, md: Path) -> str:
    if not is_notebook(md):
        return "page"
    return "reference" if docname in REFERENCE_NOTEBOOKS else "chapter"


def pages(root: Path = ROOT) -> list[Page]:
    """Every page of the book, in the order of _toc.yml. Raises TocError if a listed file is missing."""
    entries = toc_entries(root)
    missing = [docname for _, docname in entries if not (root / f"{docname}.md").is_file()]
    if missing:
        raise TocError("\n".join(_missing_message(docname) for docname in missing))
    return [
        Page(docname, root / f"{docname}.md", part, _kind(docname, root / f"{docname}.md")) for part, docname in entries
    ]


def notebooks(root: Path = ROOT) -> list[Page]:
    """The pages that are MyST notebooks (chapters and reference notebooks): what nbval executes."""
    return [page for page in pages(root) if page.notebook]


def chapters(root: Path = ROOT) -> list[Page]:
    """The notebooks that teach: each has the chapter format (parameters, summary, exercises)."""
    return [page for page in pages(root) if page.kind == "chapter"]


def _missing_message(docname: str) -> str:
    return f"{TOC} lists {docname}, but {docname}.md does not exist: create it, or correct or remove the entry."


def unlisted_notebooks(root: Path = ROOT, listed: set[str] | None = None) -> list[str]:
    """Notebooks under book/ (a MyST .md, or a lone .ipynb) that _toc.yml does not list, as messages."""
    listed = {docname for _, docname in toc_entries(root)} if listed is None else listed
    messages = []
    for path in sorted((root / "book").rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith((".", "_")) for part in relative.parts) or not path.is_file():
            continue  # .ipynb_checkpoints, book/_ext
        docname = relative.with_suffix("").as_posix()
        if docname in listed:
            continue
        if path.suffix == ".md" and is_notebook(path):
            messages.append(
                f"{relative.as_posix()} is a MyST notebook that {TOC} does not list, so it is "
                f"neither in the book nor run by `make test`: add `- file: {docname}` to {TOC} "
                "where it belongs in the book (or delete the file)."
            )
        elif path.suffix == ".ipynb" and not path.with_suffix(".md").exists():
            messages.append(
                f"{relative.as_posix()} has no MyST twin {relative.with_suffix('.md').as_posix()}: "
                f"pair it (`jupytext --set-formats ipynb,md:myst {relative.as_posix()}`) and add "
                f"`- file: {docname}` to {TOC}, or delete it."
            )
    return messages


def problems(root: Path = ROOT) -> list[str]:
    """Everything that keeps _toc.yml from being the whole book, one message each (empty: nothing)."""
    try:
        entries = toc_entries(root)
    except TocError as error:
        return [str(error)]
    docnames = [docname for _, docname in entries]
    found = []
    for docname in dict.fromkeys(docnames):
        if docnames.count(docname) > 1:
            found.append(f"{TOC} lists {docname} {docnames.count(docname)} times: list each page once.")
        if not (root / f"{docname}.md").is_file():
            found.append(_missing_message(docname))
    return found + unlisted_notebooks(root, set(docnames))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The pages of the book, from _toc.yml.")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--notebooks", action="store_true", help="the .md of every notebook, in book order")
    what.add_argument("--chapters", action="store_true", help="the .md of every chapter, in book order")
    what.add_argument("--check", action="store_true", help="only check _toc.yml against the files")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository (default: this one)")
    args = parser.parse_args(argv)
    found = problems(args.root)
    if found:  # nothing on stdout: the Makefile stops on an empty list instead of running part of it
        for message in found:
            print(f"book/chapters.py: {message}", file=sys.stderr)
        return 1
    listed = notebooks(args.root) if args.notebooks else chapters(args.root) if args.chapters else []
    for page in listed:
        print(page.path.relative_to(args.root).as_posix())
    return 0


if __name__ == "__main__":
    sys.exit(main())
