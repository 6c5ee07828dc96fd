"""Text-to-image diffusion, in pixel space or in an autoencoder's latent space (Rombach et al., 2022).

Four parts from earlier chapters: a caption encoder (Part III's blocks), a U-Net that cross-attends to its
output, a noise schedule and sampler with classifier-free guidance (Part IV), and optionally a VQ-VAE
(Part II) whose latents the diffusion runs in. `generate(prompts)` is the whole pipeline in one call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import torch
from torch import nn

from genai_lib.data.caption_grammar import CaptionTokenizer
from genai_lib.diffusion import NoiseSchedule, sample_diffusion
from genai_lib.models.text_encoder import TextEncoder
from genai_lib.models.unet import UNet
from genai_lib.models.vqvae import VQVAE
from genai_lib.nn.modes import evaluating


class CaptionConditionedUNet(nn.Module):
    """ε_θ(x_t, t, ids): the U-Net cross-attends to the caption encoder's vectors of the token ids (B, S)."""

    def __init__(self, text_encoder: TextEncoder, unet: UNet) -> None:
        super().__init__()
        if unet.config.context_dim != text_encoder.config.n_embd:
            raise ValueError(
                f"The U-Net's context_dim ({unet.config.context_dim}) must equal the text encoder's "
                f"width n_embd ({text_encoder.config.n_embd}): build UNetConfig(context_dim="
                f"{text_encoder.config.n_embd}, ...)."
            )
        self.text_encoder, self.unet = text_encoder, unet

    def forward(self, x_t: torch.Tensor, t: torch.Tensor | int, ids: torch.Tensor) -> torch.Tensor:
        context, pad = self.text_encoder(ids)  # (B, S, D), (B, S)
        return self.unet(x_t, t, (context, pad))  # (B, C, H, W)


class TextToImageDiffusion(nn.Module):
    """Prompts -> images: tokenize, encode, denoise from noise with guidance, decode (if latent) to pixels.

    Pixel space: the U-Net sees images scaled to [-1, 1]. Latent space: it sees the VQ-VAE encoder's output
    z_e(x) (B, D, H/4, W/4), times `latent_scale` so that its spread is about 1 like the noise; a sample is
    quantised to the nearest codes and decoded, as in the VQ-regularised models of Rombach et al. (2022).
    """

    latent_scale: torch.Tensor  # 0-d buffer: LDM's scale factor, 1 / std of the latents
    null_ids: torch.Tensor  # (S,) buffer: the empty caption's token ids
    unet_type: type[UNet] = UNet  # the denoiser's U-Net must be one (a subclass may ask for more: VideoUNet)

    def __init__(
        self,
        denoiser: CaptionConditionedUNet,
        tokenizer: CaptionTokenizer,
        schedule: NoiseSchedule,
        *,
        autoencoder: VQVAE | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(denoiser.unet, self.unet_type):
            raise ValueError(
                f"{type(self).__name__} needs a {self.unet_type.__name__} in its denoiser, "
                f"got a {type(denoiser.unet).__name__}."
            )
        self.denoiser, self.tokenizer, self.schedule = denoiser, tokenizer, schedule
        self.autoencoder = autoencoder
        if autoencoder is not None:
            autoencoder.requires_grad_(False).eval()  # frozen: trained first, in Part II's way
            expected = autoencoder.config.latent_shape
        else:
            expected = denoiser.unet.config.image_shape
        if tuple(denoiser.unet.config.image_shape) != tuple(expected):
            raise ValueError(
                f"The U-Net's image_shape {denoiser.unet.config.image_shape} must be the shape it "
                f"denoises, {expected}"
                + (" (the VQ-VAE's latent: code_dim, H/4, W/4)." if autoencoder is not None else ".")
            )
        self.register_buffer("latent_scale", torch.tensor(1.0))
        self.register_buffer("null_ids", tokenizer.encode([""])[0])  # (S,): <bos> and padding, the empty caption

    def train(self, mode: bool = True) -> TextToImageDiffusion:
        """Train the denoiser; the frozen autoencoder stays in eval mode (its codebook must not move)."""
        super().train(mode)
        if self.autoencoder is not None:
            self.autoencoder.eval()
        return self

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return self.denoiser.unet.config.image_shape

    @torch.no_grad()
    def fit_latent_scale(self, images: torch.Tensor) -> float:
        """Set latent_scale = 1 / std of the latents of `images` (LDM's scale factor); returns it.

        The images are encoded where the autoencoder lives, which may be a GPU before this model moves there.
        """
        if self.autoencoder is not None:
            images = images.to(next(self.autoencoder.parameters()).device)
            self.latent_scale.fill_(1.0)
            self.latent_scale.fill_(1.0 / self.to_latent(images).std().item())
        return float(self.latent_scale)

    def to_latent(self, images: torch.Tensor) -> torch.Tensor:
        """Images (B, 3, H, W) in [0, 1] -> what the diffusion models: x_0 in [-1, 1], or scaled z_e(x)."""
        if self.autoencoder is None:
            return images * 2 - 1
        with torch.no_grad():  # the images may live elsewhere than the autoencoder: a GPU trained it, say
            return self.autoencoder.encode(images.to(next(self.autoencoder.parameters()).device)) * self.latent_scale

    def latents_of(self, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
        """`to_latent` of a whole data set, a batch at a time, on the CPU: the stored x_0 of training (the autoencoder
        is frozen, so each image is encoded once, not at every step)."""
        return torch.cat([self.to_latent(images[i : i + batch_size]).cpu() for i in range(0, len(images), batch_size)])

    def from_latent(self, z: torch.Tensor) -> torch.Tensor:
        """The inverse of to_latent: a sample of the diffusion -> images in [0, 1]."""
        if tuple(z.shape[1:]) != self.latent_shape:
            raise ValueError(
                f"Expected latents of shape (B, {', '.join(map(str, self.latent_shape))}), got {tuple(z.shape)}."
            )
        return self.decode_frames(z)

    def decode_frames(self, z: torch.Tensor) -> torch.Tensor:
        """Latent images (B, C, h, w) -> images (B, 3, H, W) in [0, 1]: quantise and decode, or undo the scaling."""
        if self.autoencoder is None:
            return ((z + 1) / 2).clamp(0, 1)
        with torch.no_grad():
            z_q = self.autoencoder.quantizer(z / self.latent_scale).z_q
            return torch.sigmoid(self.autoencoder.decode(z_q))

    def loss(
        self,
        images: torch.Tensor,
        ids: torch.Tensor,
        *,
        p_uncond: float = 0.1,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """The schedule's loss (ε- or v-prediction) on the images' latents; each caption is dropped at rate p_uncond."""
        return self.latent_loss(self.to_latent(images), ids, p_uncond=p_uncond, generator=generator)

    def latent_loss(
        self,
        x_0: torch.Tensor,
        ids: torch.Tensor,
        *,
        p_uncond: float = 0.1,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """`loss` on latents already computed by `to_latent` (the autoencoder is frozen, so they can be cached)."""
        return self.schedule.loss(
            self.denoiser,
            x_0,
            cond=ids,
            p_uncond=p_uncond,
            null_cond=self.null_ids,
            generator=generator,
        )

    @torch.no_grad()
    def generate(
        self,
        prompts: Sequence[str],
        *,
        guidance_scale: float = 3.0,
        sampler: str = "ddpm",
        num_inference_steps: int | None = 50,
        generator: torch.Generator | None = None,
        batch_size: int = 256,
    ) -> torch.Tensor:
        """One image (N, 3, H, W) in [0, 1] per prompt; "" asks for an unconditional sample.

        DDPM by default: in unclipped latent space, DDIM's deterministic steps carry an early error of the
        guided ε all the way to x_0, and the decoder turns the off-manifold latents into multicoloured blobs.
        """
        ids = self.tokenizer.encode(list(prompts))  # (N, S); raises on unknown words
        device = self.null_ids.device
        encoder, unet = self.denoiser.text_encoder, self.denoiser.unet
        with evaluating(encoder):
            # The captions do not change while the noise is removed: encode them once, not at every step.
            null_context, null_pad = encoder(self.null_ids[None])  # (1, S, D), (1, S)
            out = []
            for i in range(0, len(ids), batch_size):
                context, pad = encoder(ids[i : i + batch_size].to(device))  # (B, S, D), (B, S)
                z = sample_diffusion(  # the final x_0 only (no trajectory)
                    unet,
                    self.schedule,
                    (len(context), *self.latent_shape),
                    cond=(context, pad),
                    guidance_scale=guidance_scale,
                    null_cond=(null_context[0], null_pad[0]),
                    sampler=sampler,
                    num_inference_steps=num_inference_steps,
                    generator=generator,
                    device=device,
                    clip_sample=1.0 if self.autoencoder is None else None,
                )
                out.append(self.from_latent(cast(torch.Tensor, z)))
        return torch.cat(out)
