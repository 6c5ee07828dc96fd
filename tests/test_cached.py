"""trained_once: a helper model is trained on the first call and loaded from the cache after."""

import torch
from torch import nn

from genai_lib.models.cached import trained_once


def test_trained_once_trains_on_the_first_call_and_loads_after(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GENAI_DATA_DIR", str(tmp_path))
    calls = []

    def train(model):
        calls.append(1)
        with torch.no_grad():
            model.weight.fill_(0.5)

    first = trained_once(nn.Linear(2, 1), {"steps": 3}, name="toy", train=train, announce="training into {path}")
    assert calls == [1] and "training into" in capsys.readouterr().out and not first.training
    again = trained_once(nn.Linear(2, 1), {"steps": 3}, name="toy", train=train, announce="training into {path}")
    assert calls == [1], "the second call must load the cached weights, not train again"
    assert torch.equal(again.weight, first.weight) and capsys.readouterr().out == ""
    trained_once(nn.Linear(2, 1), {"steps": 4}, name="toy", train=train)
    assert calls == [1, 1], "a changed recipe must train anew"
