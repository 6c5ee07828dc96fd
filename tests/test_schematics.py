"""The book's schematic diagrams: drawn by genai_lib.schematics, legible, and at least two in every chapter.

Legible means checked on the rendered figure: every piece of text lies inside the figure, no two pieces
of text overlap, and a label written inside a box fits inside it. A chapter uses a diagram by a code cell
that calls `schematics.<name>()`; every diagram is used by some chapter.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import jupytext  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

from book import chapters as registry  # noqa: E402
from genai_lib import schematics  # noqa: E402
from genai_lib.schematics import Board, part0, part1, part2, part3, part4, part5, part6, stylegan, t2i  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = [page for page in registry.chapters(ROOT) if page.docname.startswith("book/part")]  # not the appendices
DIAGRAMS = {name: getattr(module, name) for module in (part0, part1, part2, part3, part4, part5, part6, stylegan, t2i)
            for name in module.__all__}  # fmt: skip
CALL = re.compile(r"\bschematics\.(?P<name>[a-z_0-9]+)\(")
MIN_PER_CHAPTER = 2
MARGIN = 3  # pixels at 100 dpi a label keeps from its box's sides: fonts render wider at low resolution


def rendered_texts(fig):
    """(text artist, its window extent) for every non-empty text of a drawn figure."""
    canvas = FigureCanvasAgg(fig)  # the board closed its figure: draw it on a canvas of its own
    canvas.draw()
    renderer = canvas.get_renderer()
    texts = [t for t in fig.findobj(matplotlib.text.Text) if t.get_text().strip() and t.get_visible()]
    return [(t, t.get_window_extent(renderer)) for t in texts], renderer


def chapter_calls(page) -> list[str]:
    """The diagram names called in the code cells of a chapter's .md twin."""
    nb = jupytext.read(ROOT / page.path)
    return [m["name"] for cell in nb.cells if cell.cell_type == "code" for m in CALL.finditer(cell.source)]


@pytest.mark.parametrize("name", sorted(DIAGRAMS))
def test_diagram_text_is_inside_the_figure_and_does_not_overlap(name):
    fig = DIAGRAMS[name]()
    assert isinstance(fig, matplotlib.figure.Figure), f"{name}() must return its figure"
    assert DIAGRAMS[name].__doc__, f"{name}() needs a one-line docstring saying what it draws"
    texts, renderer = rendered_texts(fig)
    frame = fig.bbox
    for t, box in texts:
        inside = frame.x0 - 1 <= box.x0 and box.x1 <= frame.x1 + 1 and frame.y0 - 1 <= box.y0 and box.y1 <= frame.y1 + 1
        assert inside, f"{name}: the text {t.get_text()!r} runs off the figure"
    for (s, a), (t, b) in itertools.combinations(texts, 2):
        overlap = min(a.x1, b.x1) - max(a.x0, b.x0) > 1 and min(a.y1, b.y1) - max(a.y0, b.y0) > 1
        assert not overlap, f"{name}: the texts {s.get_text()!r} and {t.get_text()!r} overlap"
    boxes = [p.get_window_extent(renderer) for p in fig.findobj(FancyBboxPatch)]
    for t, box in texts:
        cx, cy = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
        holders = [patch for patch in boxes if patch.contains(cx, cy)]  # several where boxes are stacked
        fits = [patch.x0 + MARGIN <= box.x0 and box.x1 <= patch.x1 - MARGIN for patch in holders]
        assert not holders or any(fits), f"{name}: the label {t.get_text()!r} fills its box to the edge or beyond"


def test_every_chapter_draws_at_least_two_diagrams_and_every_diagram_is_used():
    used: set[str] = set()
    for page in CHAPTERS:
        chapter, calls = page.docname, chapter_calls(page)
        unknown = sorted(set(calls) - set(DIAGRAMS) - {"Board"})
        assert not unknown, f"{chapter} calls diagrams that genai_lib.schematics does not define: {unknown}"
        assert len(set(calls)) >= MIN_PER_CHAPTER, f"{chapter} draws {len(set(calls))} schematic(s); it needs 2"
        used.update(calls)
    assert not sorted(set(DIAGRAMS) - used), f"diagrams no chapter draws: {sorted(set(DIAGRAMS) - used)}"
    assert set(DIAGRAMS) <= set(dir(schematics)), "genai_lib.schematics re-exports every Part's diagrams"


def test_the_board_refuses_what_it_cannot_draw():
    with pytest.raises(ValueError, match="positive width and height"):
        Board(0, 3)
    board = Board(4, 3)
    with pytest.raises(ValueError, match="Unknown role 'weights'; choose one of data, net"):
        board.box(2, 1.5, "x", role="weights")
    board.done()


def test_an_arrow_between_boxes_starts_and_ends_on_their_edges():
    board = Board(10, 4)
    a, b = board.box(2, 2, "a", w=2, h=1), board.box(8, 2, "b", w=2, h=1)
    assert a.edge_towards(b.x, b.y) == a.right and b.edge_towards(a.x, a.y) == b.left
    assert a.edge_towards(2, 10) == a.top
    board.done()
