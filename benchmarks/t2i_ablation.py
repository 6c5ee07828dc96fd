"""Ablation: what makes chapters 13 and 14's text-to-image models follow their captions at the standard budget.

Trains the shared VQ-VAE and one latent diffusion model (or, with --model ar, chapter 14's transformer) of
`genai_lib.text_to_image.preset(budget)` with the fields given by --set changed (each variant is its own
checkpoint), then judges it as `benchmarks/text_to_image.py` does, on the same --n prompts of seen and held-out
combinations, at each guidance scale of --guidance. One JSON per variant and seed goes to results/t2i_ablation/.

    python benchmarks/t2i_ablation.py --budget standard --name pooled --set pooled_caption=true --seed 0
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict

from common import parser, provenance, save_result
from text_to_image import CONFIGS, judge_splits

import genai_lib as gl  # after torch, so OpenMP waits as the caller set it (make: genai_lib/__init__.py)
from genai_lib import text_to_image as t2i
from genai_lib.models.attribute_classifier import attribute_classifier


def run(
    budget: str,
    name: str,
    overrides: dict,
    seed: int,
    n: int,
    guidance: list[float],
    steps: int,
    out,
    model: str,
    temperature: float = 1.0,
) -> dict:
    """Train (or load) the variant and judge it at each guidance scale; returns the result."""
    cfg = t2i.preset(budget, seed=seed, n_eval=n, **overrides)
    session = gl.setup(seed=seed)
    data = t2i.load_splits(cfg)
    start = time.perf_counter()
    vq, _ = t2i.train_vqvae(cfg, data["train"], progress=False)
    train = t2i.train_ar if model == "ar" else t2i.train_diffusion
    trained, history = train(cfg, data["train"], vq, progress=False)
    train_seconds = time.perf_counter() - start
    judge = attribute_classifier(cfg.dataset, steps=CONFIGS[budget]["judge_steps"], verbose=False).to(session.device)
    rows = {}
    for w in guidance:
        kwargs: dict = dict(guidance_scale=w)
        if model == "diffusion":
            kwargs.update(sampler="ddpm", num_inference_steps=steps)
        else:
            kwargs.update(temperature=temperature)
        row = {
            label: {k: round(v, 4) for k, v in r.items() if k != "images"}
            for label, r in judge_splits(trained, judge, data, n=n, seed=seed, **kwargs).items()
        }
        rows[str(w)] = row
        print(name, seed, w, {s: (row[s]["exact"], row[s]["colour"], row[s]["position"]) for s in row}, flush=True)
    result = {
        "study": "t2i_ablation",
        "variant": name,
        "model": model,
        "overrides": overrides,
        "seed": seed,
        "budget": budget,
        **provenance(session.device, session.precision),
        "config": json.loads(json.dumps(asdict(cfg))),
        "n_prompts_per_split": n,
        "sampler": f"ddpm, {steps} steps" if model == "diffusion" else f"ancestral, temperature {temperature:g}",
        "train_seconds": round(train_seconds, 1),
        "final_loss": round(history.last("loss"), 4),
        "by_guidance_scale": rows,
    }
    save_result(result, out / "t2i_ablation", f"{name}-seed{seed}", shown={})
    return result


if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("--name", required=True)
    p.add_argument("--set", nargs="*", default=[], help="config fields, as field=json_value")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n", type=int, default=500, help="prompts per split")
    p.add_argument("--guidance", type=float, nargs="+", default=[1.0, 3.0, 5.0])
    p.add_argument("--steps", type=int, default=25, help="DDPM sampling steps")
    p.add_argument("--model", choices=["diffusion", "ar"], default="diffusion")
    p.add_argument("--temperature", type=float, default=1.0, help="the AR model's sampling temperature")
    a = p.parse_args()
    sets = {k: json.loads(v) for k, v in (s.split("=", 1) for s in a.set)}
    run(a.budget or gl.get_budget(), a.name, sets, a.seed, a.n, a.guidance, a.steps, a.out, a.model, a.temperature)
