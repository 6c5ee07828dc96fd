"""Benchmark: generation with and without the KV cache, for chapter 10's GPT and chapter 14's text-to-image GPT.

For each model shape of the budget, builds the model (its weights do not change the speed), then generates with
`use_cache=True` and `use_cache=False` from the same prompt and generator, alternating the two `--repeats`
times, and records the fastest of each: tokens per second (chapter 10: block_size - 1 new tokens after a
one-token prompt, so the sequence fills the window) and samples per second (chapter 14: one guided code grid
per caption), the speed-up, and whether both paths drew the same tokens. The target (issue 23): at the full
budget's chapter-10 shape, T = 256, the cached path is at least 5 times faster on a CPU.

    .venv/bin/python benchmarks/kv_cache.py --budget full   # a few minutes on 2 CPU cores
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import torch
from common import parser, provenance, save_result

import genai_lib as gl  # after torch, so OpenMP waits as the caller set it (make: genai_lib/__init__.py)
from genai_lib import text_to_image as t2i
from genai_lib.data.caption_grammar import SHAPES, CaptionTokenizer
from genai_lib.device import synchronize
from genai_lib.models.ar_text_to_image import ARTextToImage
from genai_lib.models.gpt import GPT, GPTConfig
from genai_lib.models.vqvae import VQVAE, VQVAEConfig

# Chapter 10's GPT shapes per budget (book/part3/10_training_gpt.md, vocabulary of tinyshakespeare's 65 characters),
# how many sequences are generated at once, and how many captions chapter 14's model draws per timing.
CONFIGS = dict(
    smoke=dict(gpt=dict(n_layer=1, n_head=2, n_embd=32, block_size=32), batch=1, captions=2, repeats=1),
    standard=dict(gpt=dict(n_layer=3, n_head=4, n_embd=96, block_size=64), batch=1, captions=16, repeats=3),
    full=dict(gpt=dict(n_layer=6, n_head=6, n_embd=384, block_size=256), batch=1, captions=16, repeats=3),
)
TARGETS = {"speedup_full_chapter10_at_least": 5.0}


def fastest(run: Callable[[bool], torch.Tensor], device: torch.device, repeats: int) -> dict:
    """Alternate cached and uncached runs `repeats` times: the fastest seconds of each and both outputs."""
    run(True), run(False)  # warm-up: allocations, kernels
    seconds: dict[bool, list[float]] = {True: [], False: []}
    outputs = {}
    for _ in range(repeats):
        for use_cache in (True, False):
            synchronize(device)
            t0 = time.perf_counter()
            outputs[use_cache] = run(use_cache)
            synchronize(device)
            seconds[use_cache].append(time.perf_counter() - t0)
    best = {c: min(s) for c, s in seconds.items()}
    return {
        "seconds_cached": round(best[True], 4),
        "seconds_uncached": round(best[False], 4),
        "speedup": round(best[False] / best[True], 2),
        "same_tokens": bool(torch.equal(outputs[True].cpu(), outputs[False].cpu())),
    }


def chapter10(cfg: dict, device: torch.device) -> dict:
    """Tokens per second of GPT.generate filling the window, with and without the cache."""
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=65, **cfg["gpt"])).to(device).eval()
    n_new = cfg["gpt"]["block_size"] - 1
    prompt = torch.zeros(cfg["batch"], 1, dtype=torch.long)

    def run(use_cache: bool) -> torch.Tensor:
        return model.generate(prompt, n_new, generator=torch.Generator().manual_seed(1), use_cache=use_cache)

    row = fastest(run, device, cfg["repeats"])
    tokens = n_new * cfg["batch"]
    return {
        "shape": cfg["gpt"],
        "batch": cfg["batch"],
        "new_tokens": n_new,
        "tokens_per_second_cached": round(tokens / row["seconds_cached"], 1),
        "tokens_per_second_uncached": round(tokens / row["seconds_uncached"], 1),
        "positions_uncached_over_cached": round((n_new + n_new * (n_new - 1) / 2) / n_new, 1),
        **row,
    }


def chapter14(budget: str, cfg: dict, device: torch.device) -> dict:
    """Samples per second of the AR text-to-image model of the budget's preset, guided, with and without."""
    tcfg = t2i.preset(budget)
    S = tcfg.image_size
    torch.manual_seed(0)
    vq = VQVAE(VQVAEConfig(image_shape=(3, S, S), hidden=tcfg.vq_hidden, codebook_size=tcfg.codebook_size,
                           code_dim=tcfg.code_dim))  # fmt: skip
    model = ARTextToImage(
        CaptionTokenizer(SHAPES), vq, n_layer=tcfg.gpt_layers, n_head=tcfg.gpt_heads, n_embd=tcfg.gpt_width
    )
    model = model.to(device).eval()
    captions = ["a big red circle in the top left"] * cfg["captions"]

    def run(use_cache: bool) -> torch.Tensor:
        return model.generate_tokens(
            captions, guidance_scale=2.0, generator=torch.Generator().manual_seed(1), use_cache=use_cache
        )

    row = fastest(run, device, cfg["repeats"])
    n = len(captions)
    return {
        "preset": budget,
        "captions": n,
        "samples_per_second_cached": round(n / row["seconds_cached"], 2),
        "samples_per_second_uncached": round(n / row["seconds_uncached"], 2),
        **row,
    }


def run(budget: str, out_dir: Path) -> dict:
    """Both measurements at the budget; writes results/kv_cache-<budget>-<device>.json."""
    cfg = CONFIGS[budget]
    session = gl.setup(seed=0)
    start = time.perf_counter()
    result = {
        "benchmark": "kv_cache",
        "budget": budget,
        **provenance(session.device, session.precision),
        "chapter10_gpt": chapter10(cfg, session.device),
        "chapter14_ar_text_to_image": chapter14(budget, cfg, session.device),
        "wall_seconds": round(time.perf_counter() - start, 1),
        "targets": TARGETS,
    }
    if budget == "full":
        speedup = result["chapter10_gpt"]["speedup"]
        result["targets_met"] = {"speedup_full_chapter10": speedup >= TARGETS["speedup_full_chapter10_at_least"]}
    save_result(result, out_dir, f"kv_cache-{budget}-{session.device.type}")
    return result


if __name__ == "__main__":
    args = parser(__doc__).parse_args()
    run(args.budget or gl.get_budget(), args.out)
