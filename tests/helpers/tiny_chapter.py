"""A chapter written in a test: its MyST source and .ipynb under tmp/book/part9/, made into otter bundles."""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat

from assignments.student import Made, make_student_version

# The front matter jupytext reads a MyST notebook by, as the book's chapters carry it.
MYST_HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""


def make_tiny_chapter(tmp: Path, stem: str, text: str) -> Made:
    """Write `text` as tmp/book/part9/<stem>.md with its .ipynb, and make its student version and grader
    bundle in tmp/out/<stem>/ as `make student` does."""
    md = tmp / "book" / "part9" / f"{stem}.md"
    md.parent.mkdir(parents=True)
    md.write_text(text)
    notebook = jupytext.reads(text, fmt="md:myst")
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, md.with_suffix(".ipynb"))
    return make_student_version(md, tmp / "out")
