"""The notebooks that Colab opens read as the book does: checked against the built book.

Imported by tests/test_book.py, so that these tests share its one strict build (the `built_book` and
`pages` fixtures). Each notebook page's .ipynb is what book/reader.py makes from its .md
(tests/test_notebooks.py), so checking the committed files checks the rewrite:

- no MyST role or directive is left in a Markdown cell;
- every key the source cites appears as a link to its entry of the bibliography, with the authors and
  year that the built page shows for that key;
- every equation reference and every labelled equation carries the number the built page gives it;
- every link into the published book names a page the build wrote, and an anchor on it.

That they execute at the smoke budget is nbval's job in `make test`, which runs these very files.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat
import pytest

from book import chapters as registry
from book import reader

__all__ = [
    "test_the_notebook_colab_opens_has_no_raw_myst",
    "test_every_citation_is_a_linked_author_year_as_the_book_shows_it",
    "test_every_equation_carries_the_number_the_book_gives_it",
    "test_every_link_into_the_published_book_resolves",
]

ROOT = Path(__file__).resolve().parents[1]
READER_NOTEBOOKS = registry.notebooks(ROOT)
SITE = reader.Site.of(ROOT)
MARKDOWN_LINK = re.compile(r"\[(?P<text>[^\]]*)\]\((?P<url>[^)\s]+)\)")
CITE_KEYS = re.compile(r"\{cite(?::[pt])?\}`(?P<keys>[^`]*)`")
EQ_REF = re.compile(r"\{eq\}`(?P<label>[^`]*)`")


def markdown_of(page: registry.Page) -> str:
    notebook = nbformat.read(page.path.with_suffix(".ipynb"), as_version=4)
    return "\n\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")


def local(url: str, built_book: Path) -> tuple[Path, str]:
    """The built file and anchor that a link into the published book stands for."""
    assert url.startswith(SITE.url), url
    path, _, anchor = url.removeprefix(SITE.url).partition("#")
    return built_book / path, anchor


def shown_citations(page_html: str) -> dict[str, str]:
    """Key -> the plain text of the in-text citation that links to its bibliography entry."""
    shown = {}
    for span in re.findall(r'<span class="bibtex-citation"[^>]*>(.*?)</span>', page_html, flags=re.S):
        for key in re.findall(r'href="[^"]*bibliography\.html#cite-([^"]+)"', span):
            shown.setdefault(key, html.unescape(re.sub(r"<[^>]+>", "", span)).replace("\xa0", " "))
    return shown


def equation_numbers(page_html: str) -> dict[str, int]:
    """Label -> the number the built page prints beside that equation."""
    numbers = re.findall(r'<span class="eqno">\((\d+)\)<a class="headerlink" href="#equation-([^"]+)"', page_html)
    return {label: int(number) for number, label in numbers}  # labels as Sphinx writes ids: lower case


@pytest.mark.parametrize("page", READER_NOTEBOOKS, ids=lambda p: p.path.stem)
def test_the_notebook_colab_opens_has_no_raw_myst(page):
    text = markdown_of(page)
    left = reader.RAW_MYST.search(text)
    assert left is None, (
        f"{page.path.with_suffix('.ipynb').name} shows raw MyST in Colab: "
        f"{text[left.start() : left.start() + 60]!r}. Run `make sync` (book/reader.py rewrites it)."
    )
    assert "```{" not in text and ":::" not in text


@pytest.mark.parametrize("page", READER_NOTEBOOKS, ids=lambda p: p.path.stem)
def test_every_citation_is_a_linked_author_year_as_the_book_shows_it(page, built_book, pages):
    source, text = page.path.read_text(encoding="utf8"), markdown_of(page)
    keys = {key.strip() for match in CITE_KEYS.finditer(source) for key in match["keys"].split(",")}
    shown = shown_citations(pages[page.docname].html)
    bibliography = pages["book/bibliography"]
    for key in sorted(keys):
        url = SITE.cite_url(key)
        links = [m["text"] for m in MARKDOWN_LINK.finditer(text) if m["url"] == url]
        assert links, f"{page.path.name} cites {key}, but its .ipynb has no link to {url}."
        who, year = SITE.works[key]
        assert all(who in link and year in link for link in links), (key, links)
        assert local(url, built_book)[1] in bibliography.ids, f"bibliography.html has no entry with the id of {key}."
        # The built page names the work the same way: the same first author's surname and year.
        assert key in shown, f"{page.docname}.html shows no citation of {key}, which the source cites."
        surname = who.split(" and ")[0].removesuffix(" et al.")
        assert surname in shown[key] and year in shown[key], (
            f"{page.path.with_suffix('.ipynb').name} cites {key} as {who!r}, {year}; the book shows {shown[key]!r}."
        )


@pytest.mark.parametrize("page", READER_NOTEBOOKS, ids=lambda p: p.path.stem)
def test_every_equation_carries_the_number_the_book_gives_it(page, built_book, pages):
    source, text = page.path.read_text(encoding="utf8"), markdown_of(page)
    own = equation_numbers(pages[page.docname].html)
    labels = reader.DISPLAY_LABEL.findall(source)
    assert [int(n) for n in re.findall(r"\\tag\{(\d+)\}", text)] == [own[label.lower()] for label in labels], (
        f"The \\tag numbers of {page.path.with_suffix('.ipynb').name} differ from those of {page.docname}.html."
    )
    for label in {m["label"] for m in EQ_REF.finditer(source)}:
        docname, _ = SITE.equations[label]
        url = SITE.equation_url(label)
        numbers = {m["text"] for m in MARKDOWN_LINK.finditer(text) if m["url"] == url}
        built = equation_numbers(pages[docname].html)
        assert numbers == {f"({built[label.lower()]})"}, (
            f"{page.path.name} refers to {label}: its .ipynb says {numbers}, {docname}.html numbers it "
            f"({built[label.lower()]})."
        )


def test_every_link_into_the_published_book_resolves(built_book, pages):
    checked = 0
    for page in READER_NOTEBOOKS:
        for match in MARKDOWN_LINK.finditer(markdown_of(page)):
            if not match["url"].startswith(SITE.url):
                continue
            path, anchor = local(match["url"], built_book)
            assert path.is_file(), f"{page.path.with_suffix('.ipynb').name} links to {match['url']}: no such page."
            if anchor:
                docname = path.relative_to(built_book).with_suffix("").as_posix()
                ids = pages[docname].ids if docname in pages else set(re.findall(r'id="([^"]+)"', path.read_text()))
                assert anchor in ids, f"{page.path.with_suffix('.ipynb').name} links to {match['url']}: no such anchor."
            checked += 1
    assert checked > 300, f"only {checked} links into the book: the rewrite lost its links"
