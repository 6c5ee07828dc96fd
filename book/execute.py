"""`make book`'s executor: the stale notebooks run several at a time, each after the notebooks it loads from.

Jupyter Book executes notebooks one after another. On two cores a chapter's small convolutions and
matrix products barely use the second thread, so two chapters on one thread each finish sooner than
two chapters in turn on two threads (measured on the chapter models: 1.2x for the text-to-image U-Net,
up to 1.7x for the small ones). book/build.py therefore executes the stale notebooks here first, `jobs`
at a time, and stores their outputs in the jupyter-cache that Jupyter Book then reads them from; Jupyter
Book itself executes nothing.

Each notebook runs as Jupyter Book would run it (its own kernel, in its own folder, the build's
environment, the configured cell timeout) with two differences: the kernel's thread count is the
machine's cores divided among the jobs, and its GENAI_CHECKPOINT_DIR is its own checkpoint folder.
A notebook that loads another's checkpoints (CHECKPOINT_UPSTREAM) starts only after that one succeeded,
and the longest chain of work starts first. A failed notebook's traceback is printed and it is not
run a second time; the notebooks that load from it are not run at all.
"""

from __future__ import annotations

import os
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing import get_context
from pathlib import Path

DEFAULT_SECONDS = 60.0  # the guess for a notebook no build has timed yet


@dataclass
class Outcome:
    """How one notebook's execution ended: its wall time, the threads it had, and its error if it failed."""

    seconds: float
    threads: int
    error: str | None = None
    slowest: list[tuple[float, str]] = field(default_factory=list)  # (seconds, first line) of its slowest cells


def link_checkpoints(checkpoints: Path, docname: str, upstream: tuple[str, ...]) -> Path:
    """The notebook's own checkpoint folder, holding hard links to the files of the notebooks it loads from."""
    folder = checkpoints / docname
    folder.mkdir(parents=True, exist_ok=True)
    for name in upstream:
        for path in sorted((checkpoints / name).glob("*")):
            if path.is_file() and not (folder / path.name).exists():
                os.link(path, folder / path.name)  # the upstream's training is read, never copied
    return folder


def critical_path(docnames: list[str], upstream: dict[str, tuple[str, ...]], seconds: dict[str, float]) -> dict:
    """docname -> its expected seconds plus the longest chain of notebooks that wait for it."""
    downstream = {d: [n for n in docnames if d in upstream.get(n, ())] for d in docnames}
    memo: dict[str, float] = {}

    def length(d: str, path: tuple[str, ...] = ()) -> float:
        if d in path:
            raise ValueError(f"CHECKPOINT_UPSTREAM has a cycle: {' -> '.join((*path, d))}; no notebook of it can start")
        if d not in memo:
            later = (length(n, (*path, d)) for n in downstream[d])
            memo[d] = seconds.get(d, DEFAULT_SECONDS) + max(later, default=0.0)
        return memo[d]

    return {d: length(d) for d in docnames}


def threads_per_job(jobs: int, cores: int | None = None) -> int:
    """The machine's cores shared among the jobs, at least one each."""
    return max(1, (cores or os.cpu_count() or 1) // jobs)


def cell_seconds(notebook) -> list[tuple[float, str]]:
    """(seconds, first line) of each timed code cell, slowest first; removes the timing from the cells.

    The timing must go: the cache matches a notebook on its cells' metadata, and Jupyter Book's own
    notebooks carry none.
    """
    timed = []
    for cell in notebook.cells:
        stamps = cell.get("metadata", {}).pop("execution", None)
        if cell.cell_type == "code" and stamps and "shell.execute_reply" in stamps and "iopub.execute_input" in stamps:
            start, end = (
                datetime.fromisoformat(stamps[k].replace("Z", "+00:00"))
                for k in ("iopub.execute_input", "shell.execute_reply")
            )
            timed.append(((end - start).total_seconds(), (cell.source.strip().splitlines() or [""])[0][:70]))
    return sorted(timed, reverse=True)


def run_notebook(md: str, env: dict[str, str], timeout: int) -> tuple[str | None, float, str | None, list]:
    """Execute one MyST notebook in its folder (in a worker process): (JSON, seconds, traceback, slowest cells)."""
    import jupytext  # noqa: PLC0415 (a worker imports what it needs)
    import nbformat  # noqa: PLC0415
    from nbclient import NotebookClient  # noqa: PLC0415

    notebook = jupytext.read(md)
    resources = {"metadata": {"path": str(Path(md).parent)}}  # the kernel's working folder
    client = NotebookClient(notebook, timeout=timeout, allow_errors=False, record_timing=True, resources=resources)
    start = time.perf_counter()
    try:
        client.execute(env=env)
    except Exception:  # a cell's error, a timeout or a dead kernel: all are reported, none re-raised here
        return None, time.perf_counter() - start, traceback.format_exc(), []
    seconds = time.perf_counter() - start
    slowest = cell_seconds(notebook)[:3]
    return nbformat.writes(notebook), seconds, None, slowest


def execute(
    stale: dict[str, Path],
    *,
    checkpoints: Path,
    upstream: dict[str, tuple[str, ...]],
    env: dict[str, str],
    store,
    jobs: int = 2,
    timeout: int = 900,
    previous: dict[str, float] | None = None,
) -> dict[str, Outcome]:
    """Execute the stale notebooks (docname -> .md), `jobs` at a time; `store(docname, json, seconds)` keeps each."""
    threads = threads_per_job(jobs)
    threads_env = {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    order = critical_path(list(stale), upstream, previous or {})
    waiting = sorted(stale, key=lambda d: -order[d])
    outcomes: dict[str, Outcome] = {}
    running = {}
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        while waiting or running:
            for docname in list(waiting):
                before = [u for u in upstream.get(docname, ()) if u in stale]
                failed = [u for u in before if u in outcomes and outcomes[u].error]
                if failed:
                    waiting.remove(docname)
                    error = f"not executed: it loads the checkpoints of {failed[0]}, which failed"
                    outcomes[docname] = Outcome(0.0, threads, error)
                    print(f"book: {docname} {error}", flush=True)
                elif len(running) < jobs and all(u in outcomes for u in before):
                    waiting.remove(docname)
                    folder = link_checkpoints(checkpoints, docname, upstream.get(docname, ()))
                    kernel_env = dict(env, GENAI_CHECKPOINT_DIR=str(folder), **threads_env)
                    running[pool.submit(run_notebook, str(stale[docname]), kernel_env, timeout)] = docname
                    print(f"book: executing {docname} ({threads} thread{'s' * (threads > 1)})", flush=True)
            if not running:  # only when every notebook left waits for a failed one (critical_path refused cycles)
                continue
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                docname = running.pop(future)
                notebook, seconds, error, slowest = future.result()
                outcomes[docname] = Outcome(seconds, threads, error, slowest)
                if error is None:
                    store(docname, notebook, seconds)
                    print(f"book: executed {docname} in {seconds:.0f} s", flush=True)
                else:
                    print(f"book: {docname} FAILED after {seconds:.0f} s:\n{error}", flush=True)
    return outcomes
