"""The chapter-as-script runner (benchmarks/chapter_script.py): parsing, running, and a real chapter end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import chapter_script as cs  # noqa: E402

FENCE = "```"


def notebook(tmp_path: Path, *cells: str, name: str = "nb.md") -> Path:
    """A MyST notebook in tmp_path whose code cells are `cells` (each with its option lines), prose between."""
    parts = ["---\njupytext:\n  text_representation:\n    format_name: myst\n---\n", "# A title\n"]
    for i, cell in enumerate(cells):
        parts.append(f"{FENCE}{{code-cell}} ipython3\n{cell}\n{FENCE}\n")
        parts.append(f"Prose after cell {i}, with an inline `code` span.\n")
    path = tmp_path / name
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def test_code_cells_reads_tags_lines_and_sources(tmp_path):
    md = notebook(
        tmp_path,
        ":tags: [remove-cell]\n\nimport sys",
        "---\ntags: [parameters, hide-input]\n---\nsteps = 3\nlr = 0.1",
        "print(steps)",
    )
    cells = cs.code_cells(md)
    lines = md.read_text().splitlines()
    assert [c.index for c in cells] == [0, 1, 2]
    assert [c.tags for c in cells] == [("remove-cell",), ("parameters", "hide-input"), ()]
    assert [c.source for c in cells] == ["import sys", "steps = 3\nlr = 0.1", "print(steps)"]
    assert all(lines[c.line - 1] == "```{code-cell} ipython3" for c in cells)
    assert [c.line for c in cells] == sorted({c.line for c in cells})


def test_an_unclosed_fence_is_an_error_naming_file_and_line(tmp_path):
    md = tmp_path / "broken.md"
    md.write_text("# Title\n\n```{code-cell} ipython3\nx = 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken\.md:3"):
        cs.code_cells(md)


def test_magics_become_python_line_for_line(monkeypatch):
    monkeypatch.setenv("FOO", "before")
    cell = cs.Cell(0, 1, (), "if True:\n    %pip install -q x\n%env FOO = a b\n%matplotlib inline\nx = 5 % 3")
    source = cs.python_source(cell)
    assert len(source.splitlines()) == 5
    compile(source, "cell", "exec")  # the skipped magic inside the `if` leaves a valid block
    namespace: dict = {}
    exec(source, namespace)
    assert os.environ["FOO"] == "a b"
    assert namespace["x"] == 2


@pytest.fixture
def failing_notebook(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("FOO", "before")  # restored after the test, whatever the notebook sets
    return notebook(
        tmp_path,
        "answer = 41 + 1",
        "%env FOO=bar\nimport os\nfoo = os.environ['FOO']\nhere = os.getcwd()",
        "import matplotlib.pyplot as plt\nfig = plt.figure()\nplt.plot([1, 2])\nraise RuntimeError('cell three broke')",
        "after = plt.get_fignums()",
    )


def test_run_stops_at_the_first_failing_cell(failing_notebook):
    cwd = os.getcwd()
    namespace: dict = {}
    report = cs.run(failing_notebook, namespace=namespace)
    assert [(c.index, c.ok) for c in report.cells] == [(0, True), (1, True), (2, False)]
    assert not report.ok and os.getcwd() == cwd
    assert namespace["answer"] == 42 and namespace["foo"] == "bar"
    assert namespace["__name__"] == "__main__" and callable(namespace["display"])
    assert namespace["here"] == str(failing_notebook.parent.resolve())  # cells run in the notebook's folder
    error = report.cells[2].error
    assert error.splitlines()[0] == "RuntimeError: cell three broke"
    assert f"{failing_notebook}:{report.cells[2].line}" in error and "raise RuntimeError" in error
    assert report.seconds >= sum(c.seconds for c in report.cells)
    assert "after" not in namespace


def test_keep_going_runs_the_cells_after_a_failure(failing_notebook):
    namespace: dict = {}
    report = cs.run(failing_notebook, keep_going=True, namespace=namespace)
    assert [c.ok for c in report.cells] == [True, True, False, True]
    assert namespace["after"] == []  # the failing cell's figure was closed
    data = json.loads(json.dumps(report.as_dict()))
    assert data["ok"] is False and data["cells"][2]["error"].startswith("RuntimeError")
    assert cs.Report.from_dict(data).cells == report.cells
    assert cs.summary(report).startswith(f"FAIL cell 2 (line {report.cells[2].line}): RuntimeError: cell three broke")


def test_cli_runs_each_notebook_in_its_own_process(tmp_path):
    good = notebook(tmp_path, "print('hello from the notebook')", name="good.md")
    bad = notebook(tmp_path, "x = 1", "1 / 0", name="bad.md")
    out = tmp_path / "reports.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "chapter_script.py"), str(good), str(bad), "--json", str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "hello from the notebook"
    assert lines[1].startswith("ok ") and lines[1].endswith(str(good))
    assert lines[2].startswith("FAIL cell 1 (line ") and "ZeroDivisionError" in lines[2]
    assert [r["ok"] for r in json.loads(out.read_text())] == [True, False]


def test_a_real_chapter_runs_as_a_script(tmp_path):
    env = {
        **os.environ,
        "GENAI_BUDGET": "smoke",
        "GENAI_DEVICE": "pseudo",
        "GENAI_WIDGETS": "off",
        "GENAI_PROGRESS": "off",
        "GENAI_CHECKPOINT_DIR": str(tmp_path),
    }
    chapter = ROOT / "book" / "part0" / "00_how_to_use.md"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "chapter_script.py"), str(chapter)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.splitlines()[-1].startswith("ok ")


def test_the_parser_agrees_with_jupytext_on_every_notebook():
    jupytext = pytest.importorskip("jupytext")  # not on the GPU machine; the book's notebooks are checked here
    notebooks = sorted(ROOT.glob("book/*/*.md"))
    checked = 0
    for md in notebooks:
        nb = jupytext.read(md)
        if nb.metadata.get("jupytext", {}).get("text_representation", {}).get("format_name") != "myst":
            continue
        expected = [(c.source, tuple(c.metadata.get("tags", []))) for c in nb.cells if c.cell_type == "code"]
        assert [(c.source, c.tags) for c in cs.code_cells(md)] == expected, md.name
        checked += 1
    assert checked >= 2


def test_display_prints_a_repr_without_ipython(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "IPython", None)  # as on the GPU machine, where IPython is not installed
    monkeypatch.setitem(sys.modules, "IPython.display", None)
    display = cs.display_function()
    display([1, 2], "x")
    assert capsys.readouterr().out == "[1, 2]\n'x'\n"


def test_a_cell_timeout_stops_slow_cells_but_not_the_uncapped_ones(tmp_path):
    path = notebook(
        tmp_path,
        "import time\ntime.sleep(3)\nslow = 1",
        "import time\ntime.sleep(0.5)\ntrain_model = 1",
        "import os\nlast_cell = os.environ['GENAI_CELL']",
    )
    ns: dict = {}
    report = cs.run(path, keep_going=True, namespace=ns, cell_timeout=0.2, uncapped=r"\btrain_")
    first, second, third = report.cells
    assert not first.ok and "CellTimeout: the cell ran past its 0.2 s limit" in first.error and first.seconds < 2
    assert second.ok and second.seconds >= 0.5  # it matches `uncapped`: no limit
    assert third.ok and ns["last_cell"] == "2" and "slow" not in ns
    assert "GENAI_CELL" not in os.environ
