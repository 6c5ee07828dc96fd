import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import vae_mnist  # noqa: E402


def test_vae_benchmark_writes_its_result(tmp_path, monkeypatch):
    monkeypatch.setenv("GENAI_OFFLINE", "1")
    monkeypatch.setenv("GENAI_DEVICE", "pseudo")  # fails where a GPU run would (genai_lib.pseudo_device)
    result = vae_mnist.run("smoke", tmp_path)
    saved = json.loads(next(tmp_path.glob("vae_mnist-smoke-*.json")).read_text())
    assert saved == result
    for key in ("budget", "device", "date", "wall_seconds", "test_neg_elbo_nats", "test_neg_iwae_k10_nats"):
        assert key in saved
    # the importance-weighted bound is tighter than the ELBO, and both are plausible for 784 binary pixels
    assert saved["test_neg_iwae_k10_nats"] < saved["test_neg_elbo_nats"] < 784 * 0.6931 + 50


import math  # noqa: E402

import gpt_char  # noqa: E402
import torch  # noqa: E402
from conftest import SHARED_DATA  # noqa: E402

from genai_lib.metrics import wilson_interval  # noqa: E402
from genai_lib.models.gpt import GPT, GPTConfig  # noqa: E402


def test_gpt_char_benchmark_trains_ours_and_the_reference_side_by_side(tmp_path, monkeypatch):
    monkeypatch.setenv("GENAI_OFFLINE", "1")
    monkeypatch.setenv("GENAI_DEVICE", "pseudo")  # fails where a GPU run would (genai_lib.pseudo_device)
    corpus = "pydoc"  # always present; tinyshakespeare when the shared data folder has it
    if (SHARED_DATA / "tinyshakespeare.txt").exists():
        monkeypatch.setenv("GENAI_DATA_MIRRORS", str(SHARED_DATA))
        corpus = "tinyshakespeare"
    result = gpt_char.run("nanogpt-cpu", "smoke", tmp_path, chunk=10, corpus=corpus)
    saved = json.loads(next(tmp_path.glob("gpt_char-nanogpt-cpu-smoke-*.json")).read_text())
    assert saved == result
    for key in (
        "budget",
        "device",
        "date",
        "config",
        "wall_seconds",
        "train_seconds",
        "tokens_per_second",
        "mfu",
        "val_loss_2_batches",
        "reference",
        "time_ratio_ours_over_reference",
        "time_ratio_median_of_chunks",
        "load_average_1min",
    ):
        assert key in saved
    assert saved["config"]["max_iters"] == 20 and len(saved["chunk_seconds"]["reference"]) == 2
    # Same initial weights, same batches, same schedule: the two trainers follow one trajectory.
    assert saved["train_loss_per_chunk"] == pytest.approx(saved["reference"]["train_loss_per_chunk"], abs=1e-3)
    assert saved["val_loss_4_batches"] == pytest.approx(saved["reference"]["val_loss_4_batches"], abs=1e-3)
    assert 0 < saved["val_loss_4_batches"] < math.log(saved["vocab_size"])  # it learned something


def test_gpt_char_configs_schedule_and_reference_model():
    c = gpt_char.config_for("nanogpt-cpu", "standard")
    assert (c.n_layer, c.n_head, c.n_embd, c.block_size, c.batch_size, c.max_iters) == (4, 4, 128, 64, 12, 2000)
    assert gpt_char.config_for("shakespeare-char", "full").max_iters == 5000
    with pytest.raises(ValueError, match="Unknown config 'gpt5'"):
        gpt_char.config_for("gpt5", "smoke")
    # warm-up to lr, half a cosine down to min_lr at lr_decay_iters, flat after
    assert gpt_char.lr_at(0, c) == pytest.approx(c.lr / (c.warmup_iters + 1))
    assert gpt_char.lr_at(c.warmup_iters, c) == pytest.approx(c.lr)
    assert gpt_char.lr_at((c.warmup_iters + c.lr_decay_iters) // 2, c) == pytest.approx((c.lr + c.min_lr) / 2)
    assert gpt_char.lr_at(c.lr_decay_iters, c) == gpt_char.lr_at(10 * c.lr_decay_iters, c) == c.min_lr
    # the reference, given our weights, is the same function
    c = gpt_char.config_for("nanogpt-cpu", "smoke")
    torch.manual_seed(0)
    ours = GPT(
        GPTConfig(
            vocab_size=20, block_size=c.block_size, n_layer=c.n_layer, n_head=c.n_head, n_embd=c.n_embd, bias=c.bias
        )
    )
    ref = gpt_char.RefGPT(c, 20).copy_from(ours)
    x, y = torch.randint(20, (3, c.block_size)), torch.randint(20, (3, c.block_size))
    (a, loss_a), (b, loss_b) = ours(x, y), ref(x, y)
    assert torch.allclose(a, b, atol=1e-5) and torch.allclose(loss_a, loss_b, atol=1e-6)


import gan_mnist  # noqa: E402


def test_gan_mnist_benchmark_writes_its_result(tmp_path, monkeypatch):
    monkeypatch.setenv("GENAI_OFFLINE", "1")
    monkeypatch.setenv("GENAI_DEVICE", "pseudo")  # fails where a GPU run would (genai_lib.pseudo_device)
    result = gan_mnist.run("smoke", tmp_path)
    saved = json.loads(next(tmp_path.glob("gan_mnist-smoke-*.json")).read_text())
    assert saved == result
    for key in (
        "budget",
        "device",
        "date",
        "wall_seconds",
        "frechet_distance",
        "fd_floor_test_vs_train",
        "fd_ceiling_uniform_noise",
        "fd_over_floor",
        "precision",
        "recall",
        "conditional_accuracy",
    ):
        assert key in saved
    # the floor (real vs real) is below the ceiling (noise vs real), and every share lies in [0, 1]
    assert 0 < saved["fd_floor_test_vs_train"] < saved["fd_ceiling_uniform_noise"]
    assert saved["fd_over_floor"] == pytest.approx(
        saved["frechet_distance"] / saved["fd_floor_test_vs_train"], rel=1e-2
    )
    for key in ("precision", "recall", "conditional_accuracy", "floor_precision", "floor_recall"):
        assert 0 <= saved[key] <= 1


import diffusion_mnist  # noqa: E402


def test_diffusion_mnist_benchmark_writes_its_result(tmp_path, monkeypatch):
    monkeypatch.setenv("GENAI_OFFLINE", "1")
    monkeypatch.setenv("GENAI_DEVICE", "pseudo")  # fails where a GPU run would (genai_lib.pseudo_device)
    result = diffusion_mnist.run("smoke", tmp_path, guidance=2.0)
    saved = json.loads(next(tmp_path.glob("diffusion_mnist-smoke-*-seed0.json")).read_text())
    assert saved == result
    for key in (
        "budget",
        "device",
        "date",
        "data",
        "config",
        "wall_seconds",
        "train_seconds",
        "guidance_scale",
        "conditional_accuracy",
        "frechet_distance",
        "fd_floor_test_vs_train",
        "fd_ceiling_uniform_noise",
        "fd_over_floor",
        "precision",
        "recall",
        "speed",
    ):
        assert key in saved
    assert 0 < saved["fd_floor_test_vs_train"] < saved["fd_ceiling_uniform_noise"]
    assert saved["fd_over_floor"] == pytest.approx(
        saved["frechet_distance"] / saved["fd_floor_test_vs_train"], rel=1e-2
    )
    for key in ("precision", "recall", "conditional_accuracy", "floor_precision", "floor_recall"):
        assert 0 <= saved[key] <= 1
    # DDPM over all T steps and DDIM at each configured step count, timed on the same model and labels
    T, steps = saved["config"]["T"], saved["config"]["speed_steps"]
    assert set(saved["speed"]) == {f"ddpm_{T}"} | {f"ddim_{s}" for s in steps}
    assert saved["speed"][f"ddpm_{T}"]["speedup_over_ddpm"] == 1.0
    for row in saved["speed"].values():
        assert row["samples_per_second"] > 0 and "conditional_accuracy" not in row  # accuracy needs 500 samples


import text_to_image  # noqa: E402


def test_text_to_image_benchmark_judges_both_models_on_the_same_prompts(tmp_path, monkeypatch):
    monkeypatch.setenv("GENAI_OFFLINE", "1")
    monkeypatch.setenv("GENAI_DEVICE", "pseudo")  # fails where a GPU run would (genai_lib.pseudo_device)
    monkeypatch.setenv("GENAI_CHECKPOINT_DIR", str(tmp_path / "ckpt"))
    result = text_to_image.run("smoke", tmp_path, guidance_latent=3.0, guidance_ar=1.5, temperature_ar=0.7)
    saved = json.loads(next(tmp_path.glob("text_to_image-smoke-*.json")).read_text())
    assert saved == result
    for key in (
        "budget",
        "device",
        "date",
        "config",
        "wall_seconds",
        "train_seconds",
        "guidance_scale",
        "judge_on_real_images",
        "judge_on_vq_reconstructions",
        "temperature_autoregressive",
        "fd_floor_real_vs_real",
        "models",
        "better_model",
        "targets_met",
    ):
        assert key in saved
    assert set(saved["models"]) == {"latent_diffusion", "autoregressive"}
    for row in saved["models"].values():
        assert row["train_seconds_per_step"] > 0
        for split in ("seen", "heldout"):
            r = row[split]
            assert {"shape", "colour", "size", "position", "exact", "frechet_distance", "samples_per_second"} <= set(r)
            assert 0 <= r["exact"] <= min(r[a] for a in ("shape", "colour", "size", "position")) <= 1
            lo, hi = r["exact_wilson_95"]
            assert 0 <= lo <= r["exact"] <= hi <= 1 and r["samples_per_second"] > 0
    assert [round(b, 4) for b in wilson_interval(20, 20)] == [
        round(20 / (20 + 1.96**2), 4),
        1.0,
    ]  # p = 1: [n/(n+z^2), 1], not a point


import ddim_first_step  # noqa: E402


def test_the_ddim_first_step_study_runs_and_measures_what_it_says(tmp_path, monkeypatch):
    monkeypatch.setenv("GENAI_OFFLINE", "1")
    monkeypatch.setenv("GENAI_DEVICE", "pseudo")
    result = ddim_first_step.study("smoke", tmp_path, n=10, n_ddpm=10)
    assert json.loads(next(tmp_path.glob("ddim_first_step-smoke-*.json")).read_text()) == result
    assert set(result["samplers"]) == {f"ddim_{s}_{c}" for s in (10, 25, 50) for c in ("clip", "noclip")} | {
        "ddpm_50_clip",
        "ddpm_50_noclip",
        "ddim_25_clip_eta0.5",
        "ddim_25_clip_eta1",
    }
    first = result["first_step"]
    assert first["t"] == 49 and first["error_gain_1_over_sqrt_alpha_bar"] == round(first["alpha_bar"] ** -0.5, 1)
    assert 0 <= first["share_of_pixels_clipped"] <= 1 and 0 <= result["ddim_10_and_50_end_on_the_same_class"] <= 1


import mnist_prediction  # noqa: E402
import t2i_ablation  # noqa: E402


def test_the_prediction_study_trains_both_networks_and_measures_both_samplers(tmp_path, monkeypatch):
    monkeypatch.setenv("GENAI_OFFLINE", "1")
    monkeypatch.setenv("GENAI_DEVICE", "pseudo")
    result = mnist_prediction.study("smoke", tmp_path, seed=1, n=10, guidance=[2.0])
    assert json.loads(next(tmp_path.glob("mnist_prediction-smoke-*-seed1.json")).read_text()) == result
    assert set(result["by_prediction"]) == {"epsilon", "v"}
    for rows in result["by_prediction"].values():
        assert {"w2_ddim25_eta0", "w2_ddim25_eta1"} <= set(rows)
        assert all(0 <= rows[k]["accuracy"] <= 1 for k in ("w2_ddim25_eta0", "w2_ddim25_eta1"))


@pytest.mark.parametrize("model", ["diffusion", "ar"])
def test_the_t2i_ablation_judges_one_variant_at_each_guidance_scale(tmp_path, monkeypatch, model):
    monkeypatch.setenv("GENAI_OFFLINE", "1")
    monkeypatch.setenv("GENAI_DEVICE", "pseudo")
    monkeypatch.setenv("GENAI_CHECKPOINT_DIR", str(tmp_path / "ckpt"))
    overrides = {"pooled_caption": True} if model == "diffusion" else {}
    result = t2i_ablation.run("smoke", "variant", overrides, 0, 8, [1.0, 3.0], 3, tmp_path, model)
    assert json.loads((tmp_path / "t2i_ablation" / "variant-seed0.json").read_text()) == result
    assert result["config"]["pooled_caption"] == (model == "diffusion") and result["n_prompts_per_split"] == 8
    for row in result["by_guidance_scale"].values():
        assert set(row) == {"seen", "heldout"}
        assert 0 <= row["seen"]["exact"] <= row["seen"]["colour"] <= 1


def test_the_kv_cache_benchmark_times_both_paths_and_checks_their_tokens(tmp_path, monkeypatch):
    import kv_cache

    monkeypatch.setenv("GENAI_DEVICE", "pseudo")  # fails where a GPU run would (genai_lib.pseudo_device)
    result = kv_cache.run("smoke", tmp_path)
    assert json.loads(next(tmp_path.glob("kv_cache-smoke-*.json")).read_text()) == result
    for part in ("chapter10_gpt", "chapter14_ar_text_to_image"):
        row = result[part]
        assert row["same_tokens"] is True
        assert row["seconds_cached"] > 0 and row["seconds_uncached"] > 0
        assert row["speedup"] == pytest.approx(row["seconds_uncached"] / row["seconds_cached"], rel=0.05)


def test_chapter_times_runs_notebooks_under_nbval_and_records_their_time(tmp_path):
    import chapter_times

    result = chapter_times.run(["c_glossary"], "smoke", 0, tmp_path, "test")
    saved = json.loads(next(tmp_path.glob("claims-smoke-*_test.json")).read_text())
    assert saved == result
    (row,) = saved["runs"]
    assert row["notebook"] == "c_glossary" and row["all_cells_passed"] is True and row["wall_seconds"] > 0
    assert "passed" in row["cells"] and "alone_seconds" not in row  # the glossary loads no earlier model
    assert saved["over_budget"] == []  # a glossary at smoke is well within five minutes


def test_the_dcgan_ablation_measures_g_and_its_ema_in_both_batchnorm_modes(tmp_path, monkeypatch):
    import dcgan_ablation

    monkeypatch.setenv("GENAI_OFFLINE", "1")
    result = dcgan_ablation.run("smoke", "wider", {"width": 24}, 40, 0, tmp_path, psis=(1.0, 0.5))
    saved = json.loads((tmp_path / "dcgan_ablation" / "wider-smoke-seed0.json").read_text())
    assert saved == result and saved["config"]["width"] == 24
    rows = [saved[r] for r in ("G_eval", "G_train_mode", "ema_eval", "ema_train_mode", "real_test_images")]
    rows += [r for by in saved["by_psi"].values() for r in by.values()]
    assert set(saved["by_psi"]) == {"1.0", "0.5"} and saved["by_psi"]["1.0"]["G_eval"] == saved["G_eval"]
    for row in rows:
        assert 0.0 <= row["share_confident"] <= 1.0 and row["min_class"] >= 0


def test_the_speed_benchmark_times_fit_against_a_bare_loop_for_every_family(tmp_path, monkeypatch):
    import speed

    monkeypatch.setenv("GENAI_DEVICE", "pseudo")  # fails where a GPU run would (genai_lib.pseudo_device)
    result = speed.run("smoke", tmp_path)
    assert json.loads(next(tmp_path.glob("speed-smoke-*.json")).read_text()) == result
    assert set(result["families"]) == {"gpt", "diffusion_unet", "dcgan", "vae"}
    for row in result["families"].values():
        assert row["seconds_per_step_fit"] > 0 and row["seconds_per_step_bare"] > 0
        assert len(row["ratios"]) == speed.CONFIGS["smoke"]["chunks"]
        assert row["fit_overhead_percent"] == pytest.approx(100 * (row["median_ratio_fit_over_bare"] - 1), abs=0.02)
        low, high = row["fit_overhead_percent_95"]
        assert low <= row["fit_overhead_percent"] <= high


def test_the_interval_for_a_median_is_the_sign_test_s_order_statistics():
    import speed

    xs = [float(i) for i in range(12, 0, -1)]
    assert speed.median_interval(xs) == (3.0, 10.0)  # ranks 3 and 10 of 12: 96% by the binomial(12, 1/2)
    assert speed.median_interval([5.0]) == (5.0, 5.0)


import stylegan  # noqa: E402


def test_the_stylegan_benchmark_gives_the_dcgan_the_same_time_and_measures_the_truncation_sweep(tmp_path, monkeypatch):
    monkeypatch.setenv("GENAI_DEVICE", "pseudo")  # fails where a GPU run would (genai_lib.pseudo_device)
    result = stylegan.run("smoke", 1, tmp_path)
    assert json.loads(next(tmp_path.glob("stylegan-smoke-*-seed1.json")).read_text()) == result
    style, dcgan = result["stylegan"], result["dcgan"]
    assert dcgan["steps"] >= 20 and dcgan["train_seconds"] > 0 and style["train_seconds"] > 0
    assert style == {"steps": 20, "train_seconds": style["train_seconds"], **result["truncation"]["1.0"]}
    assert list(result["truncation"]) == ["1.0", "0.7", "0.5"]
    for row in (style, dcgan, *result["truncation"].values()):
        assert row["fd_over_floor"] > 0 and 0 <= row["precision"] <= 1 and 0 <= row["recall"] <= 1
    assert result["seed"] == 1 and len(result["table"]) == 1 + 4 + 1 + 3  # header, baselines, DCGAN, three psi


def _tiny_chapter(path, cells):
    fence = "```"
    path.write_text("".join(f"{fence}{{code-cell}} ipython3\n{c}\n{fence}\n\n" for c in cells))
    return path


def test_part6_holds_a_chapters_recorded_numbers_against_its_targets(tmp_path, monkeypatch):
    import part6

    md = _tiny_chapter(
        tmp_path / "tiny.md",
        [
            "import genai_lib as gl",
            'speed = gl.record("speed", 3.0)\ngl.record("floor", 2.0, n=5)',
            'gl.claim("the speed is above the floor", speed > 2.0, speed=speed)',
        ],
    )
    monkeypatch.setitem(part6.CHAPTERS, "tiny", md)
    targets = [
        part6.Target("speed above the floor", "speed", ">=", "floor"),
        part6.Target("speed at least 5", "speed", ">=", 5.0),
        part6.Target("a number the run never records", "missing", "<", 1.0),
    ]
    monkeypatch.setitem(part6.TARGETS, "tiny", {"smoke": targets})
    result = part6.run("smoke", tmp_path / "out", ["tiny"])
    assert json.loads((tmp_path / "out" / f"part6-smoke-{result['device'].split()[0]}-tiny.json").read_text()) == result
    tiny = result["chapters"]["tiny"]
    assert tiny["ok"] and tiny["records"] == {"speed": 3.0, "floor": 2.0}
    assert tiny["record_details"]["floor"] == {"n": 5}
    assert tiny["claims"] == [{"claim": "the speed is above the floor", "holds": True, "evidence": {"speed": 3.0}}]
    assert result["targets_met"]["tiny"] == [True, False, None]
    assert "recorded no 'missing'" in tiny["targets"][2]["why"]


def test_part6_reports_a_failed_chapter_and_judges_none_of_its_targets(tmp_path, monkeypatch):
    import part6

    md = _tiny_chapter(tmp_path / "broken.md", ["import genai_lib as gl", 'raise RuntimeError("the data is gone")'])
    monkeypatch.setitem(part6.CHAPTERS, "broken", md)
    monkeypatch.setitem(part6.TARGETS, "broken", {"smoke": [part6.Target("anything", "x", ">=", 0.0)]})
    result = part6.run("smoke", tmp_path, ["broken"])
    broken = result["chapters"]["broken"]
    assert not broken["ok"] and "the data is gone" in broken["failed_cell"]["error"]
    assert broken["targets"] == [] and result["targets_met"]["broken"] == []


def test_every_part6_target_names_numbers_its_chapter_records():
    import part6

    for name, by_budget in part6.TARGETS.items():
        source = part6.CHAPTERS[name].read_text()
        for target in (t for targets in by_budget.values() for t in targets):
            for recorded in (target.value, target.bound):
                if isinstance(recorded, str):
                    assert f'gl.record("{recorded}"' in source, f"{name} never records {recorded!r} ({target.what})"
