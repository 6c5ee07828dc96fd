"""Style-based GANs (Karras et al., 2019; Karras et al., 2020), in small parts.

- `mapping`: `pixel_norm` and the `MappingNetwork` z -> w, with `w_avg` for the truncation trick.
- `modulation`: `adain`/`AdaIN` (StyleGAN 1) and `ModulatedConv2d` with `demodulate` (StyleGAN 2).
- `noise`: `NoiseInjection`, per-pixel noise scaled per channel.
- `layers`: a synthesis layer (`StyleLayer`) and a resolution's `ToRGB`.
- `generator`: `StyleGANConfig` and `StyleGenerator` (forward, synthesis, mix_styles, truncate, make_noise, sample).
- `step`: `stylegan_step`, the step function for `genai_lib.fit`; the R1 penalty is `genai_lib.losses.r1_penalty`.

The discriminator is the book's DCGAN one: `Discriminator(GANConfig(data_shape=(3, 32, 32), width=32))`.
"""

from genai_lib.losses import r1_penalty
from genai_lib.models.stylegan.equalized import EqualLinear, scaled_lrelu
from genai_lib.models.stylegan.generator import StyleGANConfig, StyleGenerator
from genai_lib.models.stylegan.layers import MODULATIONS, StyleLayer, ToRGB
from genai_lib.models.stylegan.mapping import MappingNetwork, pixel_norm
from genai_lib.models.stylegan.modulation import AdaIN, ModulatedConv2d, adain, demodulate
from genai_lib.models.stylegan.noise import NoiseInjection
from genai_lib.models.stylegan.step import stylegan_step

__all__ = [
    "MODULATIONS",
    "AdaIN",
    "EqualLinear",
    "MappingNetwork",
    "ModulatedConv2d",
    "NoiseInjection",
    "StyleGANConfig",
    "StyleGenerator",
    "StyleLayer",
    "ToRGB",
    "adain",
    "demodulate",
    "pixel_norm",
    "r1_penalty",
    "scaled_lrelu",
    "stylegan_step",
]
