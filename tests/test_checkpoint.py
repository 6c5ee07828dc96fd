import pickle

import pytest
import torch
from helpers.tiny import Tiny, TinyConfig

from genai_lib.checkpoint import atomic_save, checkpoint_path, load_model, safe_load, save_model


def test_model_round_trip_keeps_weights_and_config(tmp_path):
    model = Tiny(TinyConfig())
    save_model(model, tmp_path / "m.pt", note="hello")
    other = Tiny(TinyConfig())
    ckpt = load_model(other, tmp_path / "m.pt")
    assert ckpt["note"] == "hello" and ckpt["model"]["config"]["n_hidden"] == 16
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), other.state_dict().values(), strict=True))


def test_a_checkpoint_of_another_config_names_the_differing_fields(tmp_path):
    save_model(Tiny(TinyConfig(n_hidden=16)), tmp_path / "m.pt")
    with pytest.raises(ValueError, match=r"another configuration:\n  n_hidden: 32 here, 16 in the checkpoint"):
        load_model(Tiny(TinyConfig(n_hidden=32, dropout=0.2)), tmp_path / "m.pt")


def test_compiled_models_save_plain_names(tmp_path):
    model = Tiny(TinyConfig())
    save_model(torch.compile(model), tmp_path / "m.pt")
    assert not any(k.startswith("_orig_mod") for k in safe_load(tmp_path / "m.pt")["model"]["state_dict"])


def test_atomic_save_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "state.pt"
    atomic_save({"step": 1}, path)
    with pytest.raises((AttributeError, TypeError, pickle.PicklingError)):
        atomic_save({"step": 2, "bad": lambda: None}, path)  # lambdas cannot be pickled
    assert safe_load(path) == {"step": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["state.pt"]  # no temp file left behind


def test_truncated_and_missing_checkpoints_are_clear_errors(tmp_path):
    path = tmp_path / "m.pt"
    save_model(Tiny(TinyConfig()), path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(RuntimeError, match="may be truncated .* delete it to start training afresh"):
        safe_load(path)
    with pytest.raises(FileNotFoundError, match="No checkpoint at .*Train the model first"):
        safe_load(tmp_path / "absent.pt")


class Payload:
    pass


def test_loading_refuses_arbitrary_objects(tmp_path):
    torch.save({"x": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(RuntimeError, match="Could not read the checkpoint"):
        safe_load(tmp_path / "evil.pt")


def test_checkpoint_paths_depend_on_the_budget_and_can_be_moved(monkeypatch, tmp_path):
    monkeypatch.setenv("GENAI_BUDGET", "smoke")
    monkeypatch.delenv("GENAI_CHECKPOINT_DIR", raising=False)
    assert str(checkpoint_path("00_linear")) == "checkpoints/00_linear-smoke.pt"
    monkeypatch.setenv("GENAI_CHECKPOINT_DIR", str(tmp_path))
    monkeypatch.setenv("GENAI_BUDGET", "full")
    assert checkpoint_path("00_linear") == tmp_path / "00_linear-full.pt"


def test_a_model_without_config_is_refused_with_the_differing_shapes(tmp_path):
    save_model(torch.nn.Linear(64, 10), tmp_path / "m.pt")
    with pytest.raises(ValueError, match=r"other shapes:\n  bias: \(20,\) here, \(10,\) in the checkpoint"):
        load_model(torch.nn.Linear(64, 20), tmp_path / "m.pt")
