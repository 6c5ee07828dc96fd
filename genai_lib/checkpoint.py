"""Checkpoints: atomic writes, `weights_only` loads, and the model's config stored beside its weights."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from genai_lib.config import config_dict, config_diff, get_budget
from genai_lib.device import unwrap


def checkpoint_path(name: str) -> Path:
    """Where a chapter keeps the checkpoint `name` for the active budget: $GENAI_CHECKPOINT_DIR or ./checkpoints."""
    folder = Path(os.environ.get("GENAI_CHECKPOINT_DIR") or "checkpoints").expanduser()
    return folder / f"{name}-{get_budget()}.pt"


def atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    """torch.save to a temporary file in the same folder, then rename: a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def safe_load(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """torch.load with weights_only=True (no arbitrary code), with errors that say what to do."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No checkpoint at {path}. Train the model first, or check the path.")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises several types for truncated or foreign files
        raise RuntimeError(
            f"Could not read the checkpoint {path} ({type(err).__name__}: {str(err).splitlines()[0][:200]}). "
            "It may be truncated or not a genai_lib checkpoint; delete it to start training afresh."
        ) from err


def model_record(model: nn.Module) -> dict[str, Any]:
    """A model's weights with its class name and, when it has one, its dataclass config."""
    module = unwrap(model)
    config = getattr(module, "config", None)
    return {
        "class": type(module).__name__,
        "config": config_dict(config) if config is not None else None,
        "state_dict": module.state_dict(),
    }


def check_compatible(model: nn.Module, record: dict[str, Any], *, name: str = "model") -> None:
    """Raise ValueError naming every field where a saved model differs from `model`."""
    mine = model_record(model)
    problems = []
    if record.get("class") != mine["class"]:
        problems.append(f"class: {mine['class']} here, {record.get('class')} in the checkpoint")
    if mine["config"] is not None and record.get("config") is not None:
        problems += config_diff(mine["config"], record["config"])
    if problems:
        raise ValueError(
            f"The checkpoint's {name} was made with another configuration:\n  "
            + "\n  ".join(problems).replace("in the other", "in the checkpoint")
            + "\nBuild the model with the checkpoint's configuration, or train a new one under another path."
        )
    saved, expected = set(record["state_dict"]), set(mine["state_dict"])
    if saved == expected:
        shapes = [
            f"{k}: {tuple(mine['state_dict'][k].shape)} here, {tuple(record['state_dict'][k].shape)} in the checkpoint"
            for k in sorted(saved)
            if mine["state_dict"][k].shape != record["state_dict"][k].shape
        ]
        if shapes:
            raise ValueError(
                f"The checkpoint's {name} has parameters of other shapes:\n  "
                + "\n  ".join(shapes)
                + "\nBuild the model as it was when saved, or train a new one under another path."
            )
    if saved != expected:
        raise ValueError(
            f"The checkpoint's {name} has different parameters: missing {sorted(expected - saved)[:5]}, "
            f"unexpected {sorted(saved - expected)[:5]}. Was it saved from another version of the model?"
        )


def save_model(model: nn.Module, path: str | os.PathLike, **extra: Any) -> Path:
    """Save weights, class name and config of `model` (the uncompiled module) atomically."""
    return atomic_save({"model": model_record(model), **extra}, path)


def load_model(model: nn.Module, path: str | os.PathLike, *, map_location: str | torch.device = "cpu") -> dict:
    """Load weights saved by `save_model` into `model`, refusing a checkpoint of another config."""
    ckpt = safe_load(path, map_location)
    if "model" not in ckpt:
        raise ValueError(f"{path} holds no 'model' entry; was it written by genai_lib.save_model?")
    check_compatible(model, ckpt["model"])
    unwrap(model).load_state_dict(ckpt["model"]["state_dict"])
    return ckpt
