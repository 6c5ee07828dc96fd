"""The book's Sphinx extension (book/_ext/genai_book.py), without building the book.

What it reads from the repository (the chapters' imports, the packages of genai_lib, the table of
chapters each chapter builds on) is checked here in seconds; tests/test_book.py and
tests/book_rendered.py check what the built pages show.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import genai_book  # noqa: E402

TOC = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf8"))
CHAPTER = re.compile(r"^book/([^/]+)/(\d\d[a-z]?)_[^/]+$")


def toc_parts() -> list[list[str]]:
    return [[entry["file"] for entry in part.get("chapters", [])] for part in TOC["parts"]]


def test_code_cells_drop_options_and_magics():
    text = (
        "# Title\n\n```{code-cell} ipython3\n---\ntags: [remove-cell]\n---\n%pip install x\nimport a\n```\n\n"
        "```{code-cell} ipython3\n:tags: [parameters]\n\ncfg = 1\n```\n\n```python\nnot_a_cell()\n```\n"
    )
    assert genai_book.code_cells(text) == ["\nimport a", "\ncfg = 1"]


def test_the_modules_a_chapter_uses_are_read_from_its_code():
    used = genai_book.genai_lib_modules_used(ROOT / "book/part1/02_gan_game.md")
    # `from genai_lib.models.gan import ...`, `from genai_lib import viz`, `gl.setup`, `gl.fit`,
    # `from genai_lib.data import Batches` (defined in genai_lib.data.batches).
    for module in [
        "genai_lib.models.gan",
        "genai_lib.viz",
        "genai_lib.config",
        "genai_lib.train",
        "genai_lib.data.batches",
        "genai_lib.losses",
    ]:
        assert module in used, f"{module} not found among the modules chapter 02 uses: {sorted(used)}"
    assert all(name.startswith("genai_lib.") for name in used)
    for name in used:
        importlib.import_module(name)  # each is a real module


def test_every_chapter_has_a_row_in_the_builds_on_table():
    for part in toc_parts():
        for docname in part:
            match = CHAPTER.match(docname)
            if not match:
                continue
            number = match.group(2)
            assert number in genai_book.CHAPTER_BUILDS_ON, (
                f"{docname} has no entry in CHAPTER_BUILDS_ON in book/_ext/genai_book.py: add the "
                "earlier chapters it builds on (the part map of its part is drawn from it)."
            )
            for earlier in genai_book.CHAPTER_BUILDS_ON[number]:
                assert earlier < number, f"Chapter {number} builds on a later chapter, {earlier}."


def test_every_part_opens_with_its_introduction_and_map():
    for part in toc_parts():
        chapters = [name for name in part if CHAPTER.match(name)]
        if not chapters:
            continue
        folder = CHAPTER.match(chapters[0]).group(1)
        index = f"book/{folder}/index"
        assert part[0] == index, f"The part of {chapters[0]} must open with {index} in _toc.yml."
        text = (ROOT / f"{index}.md").read_text(encoding="utf8")
        assert f"```{{genai-part-map}} {folder}\n```" in text, f"{index}.md has no part map of {folder}."


def test_the_reference_page_covers_every_package_of_genai_lib():
    import genai_lib

    page = (ROOT / "book/appendices/a_reference.md").read_text(encoding="utf8")
    blocks = set(genai_book.MODULES_BLOCK.findall(page))
    packages = {"genai_lib"} | {
        info.name for info in pkgutil.walk_packages(genai_lib.__path__, "genai_lib.") if info.ispkg
    }
    assert packages <= blocks, (
        f"book/appendices/a_reference.md has no ```{{genai-modules}} PACKAGE``` block for "
        f"{sorted(packages - blocks)}; add one (the modules inside are then listed by themselves)."
    )


def test_the_part_map_is_well_formed_svg():
    svg = genai_book.part_map_svg(
        rows=[("01", "Generative modelling", False), ("02", "The GAN game", True), ("03", "DCGAN", True)],
        edges=[("01", "02"), ("02", "03"), ("01", "03")],
        modules=["genai_lib.losses", "genai_lib.models.gan"],
        uses={"02": {"genai_lib.losses"}, "03": {"genai_lib.models.gan", "genai_lib.losses"}},
        href=lambda number: f"{number}.html",
    )
    tree = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert len(tree.findall(f"{ns}a")) == 3  # one link per chapter box
    assert len(tree.findall(f"{ns}circle")) == 3  # one dot per use
    assert len(tree.findall(f"{ns}path")) == 3  # one arc per edge


def test_offline_mathjax_needs_the_file(tmp_path, monkeypatch):
    from sphinx.errors import ExtensionError

    class Config:
        mathjax_path = "https://cdn.example/mathjax.js"

    monkeypatch.setenv(genai_book.MATHJAX_ENV, str(tmp_path))
    with pytest.raises(ExtensionError, match="make mathjax"):
        genai_book.offline_mathjax(None, Config)
    (tmp_path / "tex-mml-chtml.js").write_text("// MathJax", encoding="utf8")
    genai_book.offline_mathjax(None, Config)
    assert Config.mathjax_path == "mathjax/tex-mml-chtml.js"
