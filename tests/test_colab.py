"""A chapter's Colab install cell keeps Colab's torch and ipywidgets 7.7.1, and a chapter then runs.

Colab comes with torch, torchvision and ipywidgets 7.7.1 preinstalled, and its widget frontend is
made for ipywidgets 7. This test builds that situation cheaply: a fresh virtual environment that
sees this environment's packages as preinstalled (a .pth file, as Colab's python sees its
dist-packages: no second torch download), except genai_lib and ipywidgets, for which it installs
ipywidgets 7.7.1 from PyPI. Then it runs the chapters' install cell, exactly as book/reader.py
writes it, in a real kernel that believes it is in Colab (a stand-in `google.colab` module), with
the repository URL pointed at a local git copy of this working tree tagged like the release. The
cell must leave torch and ipywidgets as they were, install this genai_lib, and print what it has.
Last, chapter 02 (whose sliders go through `viz.interact`) runs there at the smoke budget under
nbval, with live widgets, on ipywidgets 7.7.1.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sysconfig
import venv
from pathlib import Path

import nbformat
import pytest

from book import reader

ROOT = Path(__file__).resolve().parents[1]
COLAB_IPYWIDGETS = "7.7.1"
# What the simulated Colab does not have preinstalled: the library under test, and ipywidgets 8.
NOT_PREINSTALLED = re.compile(
    r"^(_*editable_*\.?genai_lib|genai_lib|genai_checks|ipywidgets|widgetsnbextension|jupyterlab_widgets)", re.I
)
SMOKE_CHAPTER = ROOT / "book" / "part1" / "02_gan_game.ipynb"

pytestmark = pytest.mark.slow


def run(command: list, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, **kwargs)
    assert result.returncode == 0, (
        f"{' '.join(map(str, command))} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )
    return result


def release_copy(work: Path) -> Path:
    """A git repository of the library's files, tagged v<version> as the publishing workflow tags it."""
    repo = work / "genai-book"
    repo.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, repo / name)
    for package in ("genai_lib", "genai_checks"):
        shutil.copytree(ROOT / package, repo / package, ignore=shutil.ignore_patterns("__pycache__"))
    git = ["git", "-C", str(repo), "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    run([*git, "init", "-q"])
    run([*git, "add", "."])
    run([*git, "commit", "-q", "-m", "release"])
    run([*git, "tag", f"v{reader.library_version(ROOT)}"])
    return repo


@pytest.fixture(scope="module")
def colab(tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("colab")
    preinstalled = work / "dist-packages"
    preinstalled.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not NOT_PREINSTALLED.match(entry.name):
            (preinstalled / entry.name).symlink_to(entry)
    venv.create(work / "venv", with_pip=True)
    python = work / "venv" / "bin" / "python"
    site_packages = Path(
        run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    )
    (site_packages / "colab_preinstalled.pth").write_text(f"import site; site.addsitedir({str(preinstalled)!r})\n")
    # Colab's own `google.colab`: importing it is how a notebook knows it is in Colab.
    stand_in = work / "colab_module"
    (stand_in / "google" / "colab").mkdir(parents=True)
    (stand_in / "google" / "colab" / "__init__.py").write_text('"""A stand-in for Colab\'s module."""\n')
    run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", f"ipywidgets=={COLAB_IPYWIDGETS}"])
    return {"work": work, "python": python, "preinstalled": preinstalled, "colab_module": stand_in}


def versions(python: Path) -> dict[str, str]:
    code = (
        "import json, torch, torchvision, ipywidgets; "
        "print(json.dumps({'torch': torch.__version__, 'torch_file': torch.__file__, "
        "'torchvision': torchvision.__version__, 'ipywidgets': ipywidgets.__version__}))"
    )
    return json.loads(run([python, "-c", code]).stdout)


def test_the_install_cell_keeps_colabs_torch_and_ipywidgets_and_a_chapter_runs(colab):
    python, work = colab["python"], colab["work"]
    before = versions(python)
    assert before["ipywidgets"] == COLAB_IPYWIDGETS and str(colab["preinstalled"]) in before["torch_file"]

    # The install cell as every chapter has it, with the repository replaced by the local release copy
    # (file://localhost/...: the pip of Python 3.11.7, 23.2, rejects a git+file:/// URL without a host).
    repo = release_copy(work)
    cell = reader.install_cell(ROOT).replace(f"git+{reader.repository_url(ROOT)}", f"git+file://localhost{repo}")
    assert cell != reader.install_cell(ROOT)
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import google.colab"), nbformat.v4.new_code_cell(cell)],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    path = work / "install.ipynb"
    nbformat.write(notebook, path)
    env = dict(os.environ, PYTHONPATH=str(colab["colab_module"]), PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("GENAI_DEVICE", None)  # the pseudo device is for the repository's own nbval run
    run(
        [python, "-m", "nbconvert", "--to", "notebook", "--execute", "--inplace", str(path),
         "--ExecutePreprocessor.kernel_name=python3", "--ExecutePreprocessor.timeout=600"],
        env=env, cwd=work,
    )  # fmt: skip
    printed = "".join(
        output.get("text", "") for c in nbformat.read(path, as_version=4).cells for output in c.get("outputs", [])
    )
    version = reader.library_version(ROOT)
    assert f"genai_lib {version}" in printed and f"ipywidgets {COLAB_IPYWIDGETS}" in printed, printed
    assert f"torch {before['torch'].split('+')[0]}" in printed, printed  # metadata has no +cu130

    after = versions(python)
    assert after == before, f"the install cell changed Colab's packages: {before} -> {after}"
    where = run([python, "-c", "import genai_lib; print(genai_lib.__version__, genai_lib.__file__)"], cwd=work).stdout
    assert where.startswith(version) and str(work / "venv") in where, where

    # A smoke chapter there, executed with its sliders live (GENAI_WIDGETS unset) on ipywidgets 7.7.1.
    chapter_env = {k: v for k, v in env.items() if k not in ("GENAI_WIDGETS", "PYTHONPATH", "GENAI_DEVICE")}
    chapter_env |= {"GENAI_BUDGET": "smoke", "GENAI_CHECKPOINT_DIR": str(work / "checkpoints")}
    copy = work / SMOKE_CHAPTER.name
    shutil.copy2(SMOKE_CHAPTER, copy)
    run(
        [python, "-m", "nbconvert", "--to", "notebook", "--execute", "--inplace", str(copy),
         "--ExecutePreprocessor.kernel_name=python3", "--ExecutePreprocessor.timeout=600"],
        env=chapter_env, cwd=work,
    )  # fmt: skip
    views = [
        output["data"]["application/vnd.jupyter.widget-view+json"]
        for c in nbformat.read(copy, as_version=4).cells
        for output in c.get("outputs", [])
        if "application/vnd.jupyter.widget-view+json" in output.get("data", {})
    ]
    # ipywidgets 7 speaks version 2 of the widget protocol to Colab's frontend (8 speaks 2 as well,
    # but with model_id fields Colab's 7.x frontend reads the same way); one view per viz.interact.
    assert views and all(view["version_major"] == 2 for view in views), views
