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
