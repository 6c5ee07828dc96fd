"""No chapter or benchmark types the diffusion training step: they call `genai_lib.diffusion.diffusion_step`.

A hand-written step is a function that calls the noise schedule's `loss` itself. The chapters that show
the step on the page (chapters 11 and 12, tests/test_core_step.py) write the loss from its equations, in
plain PyTorch, and check it against `diffusion_step`; none calls `schedule.loss` inside a step of its own.
benchmarks/speed.py may keep bare loops tagged `# bare loop`: they are the yardstick `fit` and the
library's step are timed against.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import jupytext
from helpers.tiny_chapter import MYST_HEADER

ROOT = Path(__file__).resolve().parents[1]
BARE_LOOPS, BARE_MARKER = "benchmarks/speed.py", "bare loop"


def sources(root: Path) -> list[tuple[str, list[str]]]:
    """(path relative to root, code pieces) of every MyST notebook under book/ and every benchmark script."""
    found = []
    for md in sorted(root.glob("book/**/*.md")):
        if re.search(r"^\s*format_name: myst", md.read_text(encoding="utf-8"), re.M):
            cells = [c.source for c in jupytext.read(md).cells if c.cell_type == "code"]
            found.append((md.relative_to(root).as_posix(), cells))
    for py in sorted(root.glob("benchmarks/*.py")):
        found.append((py.relative_to(root).as_posix(), [py.read_text(encoding="utf-8")]))
    return found


def _without_magics(code: str) -> str:
    """IPython magics (%pip, !ls) are not Python: replace each by `pass` at the same indentation."""
    return "\n".join(re.sub(r"^(\s*)[%!].*$", r"\1pass", line) for line in code.splitlines())


def _schedule_names(trees: list[ast.Module]) -> set[str]:
    """Names bound to a NoiseSchedule(...) anywhere in the file, or annotated as one."""
    names = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and _is_schedule_call(node.value):
                names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
            elif isinstance(node, ast.arg) and node.annotation and "NoiseSchedule" in ast.unparse(node.annotation):
                names.add(node.arg)
            elif (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and "NoiseSchedule" in ast.unparse(node.annotation)
            ):
                names.add(node.target.id)
    return names


def _is_schedule_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and ast.unparse(node.func).split(".")[-1] == "NoiseSchedule"


def _is_schedule(node: ast.AST, names: set[str]) -> bool:
    """A schedule: a name bound to one, any name with 'sched' in it, `<x>.schedule`, or `NoiseSchedule(...)`."""
    if isinstance(node, ast.Name):
        return node.id in names or "sched" in node.id.lower()
    if isinstance(node, ast.Attribute):
        return node.attr == "schedule"
    return _is_schedule_call(node)


def hand_written_steps(root: Path = ROOT) -> list[str]:
    """The offending functions, each as 'path: function (line n ...)'."""
    offending = []
    for path, codes in sources(root):
        trees = []
        for i, code in enumerate(codes):
            try:
                trees.append(ast.parse(_without_magics(code)))
            except SyntaxError as e:
                offending.append(f"{path}: code piece {i} does not parse ({e.msg}, line {e.lineno})")
                trees.append(ast.Module(body=[], type_ignores=[]))
        names = _schedule_names(trees)
        for code, tree in zip(codes, trees, strict=True):
            lines = _without_magics(code).splitlines()
            for fn in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
                inner = [
                    n for n in ast.walk(fn) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n is not fn
                ]
                nested = {id(m) for f in inner for m in ast.walk(f)}  # a nested def reports its own calls
                calls = [
                    n
                    for n in ast.walk(fn)
                    if id(n) not in nested
                    and isinstance(n, ast.Call)
                    and isinstance(n.func, ast.Attribute)
                    and n.func.attr == "loss"
                    and _is_schedule(n.func.value, names)
                ]
                if not calls:
                    continue
                where = f"{path}: {fn.name} (line {fn.lineno}{' of its cell' if path.endswith('.md') else ''})"
                if path == BARE_LOOPS and BARE_MARKER in lines[fn.lineno - 1].lower():
                    continue  # the speed benchmark's yardstick, timed against fit + diffusion_step
                offending.append(where)
    return offending


def test_no_chapter_or_benchmark_types_a_diffusion_training_step():
    offending = hand_written_steps()
    assert not offending, (
        "These functions call the noise schedule's loss themselves, a hand-typed copy of the diffusion training "
        "step: use genai_lib.diffusion.diffusion_step(model, schedule, p_uncond=..., ema=...) instead.\n"
        + "\n".join(offending)
    )


FAKE_CHAPTER = (
    MYST_HEADER
    + """
```{code-cell} ipython3
%pip install nothing
process = NoiseSchedule(100)
model.loss(x)                      # another model's loss, at the top level: not a step
process.loss(net, x)               # the schedule's loss at the top level: not a step either


def step(batch, ctx):  # teaching copy: a tag that no longer excuses anything
    loss = process.loss(net, batch)
    ctx.backward_step(loss)
```

```{code-cell} ipython3
def make(model, sched):
    def inner(batch, ctx):
        return {"loss": sched.loss(model, batch)}
    return inner


def t2i_step(batch, ctx):
    return {"loss": latent_model.schedule.loss(latent_model.denoiser, batch[0], cond=batch[1])}


def fine(batch, ctx):
    return {"loss": model.loss(*batch)}
```
"""
)


def test_the_finder_catches_every_spelling_of_a_hand_written_step(tmp_path):
    (tmp_path / "book" / "part9").mkdir(parents=True)
    (tmp_path / "book" / "part9" / "99_fake.md").write_text(FAKE_CHAPTER)
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "bench.py").write_text(
        "def run(noise: NoiseSchedule):\n    def step(batch, ctx):\n        return noise.loss(net, batch)\n"
    )
    offending = hand_written_steps(tmp_path)
    names = sorted(line.split(": ")[1].split(" ")[0] for line in offending)
    assert names == ["inner", "step", "step", "t2i_step"], offending
    assert any(line.startswith("benchmarks/bench.py: step") for line in offending)


def test_a_piece_that_does_not_parse_is_reported_not_skipped(tmp_path):
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "bench.py").write_text("def broken(:\n    pass\n")
    offending = hand_written_steps(tmp_path)
    assert offending and "does not parse" in offending[0]
