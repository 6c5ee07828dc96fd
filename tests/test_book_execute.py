"""book/execute.py: `make book`'s notebooks run several at a time, after the notebooks they load from.

The scheduling rules are checked as functions; then three tiny real notebooks run in real kernels, two at
a time: one trains (writes a checkpoint), one loads it, one fails, and one loads from the failed one.
"""

from __future__ import annotations

import os
from pathlib import Path

import jupytext
import nbformat
import pytest
from helpers.tiny_chapter import MYST_HEADER

from book import build, chapters
from book.execute import critical_path, execute, link_checkpoints, threads_per_job


def notebook(path: Path, code: str) -> Path:
    path.write_text(MYST_HEADER + "\n```{code-cell} ipython3\n" + code.strip() + "\n```\n", encoding="utf8")
    return path


def test_the_longest_chain_of_work_starts_first():
    upstream = {"vq": (), "t2i": ("vq",), "ar": ("vq", "t2i"), "eval": ("vq", "t2i", "ar")}
    seconds = {"vq": 100, "t2i": 500, "ar": 120, "eval": 50, "dcgan": 350}
    order = critical_path(["dcgan", "vq", "t2i", "ar", "eval"], upstream, seconds)
    assert order == {"eval": 50, "ar": 170, "t2i": 670, "vq": 770, "dcgan": 350}
    assert critical_path(["new"], {}, {})["new"] > 0  # a notebook never timed gets a guess, not zero


def test_the_cores_are_shared_among_the_jobs():
    assert threads_per_job(2, cores=2) == 1
    assert threads_per_job(2, cores=8) == 4
    assert threads_per_job(4, cores=2) == 1  # more jobs than cores still gives each a thread
    assert threads_per_job(1, cores=16) == 16


def test_a_notebook_sees_the_checkpoints_of_its_upstream_as_links(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "vq.pt").write_bytes(b"weights")
    folder = link_checkpoints(tmp_path, "b", ("a",))
    assert (folder / "vq.pt").read_bytes() == b"weights"
    assert os.path.samefile(folder / "vq.pt", tmp_path / "a" / "vq.pt")  # linked, not copied
    (folder / "own.pt").write_bytes(b"mine")
    assert link_checkpoints(tmp_path, "b", ("a",)) == folder and (folder / "own.pt").read_bytes() == b"mine"


def test_notebooks_run_two_at_a_time_upstream_first_and_a_failure_stops_its_downstream(tmp_path):
    trains = notebook(
        tmp_path / "trains.md",
        """
import os, pathlib, time
time.sleep(1.5)  # the loader must wait for this, though a second worker is free
pathlib.Path(os.environ["GENAI_CHECKPOINT_DIR"], "model.txt").write_text("trained")
print("threads", os.environ["OMP_NUM_THREADS"], "budget", os.environ["GENAI_BUDGET"])
""",
    )
    loads = notebook(
        tmp_path / "loads.md",
        'import os, pathlib\nprint(pathlib.Path(os.environ["GENAI_CHECKPOINT_DIR"], "model.txt").read_text())',
    )
    fails = notebook(tmp_path / "fails.md", "raise ValueError('the claim did not hold')")
    orphan = notebook(tmp_path / "orphan.md", "print('never')")
    stale = {"trains": trains, "loads": loads, "fails": fails, "orphan": orphan}
    upstream = {"loads": ("trains",), "orphan": ("fails",)}
    stored = {}
    outcomes = execute(
        stale,
        checkpoints=tmp_path / "checkpoints",
        upstream=upstream,
        env=dict(os.environ, GENAI_BUDGET="smoke"),
        store=lambda docname, text, seconds: stored.update({docname: nbformat.reads(text, as_version=4)}),
        jobs=2,
        timeout=60,
    )
    assert set(stored) == {"trains", "loads"}  # only successes reach the cache

    def printed(docname):
        return "".join(output.get("text", "") for output in stored[docname].cells[0].outputs)

    assert printed("trains").split() == ["threads", str(threads_per_job(2)), "budget", "smoke"]
    assert printed("loads").strip() == "trained"  # it ran after its upstream, in its own folder with the link
    assert "ValueError" in outcomes["fails"].error and "the claim did not hold" in outcomes["fails"].error
    assert outcomes["orphan"].error.startswith("not executed") and "fails" in outcomes["orphan"].error
    assert outcomes["trains"].error is None and outcomes["trains"].seconds >= 1.5
    seconds, first_line = outcomes["trains"].slowest[0]  # the build names the slow cells of a slow chapter
    assert seconds >= 1.4 and first_line == "import os, pathlib, time"
    assert all("execution" not in cell.metadata for nb in stored.values() for cell in nb.cells)  # or no cache match


def test_what_the_executor_stores_is_what_jupyter_book_then_finds_in_the_cache(tmp_path):
    md = notebook(tmp_path / "page.md", "print(6 * 7)")
    cache = build.open_cache(tmp_path / "cache")
    outcomes = execute(
        {"page": md},
        checkpoints=tmp_path / "checkpoints",
        upstream={},
        env=dict(os.environ),
        store=lambda docname, text, seconds: build.store(cache, md, text, seconds),
        jobs=1,
    )
    assert outcomes["page"].error is None and build.cached(cache, md)
    _, merged = cache.merge_match_into_notebook(jupytext.read(md))  # what myst-nb does with a cached page
    assert merged.cells[-1].outputs[0]["text"] == "42\n"


def test_a_cycle_in_the_upstreams_is_refused(tmp_path):
    a, b = notebook(tmp_path / "a.md", "1"), notebook(tmp_path / "b.md", "2")
    with pytest.raises(ValueError, match="cycle"):
        execute(
            {"a": a, "b": b},
            checkpoints=tmp_path,
            upstream={"a": ("b",), "b": ("a",)},
            env=dict(os.environ),
            store=lambda *args: None,
        )


def test_a_first_build_orders_its_notebooks_by_the_recorded_standard_times():
    pages = {page.docname: page.path for page in chapters.notebooks()}
    seconds = build.expected_seconds("standard", pages)
    assert set(seconds) == set(pages) and all(s > 0 for s in seconds.values())  # every notebook has a recorded time
    order = critical_path(list(pages), chapters.CHECKPOINT_UPSTREAM, seconds)
    # chapter 7 starts first when the chain it heads (7 -> 13 -> 14 -> 15) is the longest work of the book
    chain = sum(
        seconds[d]
        for d in (
            "book/part2/07_vqvae",
            *chapters.CHECKPOINT_UPSTREAM["book/part4/15_evaluating_t2i"][1:],
            "book/part4/15_evaluating_t2i",
        )
    )
    assert order["book/part2/07_vqvae"] == pytest.approx(chain)
