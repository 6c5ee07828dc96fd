"""environment.yml must ask for the same packages, with the same version ranges, as pyproject.toml."""

import re

import tomllib
import yaml

CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name -> PyPI name, where they differ


def _split(requirement: str) -> tuple[str, str]:
    name, spec = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def test_environment_matches_pyproject(repo_root):
    project = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    wanted = dict(_split(r) for r in project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted.update(_split(r) for r in extra)

    env = yaml.safe_load((repo_root / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    conda = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            name, spec = _split(dep)
            if name not in ("python", "pip"):
                conda[CONDA_NAMES.get(name, name)] = spec

    missing = sorted(set(wanted) - set(conda))
    extra = sorted(set(conda) - set(wanted))
    differ = {n: (wanted[n], conda[n]) for n in set(wanted) & set(conda) if wanted[n] != conda[n]}
    assert not missing, f"In pyproject.toml but not environment.yml: {missing}"
    assert not extra, f"In environment.yml but not pyproject.toml: {extra}"
    assert not differ, f"Version ranges differ (pyproject, environment.yml): {differ}"


def _floor(spec: str) -> str:
    return re.search(r">=\s*(\d+\.\d+)", spec).group(1)


def test_one_python_floor_everywhere(repo_root):
    pyproject = tomllib.loads((repo_root / "pyproject.toml").read_text())
    floor = _floor(pyproject["project"]["requires-python"])
    env = yaml.safe_load((repo_root / "environment.yml").read_text())
    conda_python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert _floor(conda_python) == floor
    assert pyproject["tool"]["mypy"]["python_version"] == floor
    assert f"Python ≥ {floor}" in (repo_root / "README.md").read_text()
    makefile = (repo_root / "Makefile").read_text()
    assert f"sys.version_info < ({floor.replace('.', ', ')})" in makefile, "make must refuse an older Python clearly"


def test_environment_pip_section_is_a_valid_requirements_file(repo_root, tmp_path):
    # conda writes the pip: list to a requirements file and runs pip install -r on it; parse it as pip does.
    from pip._internal.network.session import PipSession
    from pip._internal.req.req_file import parse_requirements

    env = yaml.safe_load((repo_root / "environment.yml").read_text())
    (pip_lines,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    requirements = tmp_path / "condaenv.requirements.txt"
    requirements.write_text("\n".join(pip_lines) + "\n")
    parsed = list(parse_requirements(str(requirements), session=PipSession()))
    assert [r.requirement for r in parsed] == ["."] and all(r.is_editable for r in parsed)


def test_citation_file_names_this_book_and_version(repo_root):
    cff = yaml.safe_load((repo_root / "CITATION.cff").read_text())
    config = yaml.safe_load((repo_root / "_config.yml").read_text())
    import genai_lib

    assert cff["cff-version"] == "1.2.0" and cff["authors"] and cff["message"]
    assert cff["title"] == config["title"]
    assert cff["version"] == genai_lib.__version__, "bump CITATION.cff's version with the package's"
    assert cff["repository-code"] == config["repository"]["url"]
    assert set(cff["license"]) == {"MIT", "CC-BY-4.0"}  # code, and prose and figures (LICENSE)


def test_the_prose_licence_is_there_in_full(repo_root):
    text = (repo_root / "LICENSES" / "CC-BY-4.0.txt").read_text()
    assert text.startswith("Attribution 4.0 International")
    for n, title in enumerate(
        [
            "Definitions",
            "Scope",
            "License Conditions",
            "Sui Generis Database Rights",
            "Disclaimer of Warranties and Limitation of Liability",
            "Term and Termination",
            "Other Terms and Conditions",
            "Interpretation",
        ],
        1,
    ):
        assert f"Section {n} -- {title}." in text
    assert "LICENSES/CC-BY-4.0.txt" in (repo_root / "LICENSE").read_text()


def test_the_package_the_changelog_and_the_graders_pin_agree_on_one_version(repo_root):
    import genai_lib
    from assignments.student import library_requirement

    heading = next(line for line in (repo_root / "CHANGELOG.md").read_text().splitlines() if line.startswith("## "))
    assert heading.startswith(f"## {genai_lib.__version__.removesuffix('.dev0')} ")
    if genai_lib.__version__.endswith(".dev0"):
        assert f"is {genai_lib.__version__}" in heading  # the changelog says the package is in development
    # A grader, like the chapters' Colab cell, installs the release of this version, by its tag.
    assert (
        library_requirement()
        == f"genai_lib @ git+https://github.com/genai-textbook/genai-book@v{genai_lib.__version__}"
    )
    from book.reader import install_cell

    assert library_requirement().replace(" ", "") in install_cell().replace(" ", "")
