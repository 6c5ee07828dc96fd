"""A board for schematic diagrams: labelled boxes, arrows between them and tensor shapes, drawn with matplotlib.

Coordinates are board units (1 unit ~ 0.45 inch); a box is placed by its centre. Colours name a role, so
that data, networks, latents, losses and text look the same in every chapter's diagrams.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

INCH_PER_UNIT = 0.45
LABEL_PAD = 0.12  # units a box's label keeps from its sides; a longer label is set in smaller type

# One fill per role, the same in every diagram of the book.
ROLES = {
    "data": "#dbe9f6",  # images, tokens, anything observed
    "net": "#fde2c4",  # a network with trainable weights
    "latent": "#d8f0d2",  # codes, noise, hidden states
    "loss": "#f8cfcf",  # objectives and their terms
    "text": "#e6dcf3",  # captions and their encodings
    "op": "#f2f2f2",  # a fixed operation: sampling, adding noise, a sum
}


@dataclass(frozen=True)
class Box:
    """A placed box: its centre (x, y) and size (w, h) in board units."""

    x: float
    y: float
    w: float
    h: float

    @property
    def left(self) -> tuple[float, float]:
        return (self.x - self.w / 2, self.y)

    @property
    def right(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y)

    @property
    def top(self) -> tuple[float, float]:
        return (self.x, self.y + self.h / 2)

    @property
    def bottom(self) -> tuple[float, float]:
        return (self.x, self.y - self.h / 2)

    def edge_towards(self, px: float, py: float) -> tuple[float, float]:
        """The point where the ray from the centre towards (px, py) leaves the box."""
        dx, dy = px - self.x, py - self.y
        if dx == 0 and dy == 0:
            return (self.x, self.y)
        t = min(self.w / 2 / abs(dx) if dx else float("inf"), self.h / 2 / abs(dy) if dy else float("inf"))
        return (self.x + t * dx, self.y + t * dy)


Point = tuple[float, float]


class Board:
    """A blank canvas of width x height board units with an optional title; add boxes, arrows and notes."""

    def __init__(self, width: float, height: float, title: str | None = None):
        if width <= 0 or height <= 0:
            raise ValueError(f"A board needs a positive width and height, got {width} x {height}.")
        self.width, self.height = width, height
        self.fig, self.ax = plt.subplots(figsize=(width * INCH_PER_UNIT, height * INCH_PER_UNIT))
        self.ax.set_xlim(0, width)
        self.ax.set_ylim(0, height)
        self.ax.set_aspect("equal")
        self.ax.set_axis_off()
        self.fig.subplots_adjust(left=0, right=1, bottom=0, top=0.9 if title else 1)
        self.ax.apply_aspect()  # now, not at the first draw: box() measures its labels in pixels
        if title:
            self.fig.suptitle(title, fontsize=11)

    def box(
        self,
        x: float,
        y: float,
        text: str,
        *,
        w: float = 2.4,
        h: float = 1.0,
        role: str = "net",
        sub: str | None = None,
        fontsize: float = 9,
    ) -> Box:
        """A rounded box centred at (x, y) holding `text`, with `sub` (a shape, say) in smaller type below it."""
        if role not in ROLES:
            raise ValueError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
        patch = FancyBboxPatch(
            (x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0,rounding_size=0.15",
            facecolor=ROLES[role], edgecolor="#444444", linewidth=1.0,
        )  # fmt: skip
        self.ax.add_patch(patch)
        if sub is None:
            self._fit(self.ax.text(x, y, text, ha="center", va="center", fontsize=fontsize), w)
        else:
            self._fit(self.ax.text(x, y + h * 0.15, text, ha="center", va="center", fontsize=fontsize), w)
            label = self.ax.text(x, y - h * 0.25, sub, ha="center", va="center", fontsize=fontsize - 2, color="#333333")
            self._fit(label, w)
        return Box(x, y, w, h)

    def _fit(self, label, width: float) -> None:
        """Shrink a label's type until it keeps LABEL_PAD from both sides of a box `width` units wide."""
        unit = self.ax.transData.transform((1, 0))[0] - self.ax.transData.transform((0, 0))[0]  # pixels
        room = (width - 2 * LABEL_PAD) * unit
        for _ in range(8):  # hinting makes the width only roughly proportional to the size: shrink until it fits
            drawn = label.get_window_extent().width  # measured by the figure's own renderer
            if drawn <= room:
                return
            label.set_fontsize(label.get_fontsize() * min(0.97, room / drawn))

    def arrow(
        self,
        a: Box | Point,
        b: Box | Point,
        text: str | None = None,
        *,
        dashed: bool = False,
        bend: float = 0.0,
        color: str = "#333333",
        text_offset: Point = (0.0, 0.25),
    ) -> None:
        """An arrow from a to b (boxes are left at their edge facing the other end), labelled at its middle."""
        ca = (a.x, a.y) if isinstance(a, Box) else a
        cb = (b.x, b.y) if isinstance(b, Box) else b
        start = a.edge_towards(*cb) if isinstance(a, Box) else a
        end = b.edge_towards(*ca) if isinstance(b, Box) else b
        self.ax.add_patch(
            FancyArrowPatch(
                start, end, arrowstyle="-|>", mutation_scale=12, color=color, linewidth=1.2,
                linestyle="--" if dashed else "-", connectionstyle=f"arc3,rad={bend}", shrinkA=2, shrinkB=2,
            )
        )  # fmt: skip
        if text:
            mx, my = (start[0] + end[0]) / 2 + text_offset[0], (start[1] + end[1]) / 2 + text_offset[1]
            self.ax.text(mx, my, text, ha="center", va="bottom", fontsize=8, color=color)

    def note(self, x: float, y: float, text: str, *, fontsize: float = 8, color: str = "#333333", **kw) -> None:
        """Free text centred at (x, y): an equation, a shape, a remark."""
        kw.setdefault("ha", "center")
        kw.setdefault("va", "center")
        self.ax.text(x, y, text, fontsize=fontsize, color=color, **kw)

    def frame(self, x0: float, y0: float, x1: float, y1: float, label: str | None = None) -> None:
        """A dashed rectangle around a group of boxes, its label at the top left inside it."""
        self.ax.add_patch(
            Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, linestyle="--", edgecolor="#888888", linewidth=1.0)
        )
        if label:
            self.ax.text(x0 + 0.15, y1 - 0.15, label, ha="left", va="top", fontsize=8, color="#555555")

    def grid(self, x: float, y: float, rows: int, cols: int, *, cell: float = 0.3, values=None, role: str = "data"):
        """A small rows x cols grid of cells centred at (x, y): an image, a token sequence, a matrix.

        `values` (rows x cols numbers in [0, 1]) shade the cells from white to the role's colour's edge.
        """
        x0, y0 = x - cols * cell / 2, y - rows * cell / 2
        for i in range(rows):
            for j in range(cols):
                shade = 0.0 if values is None else float(values[i][j])
                face = ROLES[role] if values is None else plt.cm.Greys(0.15 + 0.7 * shade)
                self.ax.add_patch(
                    Rectangle((x0 + j * cell, y0 + (rows - 1 - i) * cell), cell, cell, facecolor=face,
                              edgecolor="#666666", linewidth=0.5)
                )  # fmt: skip
        return Box(x, y, cols * cell, rows * cell)

    def done(self):
        """The finished figure (the notebook shows it once, as the cell's figure)."""
        plt.close(self.fig)
        return self.fig
