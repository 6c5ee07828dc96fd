"""Exercise checks (`check_*`), one module per chapter of the book.

An exercise in a chapter is three cells: a Markdown question headed
``### Exercise N.k — title (easy|medium|hard, ~M min)``; a code cell whose solution lies between
``# BEGIN SOLUTION`` and ``# END SOLUTION`` (otter-grader's markers, so a student version replaces it
with ``...``); and a cell calling the matching ``check_*`` function, which prints what is correct or
raises :class:`CheckError` saying what is wrong.
"""

from genai_lib.exercises.ch00 import *  # noqa: F401,F403
from genai_lib.exercises.ch00 import __all__ as _ch00
from genai_lib.exercises.ch01 import *  # noqa: F401,F403
from genai_lib.exercises.ch01 import __all__ as _ch01
from genai_lib.exercises.core import CheckError, expect, expect_answer, expect_close, passed

__all__ = ["CheckError", "expect", "expect_answer", "expect_close", "passed", *_ch00, *_ch01]
