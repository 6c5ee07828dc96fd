"""A style-based generator (Karras et al., 2019; 2020): mapping network, styled synthesis, noise, skip to-RGB outputs.

The synthesis network starts from a learned constant 4x4 input and doubles the resolution up to the image
size. Every 3x3 conv is one *style layer* with its own w (rows of ws (B, n_style_layers, w_dim)), which is
what style mixing swaps. Each resolution's 1x1 to-RGB image is upsampled and summed into the output
(StyleGAN 2's skip generator, used here for both modulations so they differ only in how w enters).
Images live in [-1, 1]: with `tanh=True` (the default) the sum ends in tanh, as the book's DCGAN does;
StyleGAN itself has no tanh and clips its outputs for display (`tanh=False`).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import torch
from torch import nn

from genai_lib.models.stylegan.layers import MODULATIONS, StyleLayer, ToRGB, upsample2x
from genai_lib.models.stylegan.mapping import MappingNetwork
from genai_lib.models.stylegan.noise import check_noise_map
from genai_lib.nn.modes import evaluating
from genai_lib.rng import randn

NoiseMaps = list[torch.Tensor | None]


@dataclass
class StyleGANConfig:
    image_shape: tuple[int, int, int] = (3, 32, 32)  # (C, H, H), H a power of two >= 8
    latent_dim: int = 128  # z
    w_dim: int = 128  # w, the intermediate latent
    mapping_layers: int = 4  # the paper has 8; StyleGAN2-ADA uses 2 for CIFAR-10
    width: int = 32  # channels at the image resolution, doubled at every halving toward 4x4 ...
    max_channels: int = 128  # ... up to this cap
    modulation: str = "demod"  # "adain" (StyleGAN 1) or "demod" (StyleGAN 2's weight demodulation)
    tanh: bool = True  # squash the summed to-RGB outputs into [-1, 1]

    def __post_init__(self) -> None:
        self.image_shape = tuple(self.image_shape)  # type: ignore[assignment]
        shape = self.image_shape
        if len(shape) != 3 or shape[1] != shape[2]:
            raise ValueError(f"StyleGAN makes square images (C, H, H); got image_shape {shape}.")
        H = shape[1]
        if H < 8 or H & (H - 1):
            raise ValueError(
                f"StyleGAN's generator starts at 4x4 and doubles, so the image side must be a power of two >= 8 "
                f"(8, 16, 32, 64...); got {H}x{H}. Resize or pad the data (28x28 digits: pad to 32x32)."
            )
        if self.modulation not in MODULATIONS:
            raise ValueError(f"Unknown modulation {self.modulation!r}; choose one of {MODULATIONS}.")
        for name in ("latent_dim", "w_dim", "mapping_layers", "width", "max_channels"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}.")

    @property
    def resolutions(self) -> list[int]:
        """4, 8, ..., H: the side of the feature maps at each stage."""
        return [4 * 2**i for i in range(self.image_shape[1].bit_length() - 2)]

    def channels(self, resolution: int) -> int:
        """Feature channels at a resolution: `width` at the image size, doubling per halving, capped."""
        return min(self.width * (self.image_shape[1] // resolution), self.max_channels)


class StyleGenerator(nn.Module):
    """G(z) = synthesis(mapping(z)): z (B, latent_dim) -> images (B, C, H, W) (Karras et al., 2019; 2020)."""

    def __init__(self, config: StyleGANConfig) -> None:
        super().__init__()
        self.config = c = config
        self.mapping = MappingNetwork(c.latent_dim, c.w_dim, c.mapping_layers)
        ch = [c.channels(r) for r in c.resolutions]
        self.const = nn.Parameter(torch.randn(1, ch[0], 4, 4))  # the learned constant input
        kw = dict(modulation=c.modulation)
        layers = [StyleLayer(ch[0], ch[0], c.w_dim, upsample=False, **kw)]
        to_rgb = [ToRGB(ch[0], c.image_shape[0], c.w_dim, **kw)]
        for prev, cur in zip(ch, ch[1:], strict=False):
            layers += [
                StyleLayer(prev, cur, c.w_dim, upsample=True, **kw),
                StyleLayer(cur, cur, c.w_dim, upsample=False, **kw),
            ]
            to_rgb.append(ToRGB(cur, c.image_shape[0], c.w_dim, **kw))
        self.layers, self.to_rgb = nn.ModuleList(layers), nn.ModuleList(to_rgb)

    @property
    def n_style_layers(self) -> int:
        """How many w the synthesis network reads: one per 3x3 conv (1 at 4x4, then 2 per resolution)."""
        return len(self.layers)

    @property
    def noise_shapes(self) -> list[tuple[int, int, int]]:
        """(1, H, W) of each style layer's noise map, in layer order."""
        return [(1, 4, 4)] + [(1, r, r) for r in self.config.resolutions[1:] for _ in range(2)]

    @property
    def w_avg(self) -> torch.Tensor:
        """The running mean of w (w_dim,), kept by the mapping network in training mode."""
        return self.mapping.w_avg

    def truncate(self, w: torch.Tensor, psi: float) -> torch.Tensor:
        """The truncation trick w_avg + psi (w - w_avg): psi < 1 trades variety for typical, cleaner images."""
        return self.mapping.truncate(w, psi)

    def make_noise(self, n: int = 1, *, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """Fresh noise maps, one (n, 1, H, W) per style layer, on G's device; n = 1 shares them across a batch."""
        device = self.const.device
        return [randn((n, *shape), generator, device) for shape in self.noise_shapes]

    def mix_styles(self, w1: torch.Tensor, w2: torch.Tensor, crossover: int) -> torch.Tensor:
        """Style mixing: ws with w1 in layers [0, crossover) and w2 in [crossover, n_style_layers).

        w1, w2: (B, w_dim) or (B, n_style_layers, w_dim) -> ws (B, n_style_layers, w_dim). Coarse layers
        (low resolution) come first, so a small crossover takes only the coarse styles from w1.
        """
        n = self.n_style_layers
        if isinstance(crossover, bool) or not isinstance(crossover, numbers.Integral) or not 0 <= crossover <= n:
            raise ValueError(
                f"crossover must be an integer in [0, {n}] (this generator has {n} style layers), got {crossover!r}: "
                f"0 takes every style from w2, {n} every style from w1."
            )
        ws1, ws2 = self._broadcast(w1, "w1"), self._broadcast(w2, "w2")
        if ws1.shape != ws2.shape:
            raise ValueError(f"w1 and w2 must have the same batch size, got {tuple(w1.shape)} and {tuple(w2.shape)}.")
        k = int(crossover)
        return torch.cat([ws1[:, :k], ws2[:, k:]], dim=1)  # (B, n_style_layers, w_dim)

    def synthesis(self, ws: torch.Tensor, noise: NoiseMaps | None = None) -> torch.Tensor:
        """The synthesis network: ws (B, n_style_layers, w_dim) [and noise maps] -> images (B, C, H, W)."""
        n, w_dim = self.n_style_layers, self.config.w_dim
        if ws.dim() != 3 or ws.shape[1:] != (n, w_dim):
            raise ValueError(
                f"synthesis expects ws of shape (B, {n}, {w_dim}), one w per style layer; got {tuple(ws.shape)}. "
                "Repeat one w with w[:, None].expand(-1, G.n_style_layers, -1), or use G.mix_styles."
            )
        noise = self._check_noise(noise, len(ws))
        x = self.const.expand(len(ws), -1, -1, -1)  # (B, C_4, 4, 4)
        rgb = None
        for i, layer in enumerate(self.layers):
            x = layer(x, ws[:, i], noise[i])  # (B, C_r, r, r)
            if i % 2 == 0:  # the last conv of a resolution: add its picture to the upsampled running image
                y = self.to_rgb[i // 2](x, ws[:, i])  # (B, C, r, r)
                rgb = y if rgb is None else upsample2x(rgb) + y
        assert rgb is not None
        return torch.tanh(rgb) if self.config.tanh else rgb

    def forward(
        self,
        z: torch.Tensor,
        *,
        psi: float = 1.0,
        mix: tuple[torch.Tensor, int] | None = None,
        noise: NoiseMaps | None = None,
    ) -> torch.Tensor:
        """G(z): images (B, C, H, W). psi truncates w; mix=(z2, crossover) takes styles from crossover on from z2."""
        w = self.mapping(z)  # (B, w_dim)
        if psi != 1.0:
            w = self.truncate(w, psi)
        if mix is None:
            ws = w[:, None].expand(-1, self.n_style_layers, -1)  # (B, n_style_layers, w_dim)
        else:
            z2, crossover = mix
            if z2.shape != z.shape:
                raise ValueError(f"mix=(z2, crossover) needs z2 shaped like z {tuple(z.shape)}, got {tuple(z2.shape)}.")
            w2 = self.mapping(z2)
            ws = self.mix_styles(w, self.truncate(w2, psi) if psi != 1.0 else w2, crossover)
        return self.synthesis(ws, noise)

    @torch.no_grad()
    def sample(self, n: int, *, psi: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """n images G(z), z ~ N(0, I), in eval mode (w_avg is left alone), on G's device; z and noise from generator."""
        with evaluating(self):
            z = randn((n, self.config.latent_dim), generator, self.const.device)
            return self(z, psi=psi, noise=self.make_noise(n, generator=generator))

    def _broadcast(self, w: torch.Tensor, name: str) -> torch.Tensor:
        n, w_dim = self.n_style_layers, self.config.w_dim
        if w.dim() == 2 and w.shape[1] == w_dim:
            return w[:, None].expand(-1, n, -1)  # (B, n, w_dim)
        if w.dim() == 3 and w.shape[1:] == (n, w_dim):
            return w
        raise ValueError(f"{name} must have shape (B, {w_dim}) or (B, {n}, {w_dim}), got {tuple(w.shape)}.")

    def _check_noise(self, noise: NoiseMaps | None, batch: int) -> NoiseMaps:
        """None -> fresh noise in every layer; else a list with one map (or None, for fresh noise) per style layer."""
        n = self.n_style_layers
        if noise is None:
            return [None] * n
        if not isinstance(noise, (list, tuple)) or len(noise) != n:
            got = f"a list of {len(noise)}" if isinstance(noise, (list, tuple)) else type(noise).__name__
            raise ValueError(
                f"noise must be a list of {n} maps, one per style layer, of shapes {self.noise_shapes} with batch "
                f"{batch} or 1; got {got}. Make them with G.make_noise({batch})."
            )
        for i, (m, (_, H, W)) in enumerate(zip(noise, self.noise_shapes, strict=True)):
            if m is not None:
                check_noise_map(m, batch, H, W, where=f"style layer {i} ({H}x{W})")
        return list(noise)
