"""Sphinx extension of the book: part maps, the genai_lib reference, MathJax served from the build.

Loaded through `sphinx: local_extensions` in _config.yml. The maps and the reference are generated
from the repository at build time, so that neither can go stale:

``{genai-part-map} partN``
    A directive for a part's introduction page. It draws (inline SVG, no JavaScript, no Graphviz,
    no CDN) the chapters of the part as a row of boxes with an arrow for each "builds on" relation
    (the table CHAPTER_BUILDS_ON below, which a person keeps), and under each chapter a dot for
    every genai_lib module that the chapter's code cells import or use (read from the chapters'
    code at build time with Python's ast module). The same facts follow as a list for readers of
    a screen reader or of the text.

``{genai-modules} PACKAGE``
    Written on the reference page (book/appendices/a_reference.md). Before the page is parsed it is
    replaced by one section per module of PACKAGE found on disk (pkgutil), each an ``automodule``
    with ``:members:`` and ``:undoc-members:``, so a new module of genai_lib appears in the reference without anybody
    editing the page.

Scripts once
    sphinx-thebe and sphinx-togglebutton register their inline scripts twice in a Jupyter Book
    build (a JavaScript error on every page); each is kept once.

Exercises in Colab
    Under the title of every chapter that has an exercise edition (exercises/<chapter>.ipynb, made
    by `make sync`), a line links to it in Colab: the chapter without its solutions, for students.

Offline MathJax
    When the environment variable GENAI_BOOK_MATHJAX names a folder holding MathJax 3's
    ``tex-mml-chtml.js`` (the ``es5`` folder of npm's ``mathjax`` package; ``make book OFFLINE=1``
    fetches it), the pages load MathJax from ``_static/mathjax/`` of the build instead of a CDN.
"""

from __future__ import annotations

import ast
import html
import importlib
import os
import pkgutil
import posixpath
import re
import shutil
import sys
from pathlib import Path

from docutils import nodes
from sphinx.errors import ExtensionError
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

# Which pages are chapters is read from _toc.yml by book/chapters.py, the one module the Makefile,
# the tests and assignments/ ask too; it is imported from the repository root, this file's grandparent.
REPOSITORY = Path(__file__).resolve().parents[2]
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))
from book.chapters import TocError  # noqa: E402 (after the sys.path line above)
from book.chapters import chapters as toc_chapters  # noqa: E402

logger = logging.getLogger(__name__)

MATHJAX_ENV = "GENAI_BOOK_MATHJAX"
MATHJAX_FILE = "tex-mml-chtml.js"
MATHJAX_STATIC = "mathjax"  # under _static/ of the build
# The combined component and what it loads on demand: TeX extensions (autoload), the CommonHTML
# fonts, the menu and its accessibility extensions. Not the speech engine (sre) or SVG output.
MATHJAX_PARTS = (MATHJAX_FILE, "input", "output/chtml", "output/chtml.js", "ui", "a11y", "adaptors")

# Which earlier chapters each chapter builds on: the chapters whose results, code or derivations it
# uses (found by reading each chapter's references to earlier ones; 13-17 from the book's plan).
# Keyed by chapter number; a chapter missing here fails the strict build with a message.
CHAPTER_BUILDS_ON: dict[str, list[str]] = {
    "00": [],
    "01": ["00"],
    "02": ["01"],
    "03": ["02"],
    "04": ["02", "03"],
    "04b": ["02", "03", "04"],
    "05": ["01"],
    "06": ["05"],
    "07": ["05", "06"],
    "08": ["01"],
    "09": ["08"],
    "10": ["08", "09"],
    "11": ["01", "05", "09"],
    "12": ["04", "11"],
    "13": ["06", "09", "12"],
    "14": ["07", "10", "13"],
    "15": ["04", "13", "14"],
    "16": ["03", "10"],
    "17": ["04", "16"],
    "18": ["03", "08", "10", "16"],
    "19": ["10", "13", "15", "18"],
    "20": ["07", "09", "13", "15"],
}

# Modules every chapter uses (genai_lib.config: setup and budget) are named once under the map
# instead of drawn for every chapter; the exercise checks are each chapter's own and not drawn.
NOT_DRAWN_PREFIXES = ("genai_checks",)

CODE_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```\s*$", re.S | re.M)


# ----------------------------------------------------------------------------------------------
# Chapters and what they import


def shown(number: str) -> str:
    """A chapter's number as readers see it: "04" -> "4", "04b" -> "4b"."""
    return number.lstrip("0") or "0"


def chapter_title(path: Path) -> str:
    """The first level-1 heading of a chapter's MyST file."""
    for line in path.read_text(encoding="utf8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return path.stem


def code_cells(text: str) -> list[str]:
    """The Python source of every {code-cell} of a MyST notebook, without options and magics."""
    cells = []
    for body in CODE_CELL.findall(text):
        lines = body.splitlines()
        if lines and lines[0].strip() == "---":  # YAML options block
            end = next((i for i, line in enumerate(lines[1:], 1) if line.strip() == "---"), 0)
            lines = lines[end + 1 :]
        while lines and lines[0].startswith(":"):  # :tags: [...] style options
            lines = lines[1:]
        lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in lines]
        cells.append("\n".join(lines))
    return cells


def _defining_module(obj, fallback: str) -> str:
    if isinstance(obj, type(os)):  # a module
        return obj.__name__
    module = getattr(obj, "__module__", None)
    return module if isinstance(module, str) and module.startswith("genai_lib") else fallback


def genai_lib_modules_used(path: Path) -> set[str]:
    """The genai_lib modules whose names a chapter's code imports or uses, as dotted names.

    ``from genai_lib.data import Batches`` counts as genai_lib.data.batches (where Batches is
    defined), ``gl.fit`` after ``import genai_lib as gl`` as genai_lib.train, and
    ``from genai_lib import viz`` as genai_lib.viz.
    """
    used: set[str] = set()
    aliases: dict[str, str] = {}  # local name -> module it names
    for source in code_cells(path.read_text(encoding="utf8")):
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue  # an exercise cell with a deliberate gap; nothing to import there
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "genai_lib":
                        aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else "genai_lib"
                        if alias.name != "genai_lib":
                            used.add(alias.name)
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "genai_lib":
                package = importlib.import_module(node.module)
                for alias in node.names:
                    if alias.name == "*":
                        used.add(node.module)
                        continue
                    obj = getattr(package, alias.name, None)
                    if obj is None and hasattr(package, "__path__"):  # a submodule not yet imported
                        try:
                            obj = importlib.import_module(f"{node.module}.{alias.name}")
                        except ImportError:
                            obj = None
                    module = _defining_module(obj, node.module)
                    used.add(module)
                    if isinstance(obj, type(os)):
                        aliases[alias.asname or alias.name] = module
        for node in ast.walk(tree):  # gl.fit, viz.grid: attribute use of an imported module
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
                module = importlib.import_module(aliases[node.value.id])
                obj = getattr(module, node.attr, None)
                if obj is not None and not node.attr.startswith("__"):
                    used.add(_defining_module(obj, module.__name__))
    return {name for name in used if name != "genai_lib"}


def part_chapters(srcdir: Path, part: str, found_docs) -> list[tuple[str | None, str, str]]:
    """(number, docname, title) of each chapter of book/<part>/ that the book builds, in the order of
    _toc.yml (book/chapters.py); the number is None for a chapter whose file name has none."""
    return [
        (page.number, page.docname, chapter_title(page.path))
        for page in toc_chapters(srcdir)
        if page.folder == part and page.docname in found_docs
    ]


def all_chapters(srcdir: Path, found_docs) -> dict[str, tuple[str, str]]:
    """Chapter number -> (docname, title), for every numbered chapter the book builds."""
    return {
        page.number: (page.docname, chapter_title(page.path))
        for page in toc_chapters(srcdir)
        if page.number and page.docname in found_docs
    }


# ----------------------------------------------------------------------------------------------
# The part map: SVG drawn by hand (a row of chapter boxes, arcs for "builds on", a grid of modules)


def _wrap(text: str, width: int, lines_max: int = 2) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    if len(lines) > lines_max:
        lines = lines[:lines_max]
        lines[-1] = lines[-1][: width - 1] + "…"
    return lines


def part_map_svg(rows, edges, modules, uses, href) -> str:
    """The map of one part as an SVG string.

    rows: [(number, title, in_part)] top to bottom; edges: [(earlier, later)]; modules: module names
    (columns); uses: {number: set of modules}; href(number): the link to that chapter's page.
    Chapters are rows of boxes; an arc on the left goes from a chapter to each chapter that builds
    on it; a dot in a module's column marks a module that the chapter's code uses.
    """
    row_h, box_h, box_w = 50, 40, 220
    index = {number: i for i, (number, _, _) in enumerate(rows)}
    max_span = max([index[b] - index[a] for a, b in edges] or [0])
    arcs_w = 16 + 14 * max_span
    label_len = max([len(m.removeprefix("genai_lib.")) for m in modules] or [0])
    header = 24 + int(6.6 * label_len * 0.82) if modules else 8
    col_w = 24
    grid_x = arcs_w + box_w + 20
    width = grid_x + col_w * len(modules) + (int(6.6 * label_len * 0.57) + 10 if modules else 0)
    height = header + row_h * len(rows) + 4
    y_of = {number: header + i * row_h for i, (number, _, _) in enumerate(rows)}
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="genai-part-map" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" style="max-width:100%;height:auto" role="img" '
        'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="12">',
        "<style>.genai-part-map a, .genai-part-map a text { text-decoration: none; } "
        ".genai-part-map a:hover rect { stroke-width: 2.5; }</style>",
        "<title>How the chapters of this part build on each other, and which genai_lib modules each one uses</title>",
        '<defs><marker id="genai-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" '
        'markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#4a5568"/></marker></defs>',
    ]
    for j, module in enumerate(modules):  # column stripes and slanted labels
        x = grid_x + j * col_w
        if j % 2 == 0:
            out.append(
                f'<rect x="{x}" y="{header - 6}" width="{col_w}" height="{row_h * len(rows) + 6}" fill="#f4f6f8"/>'
            )
        name = html.escape(module.removeprefix("genai_lib."))
        out.append(
            f'<text transform="translate({x + col_w / 2 + 3},{header - 10}) rotate(-55)" '
            f'font-family="ui-monospace, monospace" font-size="11" fill="#2d3748">{name}</text>'
        )

    def spread(k: int, n: int) -> float:  # where the k-th of n arcs meets a box's left side
        return box_h / 2 if n == 1 else 8 + (box_h - 16) * k / (n - 1)

    outgoing = {a: sorted((index[b] for x, b in edges if x == a), reverse=True) for a, _ in edges}
    incoming = {b: sorted(index[a] for a, x in edges if x == b) for _, b in edges}
    for a, b in edges:  # arcs on the left, from the earlier chapter down to the later one
        ya = y_of[a] + spread(outgoing[a].index(index[b]), len(outgoing[a]))
        yb = y_of[b] + spread(incoming[b].index(index[a]), len(incoming[b]))
        bulge = arcs_w - 6 - 14 * (index[b] - index[a])
        out.append(
            f'<path d="M{arcs_w},{ya} C{bulge},{ya} {bulge},{yb} {arcs_w - 1},{yb}" fill="none" '
            'stroke="#4a5568" stroke-width="1.3" marker-end="url(#genai-arrow)"/>'
        )
    for number, title, in_part in rows:
        y = y_of[number]
        fill, stroke, ink = ("#ebf4ff", "#2b6cb0", "#1a365d") if in_part else ("#f7f7f7", "#a0aec0", "#4a5568")
        dash = "" if in_part else ' stroke-dasharray="4 3"'
        out.append(f'<a href="{html.escape(href(number))}">')
        out.append(
            f'<rect x="{arcs_w}" y="{y}" width="{box_w}" height="{box_h}" rx="6" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="1.4"{dash}/>'
        )
        out.append(
            f'<text x="{arcs_w + 8}" y="{y + 25}" font-weight="bold" font-size="15" fill="{ink}">{shown(number)}</text>'
        )
        lines = _wrap(title, 30)
        for k, line in enumerate(lines):
            ty = y + (25 if len(lines) == 1 else 17 + 14 * k)
            out.append(f'<text x="{arcs_w + 32}" y="{ty}" fill="{ink}">{html.escape(line)}</text>')
        out.append("</a>")
        for j, module in enumerate(modules):
            if in_part and module in uses.get(number, ()):
                out.append(
                    f'<circle cx="{grid_x + j * col_w + col_w / 2}" cy="{y + box_h / 2}" r="5.5" '
                    f'fill="#2b6cb0"><title>Chapter {shown(number)} uses {html.escape(module)}</title></circle>'
                )
    out.append("</svg>")
    return "\n".join(out)


class PartMap(SphinxDirective):
    """``{genai-part-map} part1``: the dependency map of the chapters of book/part1/."""

    required_arguments = 1
    has_content = False

    def run(self):
        srcdir = Path(self.env.srcdir)
        part = self.arguments[0]
        found = self.env.found_docs
        try:
            chapters = part_chapters(srcdir, part, found)
            everything = all_chapters(srcdir, found)
        except TocError as error:  # a page of _toc.yml with no file: the build reports it too
            raise self.error(f"genai-part-map: {error}") from error
        if not chapters:
            raise self.error(f"genai-part-map: no chapter of book/{part}/ is in _toc.yml.")
        for number, docname, _ in chapters:
            if number is None:
                raise self.error(
                    f"genai-part-map: the chapter {docname} has no number: name its file "
                    f"book/{part}/<nn>_<topic>.md (the map and CHAPTER_BUILDS_ON in "
                    "book/_ext/genai_book.py know chapters by number), and its .ipynb twin alike."
                )
            if number not in CHAPTER_BUILDS_ON:
                raise self.error(
                    f"genai-part-map: chapter {number} ({docname}) has no entry in CHAPTER_BUILDS_ON "
                    "in book/_ext/genai_book.py; add the earlier chapters it builds on."
                )
            self.env.note_dependency(str(srcdir / f"{docname}.md"))
        in_part = [number for number, _, _ in chapters]
        earlier = sorted(
            {dep for n in in_part for dep in CHAPTER_BUILDS_ON[n] if dep not in in_part and dep in everything}
        )
        rows = [(n, everything[n][1], False) for n in earlier] + [(n, t, True) for n, _, t in chapters]
        edges = [(dep, n) for n in in_part for dep in CHAPTER_BUILDS_ON[n] if dep in everything]
        uses = {number: genai_lib_modules_used(srcdir / f"{docname}.md") for number, docname, _ in chapters}
        everywhere = set.intersection(*map(set, all_uses(srcdir, everything).values())) if everything else set()
        drawn = sorted(
            {m for ms in uses.values() for m in ms if not m.startswith(NOT_DRAWN_PREFIXES) and m not in everywhere}
        )

        here = posixpath.dirname(self.env.docname)

        def href(number):
            return posixpath.relpath(everything[number][0], here) + ".html"

        container = nodes.container(classes=["genai-part-map-figure"])
        container += nodes.raw(
            "",
            f'<div class="genai-part-map-scroll" style="overflow-x:auto">'
            f"{part_map_svg(rows, edges, drawn, uses, href)}</div>",
            format="html",
        )
        caption = nodes.paragraph(classes=["genai-part-map-caption"])
        caption += nodes.emphasis(
            text=(
                "Each box is a chapter (dashed: a chapter of an earlier part); an arrow leads from a "
                "chapter to each chapter that builds on it. A dot marks a genai_lib module that the "
                "chapter's code uses, read from its code cells when the book is built. "
                + (f"Every chapter also uses {', '.join(sorted(everywhere))}; " if everywhere else "")
                + "each chapter's exercise checks live in genai_checks."
            )
        )
        container += caption

        listing = nodes.bullet_list(classes=["genai-part-map-list"])
        for number, _docname, title in chapters:
            item = nodes.list_item()
            para = nodes.paragraph()
            para += nodes.reference("", f"Chapter {shown(number)}, {title}", refuri=href(number))
            deps = [f"chapter {shown(d)}" for d in CHAPTER_BUILDS_ON[number] if d in everything]
            para += nodes.Text((f" builds on {', '.join(deps)}" if deps else " starts from scratch") + "; it uses ")
            modules = sorted(m for m in uses[number] if not m.startswith(NOT_DRAWN_PREFIXES))
            for k, module in enumerate(modules):
                para += nodes.literal(text=module)
                para += nodes.Text(", " if k < len(modules) - 1 else ".")
            if not modules:
                para += nodes.Text("no genai_lib module.")
            item += para
            listing += item
        container += listing
        return [container]


_USES_CACHE: dict[str, set[str]] = {}


def all_uses(srcdir: Path, everything) -> dict[str, set[str]]:
    for number, (docname, _) in everything.items():
        if number not in _USES_CACHE:
            _USES_CACHE[number] = genai_lib_modules_used(srcdir / f"{docname}.md")
    return {n: _USES_CACHE[n] for n in everything}


# ----------------------------------------------------------------------------------------------
# The reference: one automodule per module, found on disk


MODULES_BLOCK = re.compile(r"^```\{genai-modules\}[ \t]+([\w.]+)[ \t]*\n```[ \t]*$", re.M)


def package_modules(package: str) -> list[str]:
    """Every module directly in `package` (not the package itself, not subpackages), sorted."""
    pkg = importlib.import_module(package)
    return sorted(
        f"{package}.{info.name}"
        for info in pkgutil.iter_modules(pkg.__path__)
        if not info.ispkg and not info.name.startswith("_")
    )


def modules_markdown(package: str) -> str:
    parts = []
    for module in package_modules(package):
        parts.append(
            f"### `{module}`\n\n```{{eval-rst}}\n.. automodule:: {module}\n   :members:\n   :undoc-members:\n```\n"
        )
    return "\n".join(parts)


def expand_modules(app, docname, source):
    if MODULES_BLOCK.search(source[0]):
        source[0] = MODULES_BLOCK.sub(lambda m: modules_markdown(m.group(1)), source[0])


# ----------------------------------------------------------------------------------------------
# MathJax from the build


def offline_mathjax(app, config):
    folder = os.environ.get(MATHJAX_ENV)
    if not folder:
        return
    if not (Path(folder) / MATHJAX_FILE).is_file():
        raise ExtensionError(
            f"{MATHJAX_ENV}={folder} has no {MATHJAX_FILE}. It must name the es5 folder of npm's "
            "mathjax@3 package: `make mathjax` fetches it (or unset the variable to use the CDN)."
        )
    config.mathjax_path = f"{MATHJAX_STATIC}/{MATHJAX_FILE}"  # relative: served from _static/


def copy_mathjax(app, exception):
    folder = os.environ.get(MATHJAX_ENV)
    if exception or not folder or app.builder.format != "html":
        return
    source, target = Path(folder), Path(app.outdir) / "_static" / MATHJAX_STATIC
    target.mkdir(parents=True, exist_ok=True)
    for part in MATHJAX_PARTS:  # what tex-mml-chtml.js loads: 4 MB of MathJax's 24
        if (source / part).is_dir():
            shutil.copytree(source / part, target / part, dirs_exist_ok=True)
        elif (source / part).is_file():
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / part, target / part)


def drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    """sphinx-thebe 0.3.1 (and sphinx-togglebutton) register their inline scripts twice in a
    Jupyter Book build; the second `const THEBE_JS_URL = ...` is a JavaScript error on every page.
    Keep each script once."""
    if "script_files" not in context:
        return
    seen, kept = set(), []
    for script in context["script_files"]:  # the copies differ only in priority
        key = (
            str(getattr(script, "filename", script) or ""),  # None and "" are both inline
            tuple(sorted((getattr(script, "attributes", None) or {}).items())),
        )
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"] = kept


EDITIONS = REPOSITORY / "exercises"  # the exercise editions (assignments/student.py, `make sync`)


def exercises_link(app, docname, source):
    """Under a chapter's title, a link that opens its exercise edition (no solutions) in Colab."""
    edition = EDITIONS / f"{Path(docname).name}.ipynb"
    if not edition.exists():
        return
    options = app.config.html_theme_options or {}
    repository = (options.get("repository_url") or "").removeprefix("https://github.com/").rstrip("/")
    branch = options.get("repository_branch") or "main"
    colab = (options.get("launch_buttons") or {}).get("colab_url", "https://colab.research.google.com").rstrip("/")
    url = f"{colab}/github/{repository}/blob/{branch}/exercises/{edition.name}"
    line = (
        f"\n\n*For students:* [open the exercises of this chapter in Colab]({url}), the chapter with its "
        "solutions taken out.\n"
    )
    source[0] = re.sub(r"^(# .+)$", lambda m: m.group(1) + line, source[0], count=1, flags=re.MULTILINE)


def setup(app):
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    app.add_directive("genai-part-map", PartMap)
    app.connect("source-read", expand_modules)
    app.connect("source-read", exercises_link)
    app.connect("config-inited", offline_mathjax)
    app.connect("build-finished", copy_mathjax)
    return {"version": "1.0", "parallel_read_safe": False, "parallel_write_safe": True}
