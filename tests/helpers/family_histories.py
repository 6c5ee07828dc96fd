"""Train every model family briefly at a fixed seed and print a digest of its History and samples.

Used to show that a refactor changes no numbers: run it on the code before and after (e.g. with
PYTHONPATH set to each checkout) and compare the two JSON outputs; they must be identical.

    python tests/helpers/family_histories.py after.json
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import warnings

import torch

warnings.simplefilter("ignore", DeprecationWarning)  # old names are fine here: they must give the same numbers
os.environ.setdefault("GENAI_CHECKPOINT_DIR", tempfile.mkdtemp())

import genai_lib as gl  # noqa: E402
from genai_lib import diffusion  # noqa: E402
from genai_lib.data.batches import Batches  # noqa: E402
from genai_lib.ema import EMA  # noqa: E402
from genai_lib.models import gan, gpt, unet, vae, vqvae  # noqa: E402


def digest(t: torch.Tensor) -> str:
    """sha256 of a tensor's bytes: equal digests mean bit-identical tensors."""
    return hashlib.sha256(t.detach().float().contiguous().numpy().tobytes()).hexdigest()[:16]


def history_values(history) -> dict[str, list]:
    return {k: [[s, float(v).hex()] for s, v in zip(history.steps(k), history[k], strict=True)] for k in history.keys()}


def run(step_fn, models, optimizers, data, steps=6, name=None, resume_at=None):
    """fit for `steps`; with resume_at, stop there first and resume from the checkpoint."""
    path = os.path.join(os.environ["GENAI_CHECKPOINT_DIR"], f"{name}.pt") if name else None
    if resume_at is not None:
        gl.fit(
            step_fn,
            models=models,
            optimizers=optimizers,
            data=data,
            config=gl.TrainConfig(steps=resume_at, log_every=1, ckpt_every=1, ckpt_path=path, progress=False),
        )
    return gl.fit(
        step_fn,
        models=models,
        optimizers=optimizers,
        data=data,
        config=gl.TrainConfig(steps=steps, log_every=1, ckpt_every=2 if path else None, ckpt_path=path, progress=False),
    )


def diffusion_family(out: dict) -> None:
    torch.manual_seed(0)
    net = unet.UNet(unet.UNetConfig(image_shape=(1, 8, 8), base_channels=8, channel_mults=(1, 2), n_classes=3))
    ema = EMA(net, decay=0.99)
    schedule = diffusion.NoiseSchedule(num_timesteps=20, kind="cosine")
    x, y = torch.rand(64, 1, 8, 8) * 2 - 1, torch.randint(0, 3, (64,))
    factory = getattr(diffusion, "diffusion_step", None)
    if factory is not None:
        step = factory(net, schedule, p_uncond=0.2, ema=ema)
    else:  # the code before issue 15: the step as chapter 12 typed it

        def step(batch, ctx):
            x0, y0 = batch
            with ctx.autocast():
                loss = schedule.loss(net, x0, cond=y0, p_uncond=0.2, null_cond=net.null_cond)
            ctx.update(loss)
            ema.update(net)
            return {"loss": loss}

    h = run(
        step,
        {"model": net, "ema": ema},
        torch.optim.Adam(net.parameters(), lr=1e-3),
        Batches(x, y, batch_size=16, seed=0),
        name="diffusion",
        resume_at=3,
    )
    out["diffusion"] = history_values(h)
    g = torch.Generator().manual_seed(1)
    if hasattr(diffusion, "sample_diffusion"):

        def sampler(model, shape, **kw):
            return diffusion.sample_diffusion(model, schedule, shape, **kw)
    else:  # before issue 15 the loop was a method of the schedule
        sampler = schedule.sample
    cond = torch.tensor([0, 1, 2, 0])
    for kind, steps in (("ddpm", None), ("ddim", 5)):
        s = sampler(
            ema,
            (4, 1, 8, 8),
            cond=cond,
            guidance_scale=2.0,
            null_cond=net.null_cond,
            sampler=kind,
            num_inference_steps=steps,
            generator=g,
        )
        out[f"diffusion/samples_{kind}"] = digest(s)


def main() -> None:
    out: dict = {}
    torch.manual_seed(0)
    G, D = (
        gan.Generator(gan.GANConfig(data_shape=(1, 28, 28), latent_dim=8, width=8)),
        gan.Discriminator(gan.GANConfig(data_shape=(1, 28, 28), latent_dim=8, width=8)),
    )
    x = torch.rand(64, 1, 28, 28) * 2 - 1
    h = run(
        gan.gan_step(G, D),
        {"G": G, "D": D},
        {
            "G": torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999)),
            "D": torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999)),
        },
        Batches(x, batch_size=16, seed=0),
        name="gan",
        resume_at=3,
    )
    out["gan"] = history_values(h)

    torch.manual_seed(0)
    model = vae.VAE(vae.VAEConfig(image_shape=(1, 28, 28), latent_dim=4, hidden=32))
    h = run(
        vae.vae_step(model, beta=1.0),
        model,
        torch.optim.Adam(model.parameters(), 1e-3),
        Batches(torch.rand(64, 1, 28, 28).round(), batch_size=16, seed=0),
        name="vae",
        resume_at=3,
    )
    out["vae"] = history_values(h)
    out["vae/samples"] = digest(model.sample(4, generator=torch.Generator().manual_seed(0)))

    torch.manual_seed(0)
    vq = vqvae.VQVAE(vqvae.VQVAEConfig(image_shape=(1, 8, 8), hidden=8, codebook_size=8, code_dim=4))
    h = run(
        vqvae.vqvae_step(vq),
        vq,
        torch.optim.Adam(vq.parameters(), 1e-3),
        Batches(torch.rand(64, 1, 8, 8), batch_size=16, seed=0),
        name="vqvae",
        resume_at=3,
    )
    out["vqvae"] = history_values(h)

    torch.manual_seed(0)
    lm = gpt.GPT(gpt.GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16))
    ids = torch.randint(0, 11, (64, 9))
    h = run(
        gpt.lm_step(lm),
        lm,
        torch.optim.AdamW(lm.parameters(), 1e-3),
        Batches(ids[:, :-1], ids[:, 1:], batch_size=16, seed=0),
        name="gpt",
        resume_at=3,
    )
    out["gpt"] = history_values(h)
    out["gpt/generate"] = lm.generate(ids[:2, :4], 5, generator=torch.Generator().manual_seed(0)).tolist()

    diffusion_family(out)

    from genai_lib import text_to_image as t2i

    cfg = t2i.preset("smoke")
    splits = t2i.load_splits(cfg)
    vqm, h = t2i.train_vqvae(cfg, splits["train"], progress=False)
    out["t2i/vqvae"] = history_values(h)
    model, h = t2i.train_diffusion(cfg, splits["train"], vqm, progress=False)
    out["t2i/latent_diffusion"] = history_values(h)
    out["t2i/latent_diffusion/samples"] = digest(
        model.generate(["a red circle"] * 2, generator=torch.Generator().manual_seed(0))
    )
    ar, h = t2i.train_ar(cfg, splits["train"], vqm, progress=False)
    out["t2i/ar"] = history_values(h)
    out["t2i/ar/samples"] = digest(ar.generate(["a red circle"] * 2, generator=torch.Generator().manual_seed(0)))
    with open(sys.argv[1], "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
