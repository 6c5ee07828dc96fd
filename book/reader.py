"""Reader notebooks: each chapter's MyST source made into the .ipynb that Colab and plain JupyterLab show.

A chapter is written once, in its MyST Markdown notebook (book/part1/03_dcgan.md). Jupyter Book reads
that file. Colab, and JupyterLab without extensions, open the .ipynb beside it, and they know no MyST:
a `{cite:t}` role or an `{admonition}` directive would show there as literal text. So the .ipynb is a
build product of the .md, made here by `make sync` and committed: the code cells are the .md's code
cells unchanged (nbval runs this very file), and the Markdown cells are rewritten into Markdown that
reads as intended:

- citations become "Radford et al. (2016)" or "(Radford et al., 2016)", linked to the entry of the
  published bibliography;
- `{eq}` references become the number the built page gives the equation, "(3)", linked to it, and a
  labelled display equation carries that number as `\\tag{3}`;
- `{doc}` references become the page's title, linked to the published page;
- admonitions become a quotation with a bold title, and folded ones (`:class: dropdown`) an HTML
  `<details>` block that opens on a click, as in the book.

tests/test_notebooks.py regenerates every .ipynb and compares; tests/book_reader.py checks the numbers
and links against a real build of the book. Nothing is paired: saving the .ipynb never writes back to
the .md (CONTRIBUTING.md, "Chapters and their notebooks").

The first code cell of every notebook is the Colab install cell; its text is made here too
(`install_cell`), so that it always installs the release of genai_lib that the chapter was written for.

    python -m book.reader            # write every notebook's .ipynb (what `make sync` runs)
    python -m book.reader --check    # exit status 1, naming each .ipynb that is out of date
"""

from __future__ import annotations

import argparse
import codecs
import hashlib
import posixpath
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import latexcodec  # noqa: F401  (registers the "ulatex" codec that decodes {\"o} in names)
import nbformat
import yaml
from docutils.nodes import make_id
from pybtex.database import parse_file

from book import chapters as registry

ROOT = Path(__file__).resolve().parents[1]
ROLE = re.compile(r"\{(?P<role>[a-z]+(?::[a-z]+)?)\}`(?P<body>[^`]*)`")
DISPLAY_LABEL = re.compile(r"^\$\$[ \t]*\((?P<label>[^)\s]+)\)[ \t]*$", re.MULTILINE)
DIRECTIVE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[a-z-]+)\}[ \t]*(?P<title>.*)$")
OPTION = re.compile(r"^:(?P<key>[a-z_-]+):[ \t]*(?P<value>.*)$")
# What is left of MyST after the rewrite is a bug of this file or a construct it does not know yet.
RAW_MYST = re.compile(r"\{[a-z]+(?::[a-z]+)?\}`|^(`{3,}|:{3,})\{|^\$\$[ \t]*\(", re.MULTILINE)


class MystLeft(ValueError):
    """A chapter uses MyST that this module cannot rewrite into plain Markdown."""


def repository_url(root: Path = ROOT) -> str:
    return yaml.safe_load((root / "_config.yml").read_text(encoding="utf8"))["repository"]["url"]


def library_version(root: Path = ROOT) -> str:
    """genai_lib's version, read from its source (the package may not be installed)."""
    match = re.search(r'^__version__ = "([^"]+)"', (root / "genai_lib" / "__init__.py").read_text("utf8"), re.MULTILINE)
    assert match, "genai_lib/__init__.py sets no __version__"
    return match[1]


def install_cell(root: Path = ROOT) -> str:
    """The first code cell of every chapter: in Colab, install the genai_lib this chapter was written for.

    It installs the tag v<version> of the repository, which the publishing workflow creates for every
    version it deploys (.github/workflows/book.yml), not whatever main is today. genai_lib asks only
    for ranges (torch>=2.4, ipywidgets>=7.6), so pip keeps Colab's own torch, torchvision and
    ipywidgets; the cell prints what is there, and the next cell's banner the budget and device.
    """
    return (
        "# Colab only: install the genai_lib release this chapter was written for. pip keeps Colab's own\n"
        "# torch, torchvision and ipywidgets (genai_lib asks only for ranges). Elsewhere it is installed.\n"
        "import sys\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install -q "genai_lib @ git+{repository_url(root)}@v{library_version(root)}"\n'
        "    from importlib.metadata import version\n"
        '    packages = ("genai_lib", "torch", "torchvision", "ipywidgets")\n'
        '    print("installed:", ", ".join(f"{p} {version(p)}" for p in packages))'
    )


INSTALL_BLOCK = re.compile(r"(```\{code-cell\} ipython3\n:tags: \[remove-cell\]\n\n)(?P<body>.*?)(\n```)", re.DOTALL)


def set_install_cell(md: Path, root: Path = ROOT) -> bool:
    """Rewrite the .md's first code cell to `install_cell()`; whether anything changed."""
    text = md.read_text(encoding="utf8")
    match = INSTALL_BLOCK.search(text)
    if match is None or "google.colab" not in match["body"]:
        raise MystLeft(f"{md}: the first code cell must be the Colab install cell, tagged remove-cell.")
    new = text[: match.start("body")] + install_cell(root) + text[match.end("body") :]
    md.write_text(new, encoding="utf8")
    return new != text


def published_url(root: Path = ROOT) -> str:
    """Where the book is published: `html.baseurl` of _config.yml, ending in a slash."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf8"))
    return config["html"]["baseurl"].rstrip("/") + "/"


def _plain(latex: str) -> str:
    """A BibTeX name or field as text: accents decoded, braces dropped."""
    return codecs.decode(latex, "ulatex").replace("{", "").replace("}", "")


def author_year(entry) -> tuple[str, str]:
    """("Radford et al.", "2016"): how the author_year style names a work in the text."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_plain(" ".join(person.prelast_names + person.last_names)) for person in people]
    if not names:
        raise MystLeft(f"{entry.key} in book/references.bib has no author or editor to cite it by.")
    if len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return who, _plain(entry.fields["year"])


def title_of(md: Path, text: str) -> str:
    """A page's title: the first level-one heading of its text."""
    match = re.search(r"^# (.+)$", text, re.MULTILINE)
    if match is None:
        raise MystLeft(f"{md} has no '# Title' heading for links to it to show.")
    return match[1].strip()


@dataclass
class Site:
    """What the rewrite needs to know about the whole book: titles, equation numbers, citations."""

    url: str  # the published book, ending in "/"
    titles: dict[str, str] = field(default_factory=dict)  # docname -> title
    equations: dict[str, tuple[str, int]] = field(default_factory=dict)  # label -> (docname, number)
    works: dict[str, tuple[str, str]] = field(default_factory=dict)  # BibTeX key -> (authors, year)

    @classmethod
    def of(cls, root: Path = ROOT) -> Site:
        site = cls(published_url(root))
        # The toctree is not numbered by section, so Sphinx numbers the labelled equations of the
        # whole book in one sequence, page after page in the order of _toc.yml.
        labels = []
        for page in registry.pages(root):
            text = page.path.read_text(encoding="utf8")
            site.titles[page.docname] = title_of(page.path, text)
            labels += [(match["label"], page.docname) for match in DISPLAY_LABEL.finditer(text)]
        site.equations = {label: (docname, number) for number, (label, docname) in enumerate(labels, 1)}
        for key, entry in parse_file(str(root / "book" / "references.bib"), bib_format="bibtex").entries.items():
            site.works[key] = author_year(entry)
        return site

    def page_url(self, docname: str, anchor: str = "") -> str:
        return f"{self.url}{docname}.html" + (f"#{anchor}" if anchor else "")

    def equation_url(self, label: str) -> str:
        page, _ = self.equations[label]
        return self.page_url(page, make_id(f"equation-{label}"))  # Sphinx's ids are lower case

    def cite_url(self, key: str) -> str:
        # bibtex_cite_id in _config.yml gives every bibliography entry the id "cite-<key>".
        return self.page_url("book/bibliography", make_id(f"cite-{key}"))

    # -- roles -------------------------------------------------------------------------------

    def role(self, role: str, body: str, docname: str) -> str:
        if role in ("cite", "cite:p", "cite:t"):
            return self.cite(role, body, docname)
        if role == "eq":
            if body not in self.equations:
                raise MystLeft(f"{docname}: {{eq}}`{body}` names no labelled equation of the book.")
            return f"[({self.equations[body][1]})]({self.equation_url(body)})"
        if role == "doc":
            text, target = re.fullmatch(r"(?:(.*?)\s*<)?([^<>]+)>?", body.strip()).groups()  # type: ignore[union-attr]
            target = target.removesuffix(".md")
            if target.startswith("/"):  # Sphinx reads a leading slash as the book's root
                page = posixpath.normpath(target.lstrip("/"))
            else:
                page = posixpath.normpath(posixpath.join(posixpath.dirname(docname), target))
            if page not in self.titles:
                raise MystLeft(f"{docname}: {{doc}}`{body}` names no page of _toc.yml.")
            return f"[{text or self.titles[page]}]({self.page_url(page)})"
        if role == "math":
            return f"${body}$"
        raise MystLeft(f"{docname}: the role {{{role}}} has no plain-Markdown form in book/reader.py; add one.")

    def cite(self, role: str, body: str, docname: str) -> str:
        links = []
        for key in [k.strip() for k in body.split(",") if k.strip()]:
            if key not in self.works:
                raise MystLeft(f"{docname}: {{{role}}}`{key}` is not a key of book/references.bib.")
            who, year = self.works[key]
            text = f"{who} ({year})" if role == "cite:t" else f"{who}, {year}"
            links.append(f"[{text}]({self.cite_url(key)})")
        return ", ".join(links) if role == "cite:t" else "(" + "; ".join(links) + ")"

    # -- Markdown ----------------------------------------------------------------------------

    def markdown(self, text: str, docname: str) -> str:
        """One Markdown cell of the MyST source as plain Markdown."""
        text = self._directives(text, docname)
        text = self._equations(text, docname)
        text = ROLE.sub(lambda m: self.role(m["role"], m["body"], docname), text)
        left = RAW_MYST.search(text)
        if left:
            line = text[: left.start()].count("\n") + 1
            raise MystLeft(
                f"{docname}: line {line} of a Markdown cell keeps MyST that book/reader.py cannot rewrite: "
                f"{text.splitlines()[line - 1]!r}. Teach book/reader.py the construct, or write plain Markdown."
            )
        return text

    def _equations(self, text: str, docname: str) -> str:
        """`$$ (label)` closes a display equation; the plain version carries its number as a tag."""

        def tag(match: re.Match) -> str:
            if match["label"] not in self.equations:
                raise MystLeft(f"{docname}: the equation label {match['label']} is not on a page of _toc.yml.")
            return f"\\tag{{{self.equations[match['label']][1]}}}\n$$"

        return DISPLAY_LABEL.sub(tag, text)

    def _directives(self, text: str, docname: str) -> str:
        """Admonitions as a quotation with a bold title; folded ones as a <details> block."""
        lines, out, i = text.split("\n"), [], 0
        while i < len(lines):
            match = DIRECTIVE.match(lines[i])
            if not match:
                out.append(lines[i])
                i += 1
                continue
            if match["name"] != "admonition":
                raise MystLeft(f"{docname}: the directive {{{match['name']}}} has no plain-Markdown form yet.")
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == match["fence"]), len(lines))
            body, options = lines[i + 1 : end], {}
            while body and OPTION.match(body[0]):
                option = OPTION.match(body[0])
                options[option["key"]] = option["value"]  # type: ignore[index]
                body = body[1:]
            inner = self._directives("\n".join(body).strip("\n"), docname)
            title = match["title"].strip()
            if "dropdown" in options.get("class", ""):
                out += [f"<details><summary><b>{title}</b></summary>", "", inner, "", "</details>"]
            else:
                out += [f"> **{title}**", ">", *[f"> {line}".rstrip() for line in inner.split("\n")]]
            i = end + 1
        return "\n".join(out)


# -- notebooks ---------------------------------------------------------------------------------


def cell_id(docname: str, index: int) -> str:
    """A stable id, so that regenerating an unchanged chapter changes nothing."""
    return hashlib.sha1(f"{docname}:{index}".encode()).hexdigest()[:8]


def reader_notebook(page: registry.Page, site: Site) -> nbformat.NotebookNode:
    """The .ipynb of one notebook page: its code cells as written, its Markdown rewritten."""
    source = jupytext.read(page.path)
    cells = []
    for index, cell in enumerate(source.cells):
        metadata = dict(cell.metadata)
        if cell.cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(site.markdown(cell.source, page.docname), metadata=metadata)
        elif cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(cell.source, metadata=metadata)
        else:
            new = nbformat.v4.new_raw_cell(cell.source, metadata=metadata)
        new.id = cell_id(page.docname, index)
        cells.append(new)
    notebook = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": dict(source.metadata["kernelspec"])})
    notebook.metadata["language_info"] = {"name": "python"}
    # Where it came from, for the reader who opens only this file (Colab) and for the contributor.
    source_path = page.path.relative_to(ROOT) if page.path.is_relative_to(ROOT) else Path(page.path.name)
    notebook.metadata["genai_book"] = {"source": source_path.as_posix(), "page": site.page_url(page.docname)}
    return notebook


def text_of(notebook: nbformat.NotebookNode) -> str:
    return nbformat.writes(notebook) + "\n"


def out_of_date(root: Path = ROOT) -> list[str]:
    """Every notebook page whose .ipynb is not what this module makes from its .md, as messages."""
    site = Site.of(root)
    problems = []
    for page in registry.notebooks(root):
        ipynb = page.path.with_suffix(".ipynb")
        if not ipynb.exists() or ipynb.read_text(encoding="utf8") != text_of(reader_notebook(page, site)):
            problems.append(f"{ipynb.relative_to(root)} is not what {page.path.name} makes: run `make sync`.")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only report notebooks that are out of date")
    args = parser.parse_args(argv)
    if args.check:
        problems = out_of_date()
        print("\n".join(problems) or "Every .ipynb is up to date.")
        return 1 if problems else 0
    site = Site.of()
    for page in registry.notebooks():
        if set_install_cell(page.path):
            print(f"{page.path.relative_to(ROOT)}: the Colab install cell now installs v{library_version()}")
        page.path.with_suffix(".ipynb").write_text(text_of(reader_notebook(page, site)), encoding="utf8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
