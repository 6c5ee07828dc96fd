"""The library stays readable: every function fits one screen, and no code uses a name kept only for old code."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCREEN = 80  # lines, decorators, signature and docstring included
MODEL_FILE = 300  # lines of a library module (a model with its config and step factory fits in one)


def test_every_function_in_genai_lib_fits_one_screen():
    long = []
    for path in sorted((ROOT / "genai_lib").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                if node.end_lineno - first + 1 > SCREEN:
                    long.append(f"{path.relative_to(ROOT)}:{first} {node.name} ({node.end_lineno - first + 1} lines)")
    assert not long, (
        f"Functions longer than {SCREEN} lines: {long}. Move a self-contained part into a helper "
        "named for what it does, so that a student can read the function in one screen."
    )


def test_every_model_file_fits_in_a_readers_head():
    long = [
        f"{path.relative_to(ROOT)} ({n} lines)"
        for path in sorted((ROOT / "genai_lib").rglob("*.py"))
        if (n := len(path.read_text(encoding="utf8").splitlines())) > MODEL_FILE
    ]
    assert not long, f"Files longer than {MODEL_FILE} lines: {long}. Split them by idea, one module each."


def test_the_library_and_the_book_call_backward_step_not_the_deprecated_update():
    old = re.compile(r"\bctx\.update\(")
    found = [
        f"{path.relative_to(ROOT)}:{i}"
        for folder in ("genai_lib", "book", "benchmarks", "assignments")
        for path in sorted((ROOT / folder).rglob("*"))
        if path.suffix in (".py", ".md")
        for i, line in enumerate(path.read_text(encoding="utf8").splitlines(), 1)
        if old.search(line)
    ]
    found = [f for f in found if not f.startswith("genai_lib/step_context.py")]  # the alias itself
    assert not found, f"ctx.update(...) is deprecated; call ctx.backward_step(...) instead at {found}."
