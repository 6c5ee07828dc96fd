"""gl.claim: a false claim about a chapter's own run fails the standard build and only warns at smoke."""

import os
import subprocess
import sys
import textwrap

import nbformat
import pytest

import genai_lib as gl
from genai_lib.claims import ClaimError, ClaimWarning


def test_a_true_claim_prints_its_evidence(monkeypatch, capsys):
    monkeypatch.setenv("GENAI_BUDGET", "standard")
    assert gl.claim("the loss fell", 0.3 < 1.2, first=1.2, last=0.3)
    assert "the loss fell (first = 1.2, last = 0.3)" in capsys.readouterr().out


@pytest.mark.parametrize("budget", ["standard", "full"])
def test_a_false_claim_raises_at_standard_and_full(monkeypatch, budget):
    monkeypatch.setenv("GENAI_BUDGET", budget)
    with pytest.raises(ClaimError, match="The text says: 'accuracy is near chance'.*accuracy = 0.91"):
        gl.claim("accuracy is near chance", 0.91 < 0.35, accuracy=0.91)


def test_a_false_claim_only_warns_at_smoke(monkeypatch, capsys):
    monkeypatch.setenv("GENAI_BUDGET", "smoke")
    with pytest.warns(ClaimWarning, match="accuracy is near chance"):
        assert gl.claim("accuracy is near chance", False, accuracy=0.91) is False
    assert "not expected to hold at the smoke budget" in capsys.readouterr().out


def test_genai_seed_overrides_the_chapter_seed(monkeypatch, capsys):
    monkeypatch.setenv("GENAI_SEED", "3")
    assert gl.setup(0).seed == 3 and "seed: 3" in capsys.readouterr().out
    monkeypatch.setenv("GENAI_SEED", "three")
    with pytest.raises(ValueError, match="GENAI_SEED='three' is not an integer"):
        gl.setup(0)


@pytest.mark.slow
@pytest.mark.parametrize("budget, fails", [("standard", True), ("smoke", False)])
def test_a_notebook_with_a_false_claim_fails_to_execute_at_standard_only(tmp_path, budget, fails):
    # What `make book` does to a chapter (execute it; a cell error fails the build), on a two-cell notebook.
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import genai_lib as gl\nacc = 0.91"),
        nbformat.v4.new_code_cell('gl.claim("accuracy is near chance (25%)", acc < 0.35, acc=acc)'),
    ]
    path = tmp_path / "claims.ipynb"
    nbformat.write(nb, path)
    run = subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--stdout", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "GENAI_BUDGET": budget},
        timeout=300,
    )
    assert (run.returncode != 0) == fails, textwrap.shorten(run.stderr, 2000)
    if fails:
        assert "ClaimError" in run.stderr


def test_record_keeps_numbers_and_claims_only_where_genai_record_names_a_file(tmp_path, monkeypatch):
    import json

    import torch

    monkeypatch.delenv("GENAI_RECORD", raising=False)
    assert gl.record("pitch_correct", 0.5) == 0.5  # unset: returns the value and writes nothing
    path = tmp_path / "record.jsonl"
    monkeypatch.setenv("GENAI_RECORD", str(path))
    monkeypatch.setenv("GENAI_BUDGET", "standard")
    assert gl.record("pitch_correct", torch.tensor(0.25), n=40, interval=(0.1, 0.4)) == 0.25
    gl.claim("the loss fell", True, last=torch.tensor(0.5))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines == [
        {"record": "pitch_correct", "value": 0.25, "n": 40, "interval": [0.1, 0.4]},
        {"claim": "the loss fell", "holds": True, "evidence": {"last": 0.5}},
    ]
    with pytest.raises(ValueError, match="must be a finite number"):
        gl.record("loss", float("nan"))
