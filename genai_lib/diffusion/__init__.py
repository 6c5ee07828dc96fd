"""Denoising diffusion (Ho et al., 2020), split as diffusers splits it.

- `schedule`: `NoiseSchedule`, the mathematics of the process and nothing else: β and ᾱ, `add_noise`
  (q(x_t | x_0)), the posterior, the ε-prediction `loss`, `timesteps` and one reverse `step` (DDPM, DDIM).
- `sampling`: `sample_diffusion`, the loop from x_T to x_0 that calls the network at each of the schedule's
  timesteps and hands its prediction to `step`, with classifier-free guidance (`predict_eps`).
- `training`: `diffusion_step`, the step function for `genai_lib.fit` (loss, optimiser step, EMA update),
  and `ema_decay`, the one rule for the EMA's decay.
- `conditions`: what a denoiser is conditioned on (labels, a context and its mask) and its null condition.

The network is never inside: every function takes it as an argument.
"""

from genai_lib.diffusion.conditions import Cond
from genai_lib.diffusion.sampling import predict_eps, sample_diffusion
from genai_lib.diffusion.schedule import KINDS, SAMPLERS, NoiseSchedule
from genai_lib.diffusion.training import diffusion_step, ema_decay

__all__ = [
    "KINDS",
    "SAMPLERS",
    "Cond",
    "NoiseSchedule",
    "diffusion_step",
    "ema_decay",
    "predict_eps",
    "sample_diffusion",
]
