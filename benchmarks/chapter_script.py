"""Runs a chapter's MyST notebook as a script, cell by cell in one process, without Jupyter."""

from __future__ import annotations

import argparse
import contextlib
import json
import linecache
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

OPENING = re.compile(r"^(`{3,})\{code-cell\}\s*ipython3\s*$")
OPTION = re.compile(r"^:(\w[\w-]*):\s*(.*)$")
MAGIC = re.compile(r"^(\s*)(%%?[A-Za-z]|![^=])")
ENV_MAGIC = re.compile(r"^%env\s+([A-Za-z_]\w*)(?:\s*=\s*|\s+)(.*?)\s*$")
TRACEBACK_LINES = 40


@dataclass(frozen=True)
class Cell:
    """One code cell: its 0-based index among code cells, the .md line of its opening fence, tags, source."""

    index: int
    line: int
    tags: tuple[str, ...]
    source: str


@dataclass
class CellRecord:
    """How one cell ran: where it is, how long it took, and the error if it raised."""

    index: int
    line: int
    seconds: float
    ok: bool
    error: str | None = None
    flops: int | None = None  # with counting on: the FLOPs and tensor operations the cell ran
    ops: int | None = None


@dataclass
class Report:
    """How one notebook ran: its path, total seconds and one record per executed cell."""

    path: str
    seconds: float = 0.0
    cells: list[CellRecord] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every executed cell succeeded."""
        return all(c.ok for c in self.cells)

    @property
    def failures(self) -> list[CellRecord]:
        """The records of the cells that raised."""
        return [c for c in self.cells if not c.ok]

    def as_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data, `ok` included."""
        return {**asdict(self), "ok": self.ok}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        """The report that `as_dict` wrote."""
        cells = [CellRecord(**c) for c in data["cells"]]
        return cls(path=data["path"], seconds=data["seconds"], cells=cells)


def parse_tags(value: str) -> tuple[str, ...]:
    """The tags of an option value written `[a, b]` (or a single bare tag), parsed without YAML."""
    value = value.strip()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    return tuple(t.strip().strip("'\"") for t in value.split(",") if t.strip())


def split_options(body: list[str]) -> tuple[tuple[str, ...], list[str]]:
    """The tags from a cell's option lines (`:key: value` or a `---` YAML block) and the source lines after them."""
    tags: tuple[str, ...] = ()
    if body and body[0].strip() == "---":
        end = next((i for i in range(1, len(body)) if body[i].strip() == "---"), None)
        if end is not None:
            for line in body[1:end]:
                key, _, value = line.partition(":")
                if key.strip() == "tags":
                    tags = parse_tags(value)
            return tags, body[end + 1 :]
    n = 0
    while n < len(body) and (m := OPTION.match(body[n])):
        if m.group(1) == "tags":
            tags = parse_tags(m.group(2))
        n += 1
    if n and n < len(body) and not body[n].strip():  # jupytext writes a blank line after the options
        n += 1
    return tags, body[n:]


def code_cells(md_path: str | Path) -> list[Cell]:
    """The code cells of a MyST Markdown notebook, in order."""
    lines = Path(md_path).read_text(encoding="utf-8").splitlines()
    cells: list[Cell] = []
    i = 0
    while i < len(lines):
        opening = OPENING.match(lines[i])
        if not opening:
            i += 1
            continue
        fence = opening.group(1)
        # A closing fence is at least as long as the opening one and carries nothing else (CommonMark).
        end = next((j for j in range(i + 1, len(lines)) if re.fullmatch(rf"{fence}`*\s*", lines[j])), None)
        if end is None:
            raise ValueError(f"{md_path}:{i + 1}: the code cell opened on line {i + 1} has no closing {fence}")
        tags, source = split_options(lines[i + 1 : end])
        cells.append(Cell(index=len(cells), line=i + 1, tags=tags, source="\n".join(source)))
        i = end + 1
    return cells


def translate_magic(line: str) -> str:
    """A Python line standing in for an IPython magic: `%env NAME=value` sets os.environ, others do nothing."""
    m = MAGIC.match(line)
    if not m:
        return line
    indent, magic = m.group(1), line.strip()
    if env := ENV_MAGIC.match(magic):
        name, value = env.groups()
        return f"{indent}__import__('os').environ[{name!r}] = {value!r}"
    return f"{indent}pass  # skipped IPython magic: {magic}"  # `pass` keeps an indented block valid


def python_source(cell: Cell) -> str:
    """The cell's source with its IPython magics translated, line for line (so line numbers still match)."""
    return "\n".join(translate_magic(line) for line in cell.source.splitlines())


def print_repr(*objs: Any, **_: Any) -> None:
    """Print each object's repr: `display` for a script run where IPython is not installed."""
    for obj in objs:
        print(repr(obj))


def display_function() -> Callable[..., Any]:
    """IPython's `display` when IPython is installed, else `print_repr`."""
    try:
        from IPython.display import display
    except ImportError:
        return print_repr
    return display


def error_text(exc: BaseException) -> str:
    """The exception's last line, then its traceback (the runner's own frame left out) cut to its last lines."""
    frames = traceback.format_exception(type(exc), exc, exc.__traceback__.tb_next if exc.__traceback__ else None)
    lines = "".join(frames).rstrip("\n").splitlines()
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    if len(lines) > TRACEBACK_LINES:
        lines = ["...", *lines[-TRACEBACK_LINES:]]
    return "\n".join([last, *lines])


class CellTimeout(Exception):
    """A cell ran past the time the runner allows it (`run(..., cell_timeout=...)`)."""


@contextlib.contextmanager
def time_limit(seconds: float | None):
    """Raise CellTimeout in the running cell after `seconds` (SIGALRM: the main thread of a POSIX process)."""
    if not seconds:
        yield
        return

    def stop(signum, frame):
        raise CellTimeout(f"the cell ran past its {seconds:g} s limit")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_cell(
    cell: Cell, md_path: Path, namespace: dict[str, Any], *, count: bool = False, timeout: float | None = None
) -> CellRecord:
    """Execute one cell in `namespace`, closing its figures afterwards, and record how it went.

    With `count`, the cell runs under genai_lib.probe's counters, and the record holds its FLOPs and
    tensor operations (what the step-time probe turns into a GPU estimate of the cell's time). With
    `timeout`, a cell still running after that many seconds is stopped and recorded as failed.
    """
    import matplotlib.pyplot as plt

    counting = contextlib.nullcontext(None)
    if count:
        from genai_lib.probe import Counters

        counting = Counters()

    filename = f"{md_path}:{cell.line}"
    source = python_source(cell)
    # Registered so that tracebacks show the cell's lines, as Jupyter's do.
    linecache.cache[filename] = (len(source), None, [line + "\n" for line in source.splitlines()], filename)
    t0 = time.perf_counter()
    error = None
    with counting as counters:
        try:
            with time_limit(timeout):
                exec(compile(source, filename, "exec"), namespace)  # noqa: S102  (running the chapter is the point)
        except (Exception, SystemExit) as exc:  # KeyboardInterrupt stops the runner, as it stops a kernel's loop
            error = error_text(exc)
        finally:
            plt.close("all")
    record = CellRecord(cell.index, cell.line, time.perf_counter() - t0, error is None, error)
    if counters is not None:
        record.flops, record.ops = counters.flops, counters.ops
    return record


def run(
    md_path: str | Path,
    *,
    keep_going: bool = False,
    namespace: dict[str, Any] | None = None,
    last_cell: int | None = None,
    count: bool = False,
    cell_timeout: float | None = None,
    uncapped: str | None = None,
) -> Report:
    """Run a notebook's code cells in order in this process, in its folder, as Jupyter would.

    With `last_cell`, cells after that index are not run (the step-time probe stops after the last
    cell that trains). Each cell's index is in $GENAI_CELL while it runs, for genai_lib.probe's records.
    With `cell_timeout`, each cell whose source does not match the regular expression `uncapped` is
    stopped after that many seconds (the probe on a CPU caps the full-size evaluations, not training).
    """
    import matplotlib

    matplotlib.use("Agg")  # before the chapter imports pyplot: no window, and nothing to show
    md_path = Path(md_path)
    cells = code_cells(md_path)
    folder = str(md_path.resolve().parent)
    ns = {} if namespace is None else namespace
    ns.setdefault("__name__", "__main__")
    ns.setdefault("display", display_function())
    report = Report(path=str(md_path))
    cwd, path = os.getcwd(), list(sys.path)
    os.chdir(folder)
    sys.path.insert(0, folder)  # Jupyter's kernel imports from the notebook's folder too
    t0 = time.perf_counter()
    try:
        for cell in cells:
            if last_cell is not None and cell.index > last_cell:
                break
            os.environ["GENAI_CELL"] = str(cell.index)
            capped = cell_timeout if not (uncapped and re.search(uncapped, cell.source)) else None
            record = run_cell(cell, md_path, ns, count=count, timeout=capped)
            report.cells.append(record)
            if not record.ok and not keep_going:
                break
    finally:
        os.environ.pop("GENAI_CELL", None)
        report.seconds = time.perf_counter() - t0
        os.chdir(cwd)
        sys.path[:] = path
    return report


def summary(report: Report) -> str:
    """One line for the terminal: `ok` with the time, or the first failing cell and its error."""
    if report.ok:
        return f"ok   {report.seconds:6.1f} s  {report.path}"
    first = report.failures[0]
    if first.index < 0:  # the process died: no cell to name
        return f"FAIL {first.error}  [{report.seconds:.1f} s  {report.path}]"
    message = first.error.splitlines()[0] if first.error else "no error text"
    more = f" (+{len(report.failures) - 1} more failing cells)" if len(report.failures) > 1 else ""
    return f"FAIL cell {first.index} (line {first.line}): {message}{more}  [{report.seconds:.1f} s  {report.path}]"


def run_in_subprocess(md_path: str, *, keep_going: bool, **options: Any) -> Report:
    """Run one notebook in a fresh Python process, its output going to this terminal, and read back its report."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        command = [sys.executable, __file__, "--one", str(out), md_path, *(["--keep-going"] if keep_going else [])]
        for name, value in options.items():
            if value is True:
                command.append(f"--{name.replace('_', '-')}")
            elif value not in (None, False):
                command += [f"--{name.replace('_', '-')}", str(value)]
        t0 = time.perf_counter()
        result = subprocess.run(command, check=False)
        if out.exists():
            return Report.from_dict(json.loads(out.read_text()))
    # The process died before writing its report (a crash, or killed for memory).
    error = f"the notebook's process exited with code {result.returncode} before reporting"
    return Report(md_path, time.perf_counter() - t0, [CellRecord(-1, 0, 0.0, False, error)])


def main(argv: list[str] | None = None) -> int:
    """The command line: run each notebook in its own process, print one line each, exit 1 if any failed."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("notebooks", nargs="+", help="MyST notebooks (.md) to run")
    p.add_argument("--keep-going", action="store_true", help="run the remaining cells after one fails")
    p.add_argument("--json", type=Path, default=None, help="write all reports to this file as a JSON list")
    p.add_argument("--last-cell", type=int, default=None, help="run cells up to this index only")
    p.add_argument("--count", action="store_true", help="count each cell's FLOPs and tensor operations")
    p.add_argument("--cell-timeout", type=float, default=None, help="stop a cell after this many seconds")
    p.add_argument("--uncapped", default=None, help="regular expression: cells matching it have no time limit")
    p.add_argument("--one", type=Path, default=None, help=argparse.SUPPRESS)  # child: write the report here
    args = p.parse_args(argv)
    options = dict(last_cell=args.last_cell, count=args.count, cell_timeout=args.cell_timeout, uncapped=args.uncapped)
    if args.one is not None:
        if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
            del sys.path[0]  # this script's folder, which a notebook's kernel would not see
        report = run(args.notebooks[0], keep_going=args.keep_going, **options)
        args.one.write_text(json.dumps(report.as_dict(), indent=2))
        return 0 if report.ok else 1
    reports = []
    for md in args.notebooks:
        report = run_in_subprocess(md, keep_going=args.keep_going, **options)
        reports.append(report)
        print(summary(report), flush=True)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([r.as_dict() for r in reports], indent=2) + "\n")
    return 0 if all(r.ok for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
