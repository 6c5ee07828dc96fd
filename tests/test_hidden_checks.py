"""Every chapter with code exercises has a hidden check, and each one catches a wrong answer the public checks pass.

A hidden check is a code cell tagged ``hidden-check`` (and ``remove-cell``, so the book does not show
it either): `make student` moves it into the grader bundle and out of the student notebook. It earns
its place only if it tests something the public checks do not; assignments/wrong_answers/ holds, for
each, a wrong answer that passes every public check of its exercise and fails the hidden one. That
the chapter's own solution passes the hidden check is proven where the chapter runs (nbval).
"""

from __future__ import annotations

import ast
import importlib
import re

import pytest

import genai_checks
from assignments.chapters import Exercise, chapter_sources, exercises_of

CHAPTERS = chapter_sources()


def module_name(stem: str) -> str:
    """The name of a chapter's checks module: 05_vae -> ch05, b_scaling -> appendix_b."""
    number = re.match(r"^(\d\d[a-z]?)_", stem)
    return f"ch{number[1]}" if number else f"appendix_{stem.split('_')[0]}"


def with_code(chapter) -> list[Exercise]:
    return [e for e in exercises_of(chapter) if e.checked and e.code_solution]


def run(call: ast.Call, env: dict) -> None:
    """One check call of an exercise, with the names it reads taken from `env`."""
    expression = compile(ast.Expression(call), "<check>", "eval")
    eval(expression, {name: getattr(genai_checks, name) for name in genai_checks.__all__}, dict(env))  # noqa: S307


@pytest.mark.parametrize("chapter", [c for c in CHAPTERS if with_code(c)], ids=lambda p: p.stem)
def test_a_wrong_answer_passes_the_public_checks_and_fails_the_hidden_one(chapter, capsys):
    exercises = with_code(chapter)
    hidden = [e for e in exercises if e.hidden_checks]
    assert hidden, (
        f"{chapter.name} has code exercises but no hidden check: add a cell tagged [hidden-check, remove-cell] "
        "after an exercise's check cell, and its wrong answer to assignments/wrong_answers/."
    )
    try:
        wrong = importlib.import_module(f"assignments.wrong_answers.{module_name(chapter.stem)}").WRONG
    except ModuleNotFoundError:
        pytest.fail(
            f"assignments/wrong_answers/{module_name(chapter.stem)}.py is missing: {chapter.name} has hidden checks"
        )
    for exercise in hidden:
        assert exercise.name in wrong, f"no wrong answer for {exercise.name} of {chapter.name}"
        env = wrong[exercise.name]
        for call in exercise.checks:  # every public check passes
            run(call, env)
        failures = []
        for call in exercise.hidden_checks:
            try:
                run(call, env)
            except genai_checks.CheckError as error:
                failures.append(str(error))
        assert failures, f"{chapter.name}, {exercise.name}: the wrong answer passes the hidden checks too"
    capsys.readouterr()
