"""The text-to-image settings that chapter 13's ablation compares: each shapes the checkpoint, and EMA is used."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from genai_lib import text_to_image as t2i

OTHER = {"unet_attention_levels": lambda v: 3 - v, "pooled_caption": lambda v: not v, "ema_decay": lambda v: 0.5 - v}
OTHER["prediction"] = lambda v: "epsilon" if v == "v" else "v"


@pytest.mark.parametrize("field", sorted(OTHER))
def test_each_diffusion_setting_names_its_own_checkpoint(field):
    cfg = t2i.preset("smoke")
    changed = dataclasses.replace(cfg, **{field: OTHER[field](getattr(cfg, field))})
    assert cfg.key(*t2i.DIFFUSION_FIELDS) != changed.key(*t2i.DIFFUSION_FIELDS)
    assert cfg.key(*t2i.AR_FIELDS) == changed.key(*t2i.AR_FIELDS)  # the AR model's checkpoint is not touched


def test_the_settings_reach_the_model(tmp_path, monkeypatch):
    monkeypatch.setenv("GENAI_CHECKPOINT_DIR", str(tmp_path))
    cfg = t2i.preset("smoke", n_train=64, unet_attention_levels=2, pooled_caption=True, prediction="v")
    data = t2i.load_splits(cfg)["train"]
    model = t2i.build_diffusion(cfg, data, None)
    unet = model.denoiser.unet
    assert unet.config.attention_levels == 2 and unet.context_emb is not None
    assert model.schedule.prediction == "v"


def test_with_ema_the_trained_model_samples_with_the_average(tmp_path, monkeypatch):
    monkeypatch.setenv("GENAI_CHECKPOINT_DIR", str(tmp_path))
    cfg = t2i.preset("smoke", n_train=64, diffusion_steps=4, ema_decay=0.5)
    data = t2i.load_splits(cfg)["train"]
    model, _ = t2i.train_diffusion(cfg, data, None, progress=False)
    (ckpt,) = tmp_path.glob("t2i-pixel-diffusion-*.pt")
    state = torch.load(ckpt, weights_only=False)
    saved = {name: state["models"][name]["state_dict"] for name in ("model", "ema")}
    ema = {k.removeprefix("module."): v for k, v in saved["ema"].items() if k.startswith("module.")}
    raw = {k.removeprefix("denoiser."): v for k, v in saved["model"].items() if k.startswith("denoiser.")}
    mine = model.denoiser.state_dict()
    assert all(torch.equal(mine[k], ema[k]) for k in mine)
    assert any(not torch.equal(mine[k], raw[k]) for k in mine)  # the average is not the last weights
