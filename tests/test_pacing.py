"""Every chapter states its reading time, computed from its own text, and marks one or two natural breaks.

book/pacing.py writes both (`python -m book.pacing --write`); this test fails when a chapter's text has
changed enough to change its stated time, or when a break went missing, and says which command mends it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from book import chapters as registry
from book import pacing

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = [page for page in registry.chapters(ROOT) if page.docname.startswith("book/part")]
MEND = "run `.venv/bin/python -m book.pacing --write`, then `make sync`"


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda page: page.docname)
def test_the_chapter_states_its_reading_time_and_marks_its_breaks(page):
    text = (ROOT / page.path).read_text(encoding="utf-8")
    assert pacing.paced(text) == text, f"{page.docname}: its reading time or breaks are out of date; {MEND}"
    boxes = [m["title"].strip() for m in pacing.ADMONITION.finditer(text)]
    assert boxes.count(pacing.TIME_TITLE) == 1
    assert 1 <= boxes.count(pacing.BREAK_TITLE) <= 2


def test_reading_time_counts_prose_and_code_before_the_exercises_only():
    chapter = (
        "---\nfront: matter\n---\n\n# Title\n\nOne two three four five.\n\n$$a + b = c$$\n\n"
        "```{code-cell} ipython3\n:tags: [remove-cell]\ninstall = 1\n```\n\n"
        "```{code-cell} ipython3\n# a comment\nx = 1\n\ny = 2\n```\n\n## 1. First\n\nSix seven.\n\n"
        "## Exercises\n\nMany more words that are not counted here at all.\n"
    )
    pace = pacing.measure(chapter)
    assert (pace.words, pace.code_lines) == (9, 2)  # Title, five words, First, two words; two lines of code
    assert pacing.Pace(words=1000, code_lines=60).minutes == 20  # 10 min of prose + 10 min of code


def test_breaks_fall_at_section_headings_nearest_the_middle():
    sections = "".join(f"## {k}. Section {k}\n\n" + "word " * 1000 + "\n\n" for k in range(1, 5))
    text = pacing.paced(sections)
    # 4,000 words = 40 min: the break goes before section 3, after 20 minutes of reading.
    assert text.index(pacing.BREAK_TITLE) < text.index("## 3.") and text.index("## 2.") < text.index(pacing.BREAK_TITLE)
    assert "About 20 of this chapter's 40 minutes" in text
    assert pacing.paced(text) == text, "writing the pacing twice changes nothing"


def test_a_chapter_without_sections_is_refused():
    with pytest.raises(ValueError, match="needs sections"):
        pacing.paced("# Title\n\nNo sections here.\n## Summary\n\nOnly a summary.\n")
