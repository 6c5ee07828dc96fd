"""Hand in an exercise notebook: a zip of the notebook as saved (and a PDF of it when this machine can make one).

The last cell of every exercise edition calls ``export_submission("<chapter>.ipynb")``. In Colab the
notebook is read from the running session (Colab keeps it in Drive, not beside the kernel) and the
zip is downloaded; elsewhere the saved file is read, so save the notebook first. Teachers grade a
folder of these zips with ``make grade`` (book/part0/assignments.md).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

__all__ = ["export_submission"]


def _in_colab() -> bool:
    return "google.colab" in sys.modules


def _notebook_text(notebook: str) -> str:
    """The notebook as JSON text: Colab's live copy, or the file saved on disk."""
    if _in_colab():
        from google.colab import _message  # noqa: PLC0415

        return json.dumps(_message.blocking_request("get_ipynb", timeout_sec=60)["ipynb"])
    path = Path(notebook)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is not here (in {Path.cwd()}). Save the notebook, and pass its file name, e.g. "
            'export_submission("05_vae.ipynb").'
        )
    return path.read_text(encoding="utf8")


def _pdf(notebook: Path) -> Path | None:
    """A PDF of the notebook when LaTeX is installed (nbconvert's pdf exporter needs xelatex), else None."""
    if shutil.which("xelatex") is None:
        return None
    done = subprocess.run(
        [sys.executable, "-m", "nbconvert", "--to", "pdf", str(notebook)], capture_output=True, timeout=300, check=False
    )
    pdf = notebook.with_suffix(".pdf")
    return pdf if done.returncode == 0 and pdf.is_file() else None


def export_submission(notebook: str, *, student: str = "", out: str | Path = ".") -> Path:
    """Write `<notebook>-<student>.zip` with the notebook (and its PDF when possible); returns its path."""
    text = _notebook_text(notebook)
    json.loads(text)  # a notebook that is not valid JSON would fail only at grading time
    stem = Path(notebook).stem
    name = f"{stem}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', student)}" if student else f"{stem}-submission"
    target = Path(out) / f"{name}.zip"
    with tempfile.TemporaryDirectory() as tmp:
        saved = Path(tmp) / f"{stem}.ipynb"
        saved.write_text(text, encoding="utf8")
        pdf = _pdf(saved)
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.write(saved, saved.name)
            if pdf is not None:
                archive.write(pdf, pdf.name)
    print(f"Wrote {target}: hand in this file{' (with a PDF of the notebook)' if pdf else ''}.")
    if _in_colab():
        from google.colab import files  # noqa: PLC0415

        files.download(str(target))
    return target
