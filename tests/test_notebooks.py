"""Every chapter is a MyST notebook with a stripped, in-sync .ipynb twin and the book's chapter format."""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(ROOT.glob("book/*/[0-9][0-9]_*.md"))
# Appendix pages that are MyST notebooks (a jupytext header), as the Makefile's CHAPTERS finds them;
# plain Markdown pages (book/appendices/a_reference.md) are not notebooks and are not checked here.
APPENDIX_NOTEBOOKS = sorted(md for md in ROOT.glob("book/appendices/*.md")
                            if re.search(r"^\s*format_name: myst", md.read_text(encoding="utf-8"), re.M))
NOTEBOOKS = CHAPTERS + APPENDIX_NOTEBOOKS
# Reference pages that execute but teach nothing to exercise: no parameters, summary or exercises.
REFERENCE_NOTEBOOKS = {"c_glossary"}


def cells_of(notebook) -> list[tuple[str, str, list[str]]]:
    return [(c.cell_type, c.source, sorted(c.metadata.get("tags", []))) for c in notebook.cells]


def pairing_problems(md: Path) -> list[str]:
    """What is wrong with the .md/.ipynb pair of one chapter (empty when nothing is)."""
    ipynb = md.with_suffix(".ipynb")
    if not ipynb.exists():
        return [f"{ipynb.name} is missing: run `make sync`."]
    source, twin = jupytext.read(md), nbformat.read(ipynb, as_version=4)
    problems = []
    if cells_of(source) != cells_of(twin):
        problems.append(f"{ipynb.name} is out of sync with {md.name}: run `make sync`.")
    dirty = [i for i, c in enumerate(twin.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    if dirty:
        problems.append(f"{ipynb.name} keeps outputs in cells {dirty[:5]}: run `make sync` (it strips them).")
    return problems


def test_there_are_chapters():
    assert len(CHAPTERS) >= 2
    assert {"b_scaling", "c_glossary"} <= {md.stem for md in APPENDIX_NOTEBOOKS}  # not a_reference, a plain page


@pytest.mark.parametrize("md", NOTEBOOKS, ids=lambda p: p.stem)
def test_ipynb_twin_is_in_sync_and_stripped(md):
    assert pairing_problems(md) == []


def test_the_pairing_check_can_fail(tmp_path):
    md = tmp_path / "99_demo.md"
    md.write_text(CHAPTERS[0].read_text())
    jupytext.write(jupytext.read(md), md.with_suffix(".ipynb"))
    assert pairing_problems(md) == []
    md.write_text(md.read_text() + "\n```{code-cell} ipython3\nprint('new')\n```\n")
    assert "out of sync" in pairing_problems(md)[0]
    nb = jupytext.read(md)
    nb.cells[-1].outputs = [nbformat.v4.new_output("stream", text="new\n")]
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
    assert "google.colab" in install.source and f"git+{repository_url()}" in install.source, \
        "the Colab install cell must install genai_lib from the repository named in _config.yml"
    assert "gl.setup(" in setup.source, "the second code cell must call gl.setup(seed=...)"
    if md.stem in REFERENCE_NOTEBOOKS:
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


def test_every_chapter_is_in_the_table_of_contents():
    toc = (ROOT / "_toc.yml").read_text()
    listed = set(re.findall(r"file:\s*(\S+)", toc))
    chapters = {str(md.relative_to(ROOT).with_suffix("")) for md in NOTEBOOKS}
    assert chapters <= listed, f"chapters missing from _toc.yml: {sorted(chapters - listed)}"
