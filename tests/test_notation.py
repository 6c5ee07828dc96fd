"""The book's notation has one home: Appendix D lists every symbol, and every chapter links to it.

Appendix D (book/appendices/d_notation.md) is a plain page of _toc.yml. Each chapter opens with a folded
box, ```{admonition} Notation``` with `:class: dropdown`, placed before its first code cell, that lists
the symbols the chapter leans on and ends with a link to the appendix. Which pages are chapters is
book/chapters.py's answer, read from _toc.yml, so a new chapter is held to this as soon as it is listed.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

import jupytext
import pytest

from book import chapters as registry

ROOT = Path(__file__).resolve().parents[1]
APPENDIX = "book/appendices/d_notation"
CHAPTERS = registry.chapters(ROOT)

FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{admonition\}[ \t]+Notation[ \t]*$", re.MULTILINE)
# A link to the appendix as a {doc} role from the book's root (LINK below):
# book/reader.py turns it into a link to the published page in the .ipynb that Colab and the exercise editions
# open, where a relative Markdown link to a .md file would lead nowhere. A relative {doc} target also resolves.
DOC_ROLE = re.compile(r"\{doc\}`(?:[^`<]*<)?(?P<target>[^`<>]+?)>?`")
LINK = "{doc}`Appendix D, Notation </book/appendices/d_notation>`"


def notation_boxes(markdown: str) -> list[str]:
    """The bodies (options included) of the admonitions titled "Notation" in a Markdown cell."""
    boxes = []
    for match in FENCE.finditer(markdown):
        end = markdown.find("\n" + match["fence"] + "\n", match.end())
        if end == -1 and markdown.endswith("\n" + match["fence"]):
            end = len(markdown) - len(match["fence"]) - 1
        boxes.append(markdown[match.end() : end] if end != -1 else markdown[match.end() :])
    return boxes


def links_to_appendix(box: str, docname: str) -> bool:
    """Whether the box links to Appendix D by a {doc} role, from the book's root or from the chapter's folder."""
    for m in DOC_ROLE.finditer(box):
        target = m["target"].strip().removesuffix(".md")
        if target.startswith("/"):
            page = posixpath.normpath(target.lstrip("/"))
        else:
            page = posixpath.normpath(posixpath.join(posixpath.dirname(docname), target))
        if page == APPENDIX:
            return True
    return False


def box_problems(page: registry.Page) -> list[str]:
    """What is wrong with a chapter's notation box (empty when nothing is)."""
    cells = jupytext.read(page.path).cells
    first_code = next((i for i, cell in enumerate(cells) if cell.cell_type == "code"), len(cells))
    found = [
        (i, box) for i, cell in enumerate(cells) if cell.cell_type == "markdown" for box in notation_boxes(cell.source)
    ]
    name = f"{page.docname}.md"
    if not found:
        return [
            f"{name} has no ```{{admonition}} Notation``` box: add one after the opening paragraphs, listing "
            f"the symbols the chapter leans on and ending with {LINK} (see {APPENDIX}.md)."
        ]
    problems = []
    if len(found) > 1:
        problems.append(f"{name} has {len(found)} Notation boxes; one is enough.")
    cell, box = found[0]
    if cell > first_code:
        problems.append(f"{name}: the Notation box must come before the first code cell, with the opening.")
    if not re.search(r"^:class:.*\bdropdown\b", box, re.MULTILINE):
        problems.append(f"{name}: the Notation box must be folded (`:class: dropdown`).")
    if not links_to_appendix(box, page.docname):
        problems.append(
            f"{name}: the Notation box does not link to {APPENDIX}.md by a {{doc}} role; end it with {LINK}."
        )
    return problems


def test_the_appendix_is_a_plain_page_of_the_appendices():
    assert (ROOT / f"{APPENDIX}.md").is_file(), f"{APPENDIX}.md is missing: it is the book's notation appendix."
    listed = {docname for _, docname in registry.toc_entries(ROOT)}
    assert APPENDIX in listed, f"_toc.yml does not list {APPENDIX}: add `- file: {APPENDIX}` under the Appendices."
    page = next(page for page in registry.pages(ROOT) if page.docname == APPENDIX)
    assert page.part == "Appendices", f"{APPENDIX} is listed under {page.part!r}, not under the Appendices."
    assert page.kind == "page", f"{APPENDIX}.md must be a plain Markdown page, not a notebook."
    title = re.search(r"^# (.+)$", page.path.read_text(encoding="utf8"), re.MULTILINE)
    assert title and "Notation" in title[1], f"{APPENDIX}.md must be titled as the notation appendix."


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda page: page.path.stem)
def test_every_chapter_has_a_notation_box_that_links_to_the_appendix(page):
    assert box_problems(page) == []


def test_the_box_check_can_fail(tmp_path):
    header = (
        "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n"
        "kernelspec:\n  display_name: Python 3\n  language: python\n  name: python3\n---\n\n"
        "# A chapter\n\nIt opens.\n\n"
    )
    code = "```{code-cell} ipython3\nx = 1\n```\n"
    box = "```{admonition} Notation\n:class: dropdown\n\n- $x$ — a point\n\nSee LINK.\n```\n\n"
    doc = box.replace("LINK", LINK)
    cases = {
        "good": (header + doc + code, []),
        "relative": (header + box.replace("LINK", "{doc}`Appendix D <../appendices/d_notation>`") + code, []),
        "markdown_link": (
            header + box.replace("LINK", "[Appendix D](../appendices/d_notation.md)") + code,
            ["does not link"],
        ),
        "missing": (header + code, ["has no"]),
        "wrong_target": (header + box.replace("LINK", "{doc}`Appendix D <d_notation>`") + code, ["does not link"]),
        "not_folded": (header + doc.replace(":class: dropdown\n", "") + code, ["folded"]),
        "after_code": (header + code + "\n" + doc, ["before the first code cell"]),
        "two_boxes": (header + doc + doc + code, ["2 Notation boxes"]),
    }
    for name, (text, expected) in cases.items():
        md = tmp_path / f"{name}.md"
        md.write_text(text, encoding="utf8")
        problems = box_problems(registry.Page(f"book/part9/{name}", md, "Part 9", "chapter"))
        assert len(problems) == len(expected), (name, problems)
        assert all(e in p for e, p in zip(expected, problems, strict=True)), (name, problems)


def test_the_notebooks_colab_opens_link_the_appendix_to_its_published_page():
    """The box's {doc} role from the book's root becomes a link to the published appendix in every .ipynb."""
    for page in CHAPTERS:
        notebook = page.path.with_suffix(".ipynb")
        assert f"/{APPENDIX}.html" in notebook.read_text(encoding="utf8"), f"{notebook.name} lacks the appendix link"
