"""Train a helper model once per machine and keep it in the data cache, keyed by a hash of its recipe."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from genai_lib.checkpoint import load_model, save_model
from genai_lib.data.download import cache_dir


def trained_once(
    model: nn.Module,
    recipe: Mapping[str, Any],
    *,
    name: str,
    train: Callable[[Any], Any],
    map_location: str | torch.device = "cpu",
    announce: str | None = None,
) -> Any:
    """`model` with the weights that `train(model)` gives it, trained the first time and loaded from the cache after.

    `recipe` names everything that changes the weights (config, steps, data); its hash is the file name, so a
    changed recipe trains anew instead of loading weights that no longer match. `announce`, formatted with
    `{path}`, is printed before training.
    """
    key = json.dumps(dict(recipe), sort_keys=True)
    path = Path(cache_dir()) / "classifiers" / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:12]}.pt"
    if path.exists():
        load_model(model, path, map_location=map_location)
        return model.eval()
    if announce:
        print(announce.format(path=path))
    train(model)
    save_model(model, path, key=key)
    return model.eval()
