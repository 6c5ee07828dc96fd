"""The text-to-image models of chapters 13–15, built and trained from one config, and measured one way.

Chapter 13 trains the diffusion models, chapter 14 the autoregressive one, chapter 15 and
`benchmarks/text_to_image.py` compare them. All call the functions here with a `TextToImageConfig`
(`genai_lib.text_to_image_config`, re-exported here), so a model trained in one chapter is the checkpoint the
next one loads (the checkpoint name carries a hash of the config).
"""

from __future__ import annotations

import time
from typing import Any

import torch

from genai_lib.checkpoint import checkpoint_path
from genai_lib.data.batches import Batches
from genai_lib.data.captions import CaptionedImages, load_captioned
from genai_lib.diffusion import NoiseSchedule
from genai_lib.ema import EMA
from genai_lib.metrics import caption_accuracy
from genai_lib.models.ar_text_to_image import ARTextToImage
from genai_lib.models.latent_diffusion import CaptionConditionedUNet, TextToImageDiffusion
from genai_lib.models.text_encoder import TextEncoder, TextEncoderConfig
from genai_lib.models.unet import UNet, UNetConfig
from genai_lib.models.vqvae import VQVAE, VQVAEConfig, vqvae_step
from genai_lib.text_to_image_config import (  # noqa: F401 (PRESETS and preset: the chapters' t2i.preset)
    AR_FIELDS,
    DIFFUSION_FIELDS,
    PRESETS,
    VQ_FIELDS,
    TextToImageConfig,
    preset,
)
from genai_lib.train import History, TrainConfig, fit


def load_splits(cfg: TextToImageConfig) -> dict[str, CaptionedImages]:
    """The data of a config: 'train' (n_train), 'test' and 'heldout' (n_eval each), all from cfg.seed."""
    return {
        "train": load_captioned(cfg.dataset, "train", cfg.n_train, seed=cfg.seed, image_size=cfg.image_size),
        **{
            split: load_captioned(cfg.dataset, split, cfg.n_eval, seed=cfg.seed, image_size=cfg.image_size)
            for split in ("test", "heldout")
        },
    }


def loss_step(
    model: TextToImageDiffusion | ARTextToImage, *, p_uncond: float, ema: EMA | None = None, latents: bool = False
):
    """A step function for `fit`: batches (images, ids) or (ids, tokens); loss ``model.loss(*batch, p_uncond=...)``.

    With `latents`, a diffusion model's batches hold latents already encoded, (z_0, ids), for `model.latent_loss`.
    With `ema`, the average of the diffusion model's denoiser is updated after each step.
    """
    if latents and not isinstance(model, TextToImageDiffusion):
        raise ValueError(f"latents=True trains a diffusion model on stored latents; got a {type(model).__name__}.")
    loss_of = model.latent_loss if latents else model.loss

    def step(batch, ctx):
        with ctx.autocast():
            loss = loss_of(*batch, p_uncond=p_uncond)
        ctx.backward_step(loss)
        if ema is not None:
            ema.update(model.denoiser)
        return {"loss": loss}

    return step


def _fit(step, model, params, data: Batches, steps: int, name: str, lr: float, progress: bool, ema=None) -> History:
    # fused: one kernel updates all ~300 parameter tensors; the per-tensor loop took a seventh of a CPU step.
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0, fused=True)
    return fit(
        step,
        models=model if ema is None else {"model": model, "ema": ema},
        optimizers=opt,
        data=data,
        config=TrainConfig(
            steps=steps,
            log_every=max(1, steps // 20),
            ckpt_every=max(1, steps // 4),
            ckpt_path=str(checkpoint_path(name)),
            progress=progress,
        ),
    )


def train_vqvae(cfg: TextToImageConfig, data: CaptionedImages, *, progress: bool = True) -> tuple[VQVAE, History]:
    """The shared image tokenizer and latent space: a VQ-VAE on the training images."""
    S = cfg.image_size
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        vq = VQVAE(
            VQVAEConfig(
                image_shape=(3, S, S), hidden=cfg.vq_hidden, codebook_size=cfg.codebook_size, code_dim=cfg.code_dim
            )
        )
    batches = Batches(data.images, batch_size=cfg.batch_size, seed=cfg.seed)
    name = f"t2i-vqvae-{data.grammar.name}-{cfg.key(*VQ_FIELDS)}"
    history = _fit(vqvae_step(vq), vq, vq.parameters(), batches, cfg.vq_steps, name, 2e-3, progress)
    return vq.eval(), history


def build_diffusion(cfg: TextToImageConfig, data: CaptionedImages, vq: VQVAE | None) -> TextToImageDiffusion:
    """Caption encoder + U-Net + schedule, in the VQ-VAE's latent space, or in pixel space when vq is None."""
    tok = data.tokenizer
    S = cfg.image_size
    shape = (3, S, S) if vq is None else vq.config.latent_shape
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        encoder = TextEncoder(
            TextEncoderConfig(
                vocab_size=tok.vocab_size,
                max_len=tok.length,
                n_embd=cfg.text_width,
                n_layer=cfg.text_layers,
                pad_id=tok.pad_id,
            )
        )
        mults = cfg.unet_mults if vq is not None else (1, *cfg.unet_mults, cfg.unet_mults[-1])  # 32x32 -> 8x8 too
        unet = UNet(
            UNetConfig(
                image_shape=shape,
                base_channels=cfg.unet_channels,
                channel_mults=mults,
                context_dim=cfg.text_width,
                attention_positions=True,
                attention_levels=cfg.unet_attention_levels,
                pooled_context=cfg.pooled_caption,
            )
        )
    model = TextToImageDiffusion(
        CaptionConditionedUNet(encoder, unet),
        tok,
        NoiseSchedule(cfg.num_timesteps, prediction=cfg.prediction),
        autoencoder=vq,
    )
    if vq is not None:
        model.fit_latent_scale(data.images[:1000])
    return model


def train_diffusion(
    cfg: TextToImageConfig, data: CaptionedImages, vq: VQVAE | None, *, progress: bool = True
) -> tuple[TextToImageDiffusion, History]:
    """Train (or load from its checkpoint) the latent diffusion model, or the pixel one when vq is None."""
    model = build_diffusion(cfg, data, vq)
    # Convolution weights stored channels-last: oneDNN's preferred layout, about 15% off a CPU step here.
    model.denoiser.to(memory_format=torch.channels_last)
    # The VQ-VAE is frozen, so every training image is encoded once, here, not at each step (a twentieth of a step).
    x_0 = data.images if vq is None else model.latents_of(data.images)
    batches = Batches(x_0, data.tokenizer.encode(data.captions), batch_size=cfg.batch_size, seed=cfg.seed)
    name = f"t2i-{'pixel' if vq is None else 'latent'}-diffusion-{data.grammar.name}-{cfg.key(*DIFFUSION_FIELDS)}"
    ema = EMA(model.denoiser, decay=cfg.ema_decay) if cfg.ema_decay else None
    history = _fit(
        loss_step(model, p_uncond=cfg.p_uncond, ema=ema, latents=vq is not None),
        model,
        model.denoiser.parameters(),
        batches,
        cfg.diffusion_steps,
        name,
        cfg.lr,
        progress,
        ema,
    )
    if ema is not None:
        model.denoiser.load_state_dict(ema.module.state_dict())  # sample with the average, as chapters 11-12 do
    return model.eval(), history


def train_ar(
    cfg: TextToImageConfig, data: CaptionedImages, vq: VQVAE, *, progress: bool = True
) -> tuple[ARTextToImage, History]:
    """Train (or load from its checkpoint) the GPT over caption tokens then the VQ-VAE's image tokens."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model = ARTextToImage(
            data.tokenizer,
            vq,
            n_layer=cfg.gpt_layers,
            n_head=cfg.gpt_heads,
            n_embd=cfg.gpt_width,
            dropout=cfg.ar_dropout,
        )
    batches = Batches(
        data.tokenizer.encode(data.captions), model.image_tokens(data.images), batch_size=cfg.batch_size, seed=cfg.seed
    )
    name = f"t2i-ar-{data.grammar.name}-{cfg.key(*AR_FIELDS)}"
    history = _fit(
        loss_step(model, p_uncond=cfg.p_uncond),
        model,
        model.gpt.parameters(),
        batches,
        cfg.ar_steps,
        name,
        cfg.lr,
        progress,
    )
    return model.eval(), history


def evaluate(
    model: TextToImageDiffusion | ARTextToImage,
    judge,
    data: CaptionedImages,
    *,
    n: int | None = None,
    seed: int = 0,
    **generate_kwargs: Any,
) -> dict[str, Any]:
    """Generate one image per caption of `data` (the first n), judge it, and time it.

    Returns caption accuracy per attribute and 'exact', 'samples_per_s', and the 'images' themselves.
    """
    n = len(data) if n is None else min(n, len(data))
    start = time.perf_counter()
    images = model.generate(data.captions[:n], generator=torch.Generator().manual_seed(seed), **generate_kwargs)
    seconds = time.perf_counter() - start
    scores = caption_accuracy(judge.predict(images), {a: v[:n] for a, v in data.labels.items()})
    return {**scores, "samples_per_s": n / seconds, "images": images}
