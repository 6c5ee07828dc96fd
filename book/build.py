"""`make book`: the book built with every chapter executed, from an execution cache that is never stale.

Jupyter Book executes each notebook through jupyter-cache (`execute_notebooks: cache`), which keys a
notebook's outputs on its code cells only: a prose edit re-executes nothing. That key alone would be
stale in three ways, which this build closes:

- the budget: one cache per budget (`_build/cache/<budget>/`), so a smoke run never serves a
  standard build;
- the library: a notebook's key here also holds a hash of genai_lib and genai_checks (and the
  installed torch), so a library change re-runs every chapter and their claims are checked again;
- checkpoints: chapters 14 and 15 load chapter 13's models (and 15 also 14's), so a notebook's key
  holds the keys of the notebooks it loads from (CHECKPOINT_UPSTREAM in book/chapters.py) and they
  re-run together.

A notebook whose key changed has its cached outputs removed before the build, and its checkpoint
folder emptied: each notebook trains into its own `_build/cache/<budget>/checkpoints/<docname>/`
(book/execute.py points GENAI_CHECKPOINT_DIR there for its kernel, and links in the files of the
notebooks it loads from), and the folders are kept between builds with the outputs.
Sphinx re-reads only changed pages, unless a cached output was removed or the budget changed.

The stale notebooks are executed before Jupyter Book runs, several at a time (book/execute.py, `--jobs`),
and their outputs stored in the cache, so Jupyter Book executes nothing itself. The build prints each
notebook's execution time, flags a chapter over the standard budget's 5 minutes, and keeps the times in
keys.json so that the next build starts the longest work first.

    python -m book.build --budget standard           # what `make book` runs
    python -m book.build --budget smoke --out /tmp/b --execute-only book/part0/01_generative_modelling
    python -m book.build --budget full --jobs 1      # one notebook at a time, on every core (or one GPU)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import jupytext
import yaml

from book import chapters as registry
from book import execute as executor

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ("genai_lib", "genai_checks")
CHAPTER_SECONDS = 300  # a chapter's promise at the standard budget on 2 CPU cores


def library_hash(root: Path = ROOT) -> str:
    """A hash of the library's files and the installed torch: what every chapter's outputs depend on."""
    digest = hashlib.sha256()
    for package in LIBRARY:
        for path in sorted((root / package).rglob("*")):
            if path.suffix in (".py", ".json") and "__pycache__" not in path.parts:
                digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    for distribution in ("torch", "torchvision"):
        try:
            digest.update(f"{distribution}=={metadata.version(distribution)}".encode())
        except metadata.PackageNotFoundError:
            pass
    return digest.hexdigest()[:16]


def code_hash(md: Path) -> str:
    """A hash of a notebook's code cells, which is what jupyter-cache matches outputs on."""
    notebook = jupytext.read(md)
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    return hashlib.sha256(json.dumps([notebook.metadata.get("kernelspec", {}).get("name"), code]).encode()).hexdigest()


def notebook_keys(budget: str, root: Path = ROOT) -> dict[str, str]:
    """docname -> the key its cached outputs must carry: budget, library, own code, upstream keys."""
    library, keys = library_hash(root), {}
    for page in registry.notebooks(root):  # in the order of _toc.yml: a chapter's upstream comes first
        upstream = [keys[name] for name in registry.CHECKPOINT_UPSTREAM.get(page.docname, ())]
        parts = [budget, library, code_hash(page.path), *upstream]
        keys[page.docname] = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]
    return keys


def write_config(path: Path, cache: Path | None, execute_only, root: Path = ROOT) -> Path:
    """_config.yml for this build: its execution cache, and which notebooks have outputs (None: all).

    Jupyter Book resolves `sphinx.local_extensions` against the folder of the configuration file,
    so those paths are made absolute for the copy.
    """
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf8"))
    execution = config.setdefault("execute", {})
    if cache is None:
        execution["execute_notebooks"] = "off"
    else:
        execution["execute_notebooks"] = "cache"
        execution["cache"] = str(cache)
    if execute_only is not None:
        execution["exclude_patterns"] = [
            page.path.relative_to(root).as_posix()
            for page in registry.notebooks(root)
            if page.docname not in execute_only
        ]
    sphinx = config.get("sphinx") or {}
    for name, folder in (sphinx.get("local_extensions") or {}).items():
        sphinx["local_extensions"][name] = str((root / folder).resolve())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf8")
    return path


def open_cache(folder: Path):
    """The jupyter-cache of one budget's folder (the book extra; not needed to list keys)."""
    from jupyter_cache import get_cache  # noqa: PLC0415

    return get_cache(str(folder / "jupyter"))


def forget(stale: dict[str, Path], folder: Path) -> None:
    """Remove these notebooks' cached outputs and empty their checkpoint folders: they run again from scratch."""
    if not stale:
        return
    cache, paths = open_cache(folder), {md.resolve() for md in stale.values()}
    for record in cache.list_cache_records():
        if Path(record.uri).resolve() in paths:
            cache.remove_cache(record.pk)
    for docname in stale:
        shutil.rmtree(folder / "checkpoints" / docname, ignore_errors=True)


def store(cache, md: Path, notebook_json: str, seconds: float) -> None:
    """Keep an executed notebook's outputs in the cache, as Jupyter Book keeps those it executes itself."""
    import nbformat  # noqa: PLC0415 (the book extra)
    from jupyter_cache.base import CacheBundleIn  # noqa: PLC0415

    bundle = CacheBundleIn(nbformat.reads(notebook_json, as_version=4), str(md), data={"execution_seconds": seconds})
    cache.cache_notebook_bundle(bundle, check_validity=False, overwrite=True)


def expected_seconds(budget: str, pages: dict[str, Path]) -> dict[str, float]:
    """docname -> the CPU seconds genai_lib/expected_times.json records at this budget: the first build's order."""
    from genai_lib import expected_time  # noqa: PLC0415 (imports torch: only when a build runs)

    table = expected_time.table()
    rows = {docname: table.get(md.stem, {}).get(budget, {}).get("cpu", {}) for docname, md in pages.items()}
    return {docname: float(row["seconds"]) for docname, row in rows.items() if "seconds" in row}


def report(outcomes: dict, budget: str) -> None:
    """One line per executed notebook, slowest first, flagging a chapter over the standard budget's 5 minutes."""
    for docname, outcome in sorted(outcomes.items(), key=lambda item: -item[1].seconds):
        flag = " OVER BUDGET" if budget == "standard" and outcome.seconds > CHAPTER_SECONDS else ""
        state = "failed" if outcome.error else f"{outcome.threads} thread{'s' * (outcome.threads > 1)}"
        print(f"book: {outcome.seconds:6.0f} s  {docname} ({state}){flag}", flush=True)
        if flag:
            for seconds, line in outcome.slowest:
                print(f"book:          {seconds:6.0f} s in the cell {line!r}", flush=True)


def cached(cache, md: Path) -> bool:
    """Whether the cache holds outputs for the notebook's code as it is now."""
    try:
        cache.match_cache_notebook(jupytext.read(md))
    except KeyError:
        return False
    return True


def build(
    budget: str,
    out: Path = ROOT,
    *,
    execute_only: tuple[str, ...] | None = None,
    mathjax: str = "",
    jobs: int = 2,
    root: Path = ROOT,
) -> int:
    """Build the book into out/_build/html; returns 0 when every notebook ran and jupyter-book succeeded."""
    folder = out / "_build" / "cache" / budget
    state_file = folder / "keys.json"
    stored = json.loads(state_file.read_text()) if state_file.exists() else {}
    keys = notebook_keys(budget, root)
    pages = {page.docname: page.path for page in registry.notebooks(root)}
    stale = [docname for docname, key in keys.items() if stored.get("keys", {}).get(docname) != key]
    forget({docname: pages[docname] for docname in stale}, folder)
    # Sphinx re-reads only pages whose source changed; a page whose outputs were removed, or a build
    # for another budget or MathJax, must be read again from the start.
    settings = {"budget": budget, "mathjax": mathjax, "execute_only": list(execute_only or [])}
    everything = bool(stale) or stored.get("settings") != settings
    env = dict(
        os.environ,
        GENAI_BUDGET=budget,
        GENAI_PROGRESS="off",
        GENAI_WIDGETS="off",
        GENAI_BOOK_MATHJAX=mathjax,
    )
    run = {d: pages[d] for d in stale if execute_only is None or d in execute_only}
    print(f"book: {budget} budget, {len(run)} of {len(keys)} notebooks to execute"
          f"{' (' + ', '.join(Path(d).name for d in run) + f'), {jobs} at a time' if run else ''}; "
          f"{'every page' if everything else 'changed pages'} read", flush=True)  # fmt: skip
    start = time.perf_counter()
    cache = open_cache(folder) if run else None
    outcomes = executor.execute(
        run,
        checkpoints=folder / "checkpoints",
        upstream=registry.CHECKPOINT_UPSTREAM,
        env=env,
        store=lambda docname, notebook, seconds: store(cache, pages[docname], notebook, seconds),
        jobs=jobs,
        timeout=int(yaml.safe_load((root / "_config.yml").read_text(encoding="utf8"))["execute"]["timeout"]),
        previous={**expected_seconds(budget, pages), **stored.get("seconds", {})},
    )
    report(outcomes, budget)
    executed = time.perf_counter() - start
    # Every stale notebook is in the cache now, or failed: Jupyter Book executes none, and renders a
    # failed one (already reported above) without outputs instead of running it a second time.
    failed = {d for d, outcome in outcomes.items() if outcome.error}
    with_outputs = (
        None if execute_only is None and not failed else set(keys if execute_only is None else execute_only) - failed
    )
    config = write_config(out / "_build" / f"_config-{budget}.yml", folder / "jupyter", with_outputs, root)
    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(root), "--config", str(config)]
    command += ["--path-output", str(out), "-W", "-n", "--keep-going", *(["--all"] if everything else [])]
    status = subprocess.run(command, cwd=out, env=env, check=False).returncode or int(bool(failed))
    # Remember the key of every notebook whose outputs are now in the cache, even after a failure.
    cache = open_cache(folder)
    done = {d: k for d, k in keys.items() if (execute_only is None or d in execute_only) and cached(cache, pages[d])}
    seconds = dict(stored.get("seconds", {}), **{d: o.seconds for d, o in outcomes.items() if not o.error})
    folder.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps({"settings": settings, "keys": done, "seconds": seconds}, indent=1))
    built = time.perf_counter() - start
    print(f"book: notebooks executed in {executed:.0f} s, built in {built:.0f} s (exit status {status})", flush=True)
    return status


def default_jobs() -> int:
    """One notebook at a time on a GPU (each `full` chapter is sized for a whole GPU); else one per core, up to 4."""
    import torch  # noqa: PLC0415 (only to ask for a GPU; the notebooks run in kernels of their own)

    return 1 if torch.cuda.is_available() else min(4, os.cpu_count() or 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", default=os.environ.get("GENAI_BUDGET") or "standard")
    parser.add_argument("--out", type=Path, default=ROOT, help="the build goes to OUT/_build (default: the repository)")
    parser.add_argument("--execute-only", nargs="*", default=None, help="docnames to execute; the others are not")
    parser.add_argument(
        "--mathjax",
        default=os.environ.get("GENAI_BOOK_MATHJAX", ""),
        help="MathJax's es5 folder, served from the build (make book OFFLINE=1)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=int(os.environ.get("GENAI_BOOK_JOBS") or default_jobs()),
        help="notebooks executed at once, the cores shared among them (default: the cores, at most 4; 1 with a GPU)",
    )
    args = parser.parse_args(argv)
    only = tuple(args.execute_only) if args.execute_only is not None else None
    return build(args.budget, args.out.resolve(), execute_only=only, mathjax=args.mathjax, jobs=args.jobs)


if __name__ == "__main__":
    sys.exit(main())
