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
from genai_lib.exercises.ch02 import *  # noqa: F401,F403
from genai_lib.exercises.ch02 import __all__ as _ch02
from genai_lib.exercises.ch03 import *  # noqa: F401,F403
from genai_lib.exercises.ch03 import __all__ as _ch03
from genai_lib.exercises.ch04 import *  # noqa: F401,F403
from genai_lib.exercises.ch04 import __all__ as _ch04
from genai_lib.exercises.ch05 import *  # noqa: F401,F403
from genai_lib.exercises.ch05 import __all__ as _ch05
from genai_lib.exercises.ch06 import *  # noqa: F401,F403
from genai_lib.exercises.ch06 import __all__ as _ch06
from genai_lib.exercises.ch07 import *  # noqa: F401,F403
from genai_lib.exercises.ch07 import __all__ as _ch07
from genai_lib.exercises.ch08 import *  # noqa: F401,F403
from genai_lib.exercises.ch08 import __all__ as _ch08
from genai_lib.exercises.ch09 import *  # noqa: F401,F403
from genai_lib.exercises.ch09 import __all__ as _ch09
from genai_lib.exercises.ch10 import *  # noqa: F401,F403
from genai_lib.exercises.ch10 import __all__ as _ch10
from genai_lib.exercises.ch11 import *  # noqa: F401,F403
from genai_lib.exercises.ch11 import __all__ as _ch11
from genai_lib.exercises.ch12 import *  # noqa: F401,F403
from genai_lib.exercises.ch12 import __all__ as _ch12
from genai_lib.exercises.ch13 import *  # noqa: F401,F403
from genai_lib.exercises.ch13 import __all__ as _ch13
from genai_lib.exercises.ch14 import *  # noqa: F401,F403
from genai_lib.exercises.ch14 import __all__ as _ch14
from genai_lib.exercises.ch15 import *  # noqa: F401,F403
from genai_lib.exercises.ch15 import __all__ as _ch15
from genai_lib.exercises.ch16 import *  # noqa: F401,F403
from genai_lib.exercises.ch16 import __all__ as _ch16
from genai_lib.exercises.ch17 import *  # noqa: F401,F403
from genai_lib.exercises.ch17 import __all__ as _ch17
from genai_lib.exercises.appendix_b import *  # noqa: F401,F403
from genai_lib.exercises.appendix_b import __all__ as _appendix_b
from genai_lib.exercises.core import CheckError, expect, expect_answer, expect_close, passed

__all__ = ["CheckError", "expect", "expect_answer", "expect_close", "passed",
           *_ch00, *_ch01, *_ch02, *_ch03, *_ch04, *_ch05, *_ch06, *_ch07, *_ch08, *_ch09, *_ch10, *_ch11, *_ch12,
           *_ch13, *_ch14, *_ch15, *_ch16, *_ch17, *_appendix_b]
