"""The exercise checks' stored answers: fresh, complete, and free of the solutions they were computed from."""

import ast
import json
from pathlib import Path

import pytest
import torch

from assignments.answers import chapters, render
from genai_checks.answers import ANSWERS_DIR, decode

ROOT = Path(__file__).resolve().parents[1]
CHECK_MODULES = sorted(
    p.stem for p in (ROOT / "genai_checks").glob("*.py") if p.stem not in ("__init__", "answers", "core", "submit")
)


def close(a, b, path: str) -> None:
    """Equal up to the last bits that differ between CPU kernels (AVX2, AVX-512, plain)."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape, path
        if a.is_floating_point():
            tol = 1e-9 if a.dtype == torch.float64 else 1e-5
            assert torch.allclose(a, b, rtol=tol, atol=tol, equal_nan=True), f"{path}: stale value"
        else:
            assert torch.equal(a, b), f"{path}: stale value"
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            close(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        assert b == pytest.approx(a, rel=1e-9, abs=1e-12, nan_ok=True), f"{path}: stale value"
    else:
        assert a == b, f"{path}: stale value"


def test_every_check_module_has_reference_solutions_and_stored_answers():
    assert sorted(chapters()) == CHECK_MODULES
    assert sorted(p.stem for p in ANSWERS_DIR.glob("*.json")) == CHECK_MODULES


@pytest.mark.parametrize("chapter", CHECK_MODULES)
def test_stored_answers_are_what_the_reference_solutions_compute(chapter):
    stored = json.loads((ANSWERS_DIR / f"{chapter}.json").read_text())
    fresh = json.loads(render(chapter))
    assert stored.keys() == fresh.keys(), (
        f"{chapter}: stored answers differ in their keys from the reference "
        "solutions; run `python -m assignments.answers`"
    )
    for key in fresh:
        close(decode(fresh[key]), decode(stored[key]), f"{chapter}/{key}")


def test_the_checks_never_import_the_reference_solutions():
    for stem in CHECK_MODULES:
        tree = ast.parse((ROOT / "genai_checks" / f"{stem}.py").read_text())
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not any(n.startswith("assignments") for n in names), f"genai_checks/{stem}.py imports {names}"


def test_the_library_holds_no_exercise_checks():
    lib = ROOT / "genai_lib"
    assert not (lib / "exercises").exists()
    for path in lib.rglob("*.py"):
        text = path.read_text()
        assert "CheckError" not in text, f"{path} raises exercise-check errors: checks belong in genai_checks"
        assert "genai_checks" not in text, f"{path} imports the exercise checks: the library must not depend on them"
