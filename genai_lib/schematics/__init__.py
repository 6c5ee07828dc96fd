"""Schematic diagrams of the book's models, drawn by code so that they are reproducible and editable.

Each function draws one diagram and returns its figure; a notebook cell that ends with the call shows it.
The drawing primitives live in `board`; the diagrams of each Part of the book in `part0` ... `part6`
(chapter 4b, style-based generators, in `stylegan`; chapters 13-15, text to image, in `t2i`).
"""

from .board import ROLES as ROLES
from .board import Board as Board
from .board import Box as Box
from .part0 import *  # noqa: F403
from .part1 import *  # noqa: F403
from .part2 import *  # noqa: F403
from .part3 import *  # noqa: F403
from .part4 import *  # noqa: F403
from .part5 import *  # noqa: F403
from .part6 import *  # noqa: F403
from .stylegan import *  # noqa: F403
from .t2i import *  # noqa: F403
