"""The text-to-image models of chapters 13–15, built and trained from one config, and measured one way.

Chapter 13 trains the diffusion models, chapter 14 the autoregressive one, chapter 15 and
`benchmarks/text_to_image.py` compare them. All call the functions here with a `TextToImageConfig`, so a model
trained in one chapter is the checkpoint the next one loads (the checkpoint name carries a hash of the config).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
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
from genai_lib.train import History, TrainConfig, fit


@dataclass
class TextToImageConfig:
    dataset: str = "shapes"  # or "captioned_mnist"
    n_train: int = 5000  # training images (captioned), drawn from the seed below
    n_eval: int = 500  # images per evaluation split ('test': seen combinations, 'heldout': unseen ones)
    image_size: int = 32
    # The VQ-VAE (Part II): (3, S, S) images -> an (S/4, S/4) grid of codes of width code_dim.
    vq_hidden: int = 64
    codebook_size: int = 64
    code_dim: int = 8
    vq_steps: int = 1500
    # The caption encoder (Part III's blocks, bidirectional).
    text_width: int = 64
    text_layers: int = 2
    # The denoiser (Part IV): a U-Net cross-attending to the caption.
    unet_channels: int = 64
    unet_mults: tuple[int, ...] = (1, 2)
    unet_attention_levels: int = 2  # levels, from the lowest, whose blocks cross-attend to the caption
    pooled_caption: bool = False  # also add the caption's mean vector to the U-Net's time embedding
    num_timesteps: int = 200
    prediction: str = "v"  # what the U-Net predicts: "v" or "epsilon" (NoiseSchedule.prediction)
    diffusion_steps: int = 3000
    # The autoregressive model: Part III's GPT over caption tokens then image tokens.
    gpt_layers: int = 4
    gpt_heads: int = 4
    gpt_width: int = 128
    ar_steps: int = 3000
    # Shared by every training run.
    batch_size: int = 64
    lr: float = 1e-3
    p_uncond: float = 0.1  # captions dropped to "" so that one network is also the unconditional model
    ema_decay: float = 0.0  # > 0: the diffusion model samples with an EMA of its weights (chapter 11); 0: off
    seed: int = 0

    def key(self, *fields: str) -> str:
        """A short hash of the named fields: a checkpoint name changes when a setting that shapes it changes."""
        d = asdict(self)
        return hashlib.sha256(json.dumps({f: d[f] for f in fields}, sort_keys=True).encode()).hexdigest()[:8]


VQ_FIELDS = (
    "dataset",
    "n_train",
    "image_size",
    "vq_hidden",
    "codebook_size",
    "code_dim",
    "vq_steps",
    "batch_size",
    "seed",
)
DIFFUSION_FIELDS = VQ_FIELDS + (
    "text_width",
    "text_layers",
    "unet_channels",
    "unet_mults",
    "unet_attention_levels",
    "pooled_caption",
    "num_timesteps",
    "prediction",
    "diffusion_steps",
    "lr",
    "p_uncond",
    "ema_decay",
)
AR_FIELDS = VQ_FIELDS + ("gpt_layers", "gpt_heads", "gpt_width", "ar_steps", "lr", "p_uncond")


# The settings of each budget, shared by chapters 13-15 so that one chapter's checkpoints serve the next.
PRESETS: dict[str, dict[str, Any]] = {
    "smoke": dict(
        n_train=256,
        n_eval=16,
        vq_hidden=16,
        codebook_size=32,
        code_dim=4,
        vq_steps=20,
        text_width=32,
        text_layers=1,
        unet_channels=16,
        num_timesteps=50,
        diffusion_steps=10,
        gpt_layers=1,
        gpt_heads=2,
        gpt_width=32,
        ar_steps=10,
        batch_size=32,
    ),
    "standard": dict(
        n_train=5000,
        n_eval=200,
        vq_hidden=32,
        vq_steps=600,
        unet_channels=32,
        unet_mults=(1, 2, 2),
        diffusion_steps=1500,
        gpt_layers=2,
        gpt_heads=4,
        gpt_width=64,
        ar_steps=1500,
    ),
    "full": dict(
        n_train=50000,
        n_eval=1000,
        vq_steps=5000,
        unet_channels=128,
        unet_mults=(1, 2, 2),
        # 4x the batch for 1/5 of the steps: chapter 15 trains all three models in a GPU slot (test_full_budgets)
        diffusion_steps=6000,
        gpt_layers=8,
        gpt_heads=8,
        gpt_width=256,
        ar_steps=6000,
        batch_size=512,
    ),
}


def preset(budget: str, **overrides: Any) -> TextToImageConfig:
    """The config of a budget ('smoke', 'standard', 'full'), with any field overridden."""
    if budget not in PRESETS:
        raise ValueError(f"Unknown budget {budget!r}; choose one of {', '.join(PRESETS)}.")
    return TextToImageConfig(**{**PRESETS[budget], **overrides})


def load_splits(cfg: TextToImageConfig) -> dict[str, CaptionedImages]:
    """The data of a config: 'train' (n_train), 'test' and 'heldout' (n_eval each), all from cfg.seed."""
    return {
        "train": load_captioned(cfg.dataset, "train", cfg.n_train, seed=cfg.seed, image_size=cfg.image_size),
        **{
            split: load_captioned(cfg.dataset, split, cfg.n_eval, seed=cfg.seed, image_size=cfg.image_size)
            for split in ("test", "heldout")
        },
    }


def loss_step(model: TextToImageDiffusion | ARTextToImage, *, p_uncond: float, ema: EMA | None = None):
    """A step function for `fit`: batches (images, ids) or (ids, tokens); loss ``model.loss(*batch, p_uncond=...)``.

    With `ema`, the average of the diffusion model's denoiser is updated after each step.
    """

    def step(batch, ctx):
        with ctx.autocast():
            loss = model.loss(*batch, p_uncond=p_uncond)
        ctx.backward_step(loss)
        if ema is not None:
            ema.update(model.denoiser)
        return {"loss": loss}

    return step


def _fit(step, model, params, data: Batches, steps: int, name: str, lr: float, progress: bool, ema=None) -> History:
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
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
    batches = Batches(data.images, data.tokenizer.encode(data.captions), batch_size=cfg.batch_size, seed=cfg.seed)
    name = f"t2i-{'pixel' if vq is None else 'latent'}-diffusion-{data.grammar.name}-{cfg.key(*DIFFUSION_FIELDS)}"
    ema = EMA(model.denoiser, decay=cfg.ema_decay) if cfg.ema_decay else None
    history = _fit(
        loss_step(model, p_uncond=cfg.p_uncond, ema=ema),
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
        model = ARTextToImage(data.tokenizer, vq, n_layer=cfg.gpt_layers, n_head=cfg.gpt_heads, n_embd=cfg.gpt_width)
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
