"""A small U-Net ε-predictor for diffusion (Ronneberger et al., 2015; as adapted by Ho et al., 2020).

Residual blocks (GroupNorm, SiLU, the time and class embedding added), down- and up-sampling with skip
connections, and Transformer blocks from genai_lib.nn at the lowest resolution: self-attention over pixels
and, with `context_dim`, cross-attention to a caption's embedding sequence (Rombach et al., 2022).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genai_lib.config import image_shape
from genai_lib.nn import BlockConfig, TransformerBlock, timestep_embedding


@dataclass
class UNetConfig:
    image_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W) of x_t
    base_channels: int = 32  # C of the first level; level i has C · channel_mults[i]
    channel_mults: tuple[int, ...] = (1, 2, 2)  # one per level; each level after the first halves H and W
    num_res_blocks: int = 1  # residual blocks per level on the way down
    attention: bool = True  # Transformer blocks at the lowest resolution(s)
    attention_levels: int = 1  # how many of the lowest levels have them (1: the lowest only)
    n_heads: int = 4
    attention_positions: bool = False  # learned positions for the attention's pixel tokens
    n_classes: int = 0  # 0: no labels; else labels 0..n_classes-1, n_classes = null
    context_dim: int | None = None  # width of a context sequence for cross-attention
    pooled_context: bool = False  # also add the context's mean to the time embedding (a global condition)
    dropout: float = 0.0
    norm_groups: int = 8  # GroupNorm groups; every level's width must divide by it

    def __post_init__(self) -> None:
        self.image_shape, self.channel_mults = image_shape(self.image_shape, "UNetConfig"), tuple(self.channel_mults)
        if not self.channel_mults or min(self.channel_mults) < 1 or self.base_channels < 1:
            raise ValueError(
                "base_channels and channel_mults must be positive, with at least one level; "
                f"got {self.base_channels} and {self.channel_mults}."
            )
        _, H, W = self.image_shape
        f = 2 ** (len(self.channel_mults) - 1)
        if H % f or W % f:
            raise ValueError(
                f"With {len(self.channel_mults)} levels the image is halved {len(self.channel_mults) - 1} "
                f"times, so H and W must be divisible by {f}; got {H}x{W}. Pad the images or use fewer "
                "channel_mults."
            )
        widths = [self.base_channels * m for m in self.channel_mults]
        if any(w % self.norm_groups for w in widths):
            raise ValueError(f"Every level's width {widths} must be divisible by norm_groups={self.norm_groups}.")
        if self.attention and any(w % self.n_heads for w in widths[-self.attention_levels :]):
            raise ValueError(f"The attention widths {widths} are not divisible by n_heads={self.n_heads}.")
        if not 1 <= self.attention_levels <= len(self.channel_mults):
            raise ValueError(
                f"attention_levels must be in [1, {len(self.channel_mults)}] (the number of levels), "
                f"got {self.attention_levels}."
            )
        if self.n_classes < 0:
            raise ValueError(f"n_classes must be >= 0 (0: no class conditioning), got {self.n_classes}.")
        if self.context_dim is not None:
            if self.context_dim < 1:
                raise ValueError(f"context_dim must be positive or None, got {self.context_dim}.")
            if self.n_classes:
                raise ValueError("Choose one kind of condition: class labels (n_classes) or a context (context_dim).")
            if not self.attention:
                raise ValueError("Cross-attention lives in the attention blocks: set attention=True with context_dim.")
        elif self.pooled_context:
            raise ValueError("pooled_context pools the context: it needs context_dim.")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}.")


class ResBlock(nn.Module):
    """GroupNorm, SiLU, conv; add the embedding of t (and the class); GroupNorm, SiLU, dropout, conv; + skip."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, *, dropout: float, groups: int) -> None:
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(groups, c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2, self.drop = nn.GroupNorm(groups, c_out), nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)  # each block starts as the identity: a deep U-Net trains from step one
        nn.init.zeros_(self.conv2.bias)  # type: ignore[arg-type]  # Conv2d(bias=True) has one
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))  # (B, C_out, H, W)
        h = h + self.emb(F.silu(emb))[:, :, None, None]  # (B, C_out, 1, 1): the same shift at every pixel
        h = self.conv2(self.drop(F.silu(self.norm2(h))))
        return self.skip(x) + h


class SpatialTransformer(nn.Module):
    """A TransformerBlock over the H·W pixels as a sequence: self-attention, [cross-attention], MLP."""

    def __init__(
        self, channels: int, *, n_heads: int, context_dim: int | None, dropout: float, positions: int | None = None
    ) -> None:
        super().__init__()
        self.block = TransformerBlock(
            BlockConfig(n_embd=channels, n_head=n_heads, dropout=dropout, context_dim=context_dim)
        )
        # Attention itself is blind to where a pixel is (chapter 9); convolutions only hint at it through the
        # border. A learned vector per position lets a caption's "top left" find its pixels.
        self.pos = nn.Parameter(torch.randn(positions, channels) * 0.02) if positions else None

    def forward(
        self, x: torch.Tensor, context: torch.Tensor | None = None, context_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        B, C, H, W = x.shape
        h = x.flatten(2).transpose(1, 2)  # (B, H*W, C): one token per pixel
        if self.pos is not None:
            if self.pos.size(0) != H * W:
                raise ValueError(
                    f"This attention layer learned positions for {self.pos.size(0)} pixels, got "
                    f"{H}x{W}; images must have the U-Net's image_shape."
                )
            h = h + self.pos  # (B, H*W, C) + (H*W, C)
        h = self.block(h, context, context_padding_mask=context_mask)
        return h.transpose(1, 2).reshape(B, C, H, W)  # (B, C, H, W)


class _Stage(nn.Module):
    """A residual block, optionally followed by a spatial transformer and (in a video U-Net) a temporal layer."""

    def __init__(self, res: ResBlock, attn: SpatialTransformer | None) -> None:
        super().__init__()
        self.res, self.attn = res, attn
        self.temporal: nn.Module | None = None  # set by genai_lib.models.video_diffusion.VideoUNet

    def forward(self, x, emb, context=None, context_mask=None):
        x = self.res(x, emb)
        x = x if self.attn is None else self.attn(x, context, context_mask)
        return x if self.temporal is None else self.temporal(x)


class Downsample(nn.Module):
    """A stride-2 3x3 convolution: (B, C, H, W) -> (B, C, H/2, W/2)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x, emb=None, context=None, context_mask=None):
        return self.conv(x)


class Upsample(nn.Module):
    """Nearest-neighbour upsampling then a 3x3 convolution (no checkerboard): (B, C, H, W) -> (B, C, 2H, 2W)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x, emb=None, context=None, context_mask=None):
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class UNet(nn.Module):
    """ε_θ(x_t, t, cond): predicts the noise in x_t; cond is labels (B,), a context (B, S, D) or (context, mask)."""

    def __init__(self, config: UNetConfig) -> None:
        super().__init__()
        self.config = cfg = config
        C, L = cfg.base_channels, len(cfg.channel_mults)
        emb_dim = 4 * C
        kw: dict[str, Any] = {"dropout": cfg.dropout, "groups": cfg.norm_groups}
        self.time_mlp = nn.Sequential(nn.Linear(C, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        # One extra row: the null class n_classes, which classifier-free guidance trains with label dropout.
        self.class_emb = nn.Embedding(cfg.n_classes + 1, emb_dim) if cfg.n_classes else None

        # A pooled caption reaches every residual block, as Imagen and SDXL add a pooled text embedding to t's:
        # a global attribute (a colour) need not squeeze through the few pixels where cross-attention runs.
        self.context_emb = nn.Linear(cfg.context_dim, emb_dim) if cfg.pooled_context and cfg.context_dim else None

        def attn(ch: int, level: int) -> SpatialTransformer | None:
            if not cfg.attention or level < L - cfg.attention_levels:
                return None
            return SpatialTransformer(
                ch,
                n_heads=cfg.n_heads,
                context_dim=cfg.context_dim,
                dropout=cfg.dropout,
                positions=(cfg.image_shape[1] >> level) * (cfg.image_shape[2] >> level)
                if cfg.attention_positions
                else None,
            )

        self.conv_in = nn.Conv2d(cfg.image_shape[0], C, 3, padding=1)
        self.down, skips, ch = nn.ModuleList(), [C], C
        for i, mult in enumerate(cfg.channel_mults):
            for _ in range(cfg.num_res_blocks):
                self.down.append(_Stage(ResBlock(ch, C * mult, emb_dim, **kw), attn(C * mult, i)))
                ch = C * mult
                skips.append(ch)
            if i < L - 1:
                self.down.append(Downsample(ch))
                skips.append(ch)
        self.mid = nn.ModuleList(
            [_Stage(ResBlock(ch, ch, emb_dim, **kw), attn(ch, L - 1)), _Stage(ResBlock(ch, ch, emb_dim, **kw), None)]
        )
        self.up = nn.ModuleList()
        for i, mult in reversed(list(enumerate(cfg.channel_mults))):
            for _ in range(cfg.num_res_blocks + 1):  # one more than going down: the Downsample's skip too
                self.up.append(_Stage(ResBlock(ch + skips.pop(), C * mult, emb_dim, **kw), attn(C * mult, i)))
                ch = C * mult
            if i > 0:
                self.up.append(Upsample(ch))
        self.norm_out = nn.GroupNorm(cfg.norm_groups, ch)
        self.conv_out = nn.Conv2d(ch, cfg.image_shape[0], 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)  # predicts ε = 0 at first: the loss starts at E[ε²] = 1
        nn.init.zeros_(self.conv_out.bias)  # type: ignore[arg-type]  # Conv2d(bias=True) has one

    @property
    def null_cond(self) -> int | None:
        """The null class index for classifier-free guidance (n_classes), or None without labels."""
        return self.config.n_classes if self.config.n_classes else None

    def forward(
        self, x_t: torch.Tensor, t: torch.Tensor | int, cond=None, *, emb_offset: torch.Tensor | None = None
    ) -> torch.Tensor:
        """x_t (B, C, H, W), t (B,) or a scalar, cond as in the class docstring -> predicted ε (B, C, H, W);
        emb_offset (B, 4 base_channels), if given, joins the time embedding (a video U-Net's frame vectors)."""
        cfg = self.config
        if x_t.dim() != 4 or tuple(x_t.shape[1:]) != cfg.image_shape:
            raise ValueError(
                f"The U-Net expects x_t of shape (B, {', '.join(map(str, cfg.image_shape))}) (its "
                f"image_shape), got {tuple(x_t.shape)}."
            )
        B = x_t.size(0)
        t = torch.as_tensor(t, device=x_t.device)
        t = t.expand(B) if t.dim() == 0 else t
        if tuple(t.shape) != (B,):
            raise ValueError(f"t must be a scalar or have shape (B,) = ({B},), got {tuple(t.shape)}.")
        emb = self.time_mlp(timestep_embedding(t, cfg.base_channels))  # (B, 4C)
        emb = emb if emb_offset is None else emb + emb_offset
        context, context_mask = self._condition(cond, B)
        if self.class_emb is not None:
            labels = torch.full((B,), cfg.n_classes, device=x_t.device) if cond is None else cond  # None: null class
            emb = emb + self.class_emb(labels)  # (B, 4C)
        if self.context_emb is not None and context is not None:
            keep = torch.ones_like(context[..., 0]) if context_mask is None else (~context_mask).to(context.dtype)
            pooled = (context * keep[..., None]).sum(1) / keep.sum(1, keepdim=True)  # (B, D): mean over the tokens
            emb = emb + self.context_emb(pooled)  # (B, 4C)

        h = self.conv_in(x_t)  # (B, C, H, W)
        hs = [h]
        for block in self.down:
            h = block(h, emb, context, context_mask)
            hs.append(h)
        for block in self.mid:
            h = block(h, emb, context, context_mask)
        for block in self.up:
            if isinstance(block, _Stage):
                h = torch.cat([h, hs.pop()], dim=1)  # (B, C_h + C_skip, H', W')
            h = block(h, emb, context, context_mask)
        return self.conv_out(F.silu(self.norm_out(h)))  # (B, C_img, H, W)

    def _condition(self, cond, B: int) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Check cond against the config; returns (context, context_mask) for the attention blocks."""
        cfg = self.config
        if cfg.n_classes:
            if cond is None:
                return None, None
            if not isinstance(cond, torch.Tensor) or cond.is_floating_point() or tuple(cond.shape) != (B,):
                raise ValueError(
                    f"This U-Net is class-conditional: cond must be integer labels of shape ({B},), got "
                    f"{getattr(cond, 'dtype', type(cond).__name__)} {tuple(getattr(cond, 'shape', ()))}."
                )
            if cond.min() < 0 or cond.max() > cfg.n_classes:
                raise ValueError(
                    f"Labels must lie in [0, {cfg.n_classes}) ({cfg.n_classes} itself is the null class "
                    f"for guidance), got values from {int(cond.min())} to {int(cond.max())}."
                )
            return None, None
        if cfg.context_dim is not None:
            context, mask = cond if isinstance(cond, tuple) else (cond, None)
            if (
                not isinstance(context, torch.Tensor)
                or context.dim() != 3
                or context.size(0) != B
                or context.size(-1) != cfg.context_dim
            ):
                got = tuple(context.shape) if isinstance(context, torch.Tensor) else type(context).__name__
                raise ValueError(
                    f"This U-Net cross-attends to a context of shape (B, S, context_dim) = ({B}, S, "
                    f"{cfg.context_dim}), got {got}. Pass the caption encoder's output (or the null "
                    "context), optionally as (context, key_padding_mask)."
                )
            return context.to(self.conv_in.weight.dtype), mask
        if cond is not None:
            raise ValueError(
                "This U-Net is unconditional (n_classes=0, context_dim=None) but cond was passed; "
                "build it with UNetConfig(n_classes=...) or UNetConfig(context_dim=...)."
            )
        return None, None
