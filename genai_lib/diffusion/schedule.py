"""The noise schedule of denoising diffusion (Ho et al., 2020): q(x_t | x_0), its posterior, the loss, one step.

As a diffusers scheduler does, `NoiseSchedule` holds the mathematics of one step (`add_noise`, `step`,
`timesteps`); the loop from x_T to x_0 lives in `genai_lib.diffusion.sampling`. No network lives here: `loss`
takes the network as an argument, called as `model(x_t, t)` or `model(x_t, t, cond)`, so one process serves
every denoiser (improved-diffusion's habit); `prediction` says whether that network predicts ε or v. Timesteps
are 0-based: code index t in [0, T) is the paper's t + 1, and t_prev = -1 means "x_0".
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from genai_lib.diffusion.conditions import Cond, check_cond, null_like, where_dropped
from genai_lib.rng import rand, randint, randn

KINDS = ("linear", "cosine")
SAMPLERS = ("ddpm", "ddim")
PREDICTIONS = ("epsilon", "v")


def _betas(
    T: int, kind: str, beta_start: float | None, beta_end: float | None, s: float, max_beta: float
) -> torch.Tensor:
    """β_1..β_T in float64 (improved-diffusion: "use float64 for accuracy")."""
    if kind == "linear":
        scale = 1000 / T  # Ho et al.'s 1e-4..0.02 are for T = 1000; scaling keeps ᾱ_T near 0 for any T
        lo = beta_start if beta_start is not None else 1e-4 * scale
        hi = beta_end if beta_end is not None else 0.02 * scale
        return torch.linspace(lo, hi, T, dtype=torch.float64)
    # Cosine (Nichol & Dhariwal, 2021): ᾱ(t) = f(t) / f(0), f(t) = cos²((t/T + s) / (1 + s) · π/2).
    f = torch.cos((torch.arange(T + 1, dtype=torch.float64) / T + s) / (1 + s) * math.pi / 2) ** 2
    return (1 - f[1:] / f[:-1]).clamp(max=max_beta)  # the clip avoids β = 1 (a singularity) at t = T


@dataclass
class NoiseSchedule:
    """The forward process q(x_t | x_0) and its reverse steps; config fields first, derived tensors after."""

    num_timesteps: int = 1000  # T
    kind: str = "linear"  # "linear" (Ho et al., 2020) or "cosine" (Nichol & Dhariwal, 2021)
    beta_start: float | None = None  # linear only; None: 1e-4 · 1000/T
    beta_end: float | None = None  # linear only; None: 0.02 · 1000/T
    cosine_s: float = 0.008  # cosine only: the offset s that keeps β_1 from being tiny
    max_beta: float = 0.999  # cosine only: the clip on β_t
    prediction: str = "epsilon"  # what the network predicts: the noise ε (Ho et al.) or v (Salimans & Ho, 2022)

    def __post_init__(self) -> None:
        T = self.num_timesteps
        if isinstance(T, bool) or not isinstance(T, int) or T < 1:
            raise ValueError(f"num_timesteps must be a positive integer, got {T!r}.")
        if self.kind not in KINDS:
            raise ValueError(f"Unknown schedule kind {self.kind!r}; choose one of {KINDS}.")
        if self.prediction not in PREDICTIONS:
            raise ValueError(f"Unknown prediction {self.prediction!r}; choose one of {PREDICTIONS}.")
        betas = _betas(T, self.kind, self.beta_start, self.beta_end, self.cosine_s, self.max_beta)
        if not (betas > 0).all() or not (betas < 1).all():
            raise ValueError(
                f"The {self.kind} schedule with T={T} has β outside (0, 1) (from {betas.min():.3g} to "
                f"{betas.max():.3g}); use more timesteps, other beta_start/beta_end, or kind='cosine'."
            )
        alphas = 1 - betas
        alpha_bar = alphas.cumprod(0)
        alpha_bar_prev = torch.cat([torch.ones(1, dtype=torch.float64), alpha_bar[:-1]])  # ᾱ_0 = 1
        # Stored float32 (the networks' dtype); not dataclass fields, so repr and asdict show only the config.
        self.betas, self.alphas, self.alpha_bar = betas.float(), alphas.float(), alpha_bar.float()
        self.posterior_variance = (betas * (1 - alpha_bar_prev) / (1 - alpha_bar)).float()  # β̃_t
        self._betas64, self._alpha_bar64 = betas, alpha_bar
        self._cache: dict[torch.device, torch.Tensor] = {}

    # ----- small helpers ------------------------------------------------------------------------------------

    def _ab(self, t: torch.Tensor | int, x: torch.Tensor) -> torch.Tensor:
        """ᾱ_t (with ᾱ at t = -1 equal to 1) on x's device, shaped to broadcast over x: (B, 1, ..., 1)."""
        if x.device not in self._cache:
            self._cache[x.device] = torch.cat([torch.ones(1), self.alpha_bar]).to(x.device)  # index t + 1
        t = torch.as_tensor(t, device=x.device)
        return self._cache[x.device][t.long() + 1].to(x.dtype).reshape(-1, *[1] * (x.dim() - 1))

    def _check_t(self, t: torch.Tensor | int, B: int | None = None, *, allow_minus_one: bool = False) -> None:
        t = torch.as_tensor(t)
        if t.is_floating_point() or t.is_complex():
            raise ValueError(f"Timesteps must be integers in [0, {self.num_timesteps}), got dtype {t.dtype}.")
        lo = -1 if allow_minus_one else 0
        if t.numel() and (t.min() < lo or t.max() >= self.num_timesteps):
            raise ValueError(
                f"Timestep out of range: got values from {int(t.min())} to {int(t.max())}, but t must "
                f"lie in [{lo}, {self.num_timesteps}) (0-based; T = num_timesteps)."
            )
        if B is not None and t.dim() > 0 and tuple(t.shape) != (B,):
            raise ValueError(
                f"t must be a scalar or have shape (B,) = ({B},), one timestep per example; got {tuple(t.shape)}."
            )

    # ----- the forward process -------------------------------------------------------------------------------

    def add_noise(self, x_0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor | int) -> torch.Tensor:
        """x_t = sqrt(ᾱ_t) x_0 + sqrt(1 - ᾱ_t) ε, a draw from q(x_t | x_0) (Ho et al., 2020, eq. 4)."""
        if eps.shape != x_0.shape:
            raise ValueError(f"eps must have the shape of x_0 {tuple(x_0.shape)}, got {tuple(eps.shape)}.")
        self._check_t(t, x_0.size(0))
        ab = self._ab(t, x_0)
        return ab.sqrt() * x_0 + (1 - ab).sqrt() * eps

    def pred_x0(self, x_t: torch.Tensor, model_output: torch.Tensor, t: torch.Tensor | int) -> torch.Tensor:
        """x̂_0 from the network's ε̂ or v̂ (whichever `prediction` says), one timestep per example or one for all."""
        self._check_t(t, x_t.size(0))
        return self._x0_of(model_output, x_t, self._ab(t, x_t))

    def posterior(
        self, x_0: torch.Tensor, x_t: torch.Tensor, t: int, t_prev: int | None = None
    ) -> tuple[torch.Tensor, float]:
        """Mean μ̃ and variance β̃ of q(x_{t_prev} | x_t, x_0) (Ho et al., eq. 7); t_prev = t - 1 by default.

        For a stride t_prev < t - 1 the one-step β is replaced by 1 - ᾱ_t / ᾱ_{t_prev} (respacing, Nichol &
        Dhariwal, 2021). The coefficients are float64 scalars: in float32, 1 - ᾱ_t / ᾱ_{t-1} near t = 0 would
        keep only three digits. Returns the mean (shape of x_t) and the variance (a float).
        """
        t = self._scalar_t(t)
        t_prev = t - 1 if t_prev is None else self._scalar_t(t_prev, allow_minus_one=True)
        if not t_prev < t:
            raise ValueError(f"t_prev must be smaller than t (sampling goes backwards), got t={t}, t_prev={t_prev}.")
        ab, ab_prev = self._ab64(t), self._ab64(t_prev)
        beta = float(self._betas64[t]) if t_prev == t - 1 else 1 - ab / ab_prev
        c0 = beta * math.sqrt(ab_prev) / (1 - ab)  # coefficient of x_0
        ct = (1 - ab_prev) * math.sqrt(1 - beta) / (1 - ab)  # coefficient of x_t
        return c0 * x_0 + ct * x_t, beta * (1 - ab_prev) / (1 - ab)

    def _x0_of(self, output: torch.Tensor, x_t: torch.Tensor, ab: float | torch.Tensor) -> torch.Tensor:
        """x̂_0 from ε̂ (add_noise solved for x_0) or from v̂; ᾱ_t is a float64 scalar or a broadcastable tensor.

        From ε̂ it divides by sqrt(ᾱ_t), which is near 0 at t = T - 1 and multiplies every error of ε̂;
        from v̂ it is a weighted difference, never a division.
        """
        if self.prediction == "epsilon":
            return (x_t - (1 - ab) ** 0.5 * output) / ab**0.5
        return ab**0.5 * x_t - (1 - ab) ** 0.5 * output

    def _ab64(self, t: int) -> float:
        return 1.0 if t < 0 else float(self._alpha_bar64[t])

    def _scalar_t(self, t, allow_minus_one: bool = False) -> int:
        if isinstance(t, torch.Tensor) and t.numel() != 1:
            raise ValueError(f"step and posterior take one timestep for the whole batch, got shape {tuple(t.shape)}.")
        self._check_t(t, allow_minus_one=allow_minus_one)
        return int(t)

    # ----- training --------------------------------------------------------------------------------------------

    def loss(
        self,
        model: Callable[..., torch.Tensor],
        x_0: torch.Tensor,
        *,
        cond: Cond = None,
        p_uncond: float = 0.0,
        null_cond: Cond = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """The simple loss E_{t, ε} ||ε - ε_θ(x_t, t)||² (Ho et al., eq. 14), t uniform on [0, T).

        With prediction="v" the target is v = sqrt(ᾱ_t) ε - sqrt(1 - ᾱ_t) x_0 instead (Salimans & Ho, 2022).

        With `p_uncond` > 0, each example's `cond` is replaced by `null_cond` at that rate, so one network also
        learns the unconditional ε for classifier-free guidance (Ho & Salimans, 2022).
        """
        if x_0.dim() < 2:
            raise ValueError(f"x_0 must be a batch (B, ...) of examples, got shape {tuple(x_0.shape)}.")
        if not 0.0 <= p_uncond <= 1.0:
            raise ValueError(f"p_uncond is a probability, got {p_uncond}.")
        B, dev = x_0.size(0), x_0.device
        t = randint(self.num_timesteps, (B,), generator, dev)
        eps = randn(x_0.shape, generator, dev)
        ab = self._ab(t, x_0)  # add_noise without its range check, which would sync a GPU every step
        x_t = ab.sqrt() * x_0 + (1 - ab).sqrt() * eps
        if cond is not None:
            check_cond(cond, B)
            if p_uncond > 0:
                if null_cond is None:
                    raise ValueError(
                        "p_uncond > 0 needs the null condition: pass null_cond= (for class labels the "
                        "extra index n_classes, for contexts the null context)."
                    )
                drop = rand((B,), generator, dev) < p_uncond
                cond = where_dropped(drop, null_like(null_cond, cond), cond)
        out = model(x_t, t) if cond is None else model(x_t, t, cond)
        if out.shape != eps.shape:
            raise ValueError(
                f"The network must predict {'ε' if self.prediction == 'epsilon' else 'v'} with the shape of x_t "
                f"{tuple(eps.shape)}, got {tuple(out.shape)}."
            )
        target = eps if self.prediction == "epsilon" else ab.sqrt() * eps - (1 - ab).sqrt() * x_0
        return F.mse_loss(out.float(), target.float())

    # ----- sampling ------------------------------------------------------------------------------------------

    def timesteps(self, num_inference_steps: int | None = None) -> torch.Tensor:
        """The descending timesteps a sampler visits: evenly spaced from T-1 down to 0 (all T by default)."""
        T = self.num_timesteps
        n = T if num_inference_steps is None else num_inference_steps
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= T:
            raise ValueError(
                f"num_inference_steps must be an integer in [1, T={T}], got {n!r}; "
                "a sampler can skip timesteps but cannot visit more than T of them."
            )
        if n == 1:
            return torch.tensor([T - 1])
        i = torch.arange(n)
        return ((2 * i * (T - 1) + n - 1) // (2 * (n - 1))).flip(0)  # round(i (T-1)/(n-1)), in integers

    def step(
        self,
        model_output: torch.Tensor,
        t: int,
        x_t: torch.Tensor,
        *,
        t_prev: int | None = None,
        sampler: str = "ddpm",
        eta: float = 0.0,
        clip_sample: float | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """One reverse step x_t -> x_{t_prev} from the network's ε̂ or v̂ (model_output); t_prev = t - 1 by default.

        "ddpm": ancestral sampling, x_prev ~ N(μ̃(x̂_0, x_t), β̃) with the posterior variance β̃ (Ho et al.'s
        "fixed small" choice). "ddim" (Song et al., 2021): x_prev = sqrt(ᾱ_prev) x̂_0 + sqrt(1 - ᾱ_prev - σ²) ε
        + σ z with σ = η sqrt(β̃); η = 0 is deterministic, η = 1 is DDPM. `clip_sample` clips x̂_0 to ±clip.
        """
        if sampler not in SAMPLERS:
            raise ValueError(f"Unknown sampler {sampler!r}; choose one of {SAMPLERS}.")
        if model_output.shape != x_t.shape:
            raise ValueError(
                f"model_output must have the shape of x_t {tuple(x_t.shape)}, got {tuple(model_output.shape)}."
            )
        t = self._scalar_t(t)
        t_prev = t - 1 if t_prev is None else self._scalar_t(t_prev, allow_minus_one=True)
        ab = self._ab64(t)
        x0 = self._x0_of(model_output, x_t, ab)
        if clip_sample is not None:
            x0 = x0.clamp(-clip_sample, clip_sample)
        mean, var = self.posterior(x0, x_t, t, t_prev)
        if sampler == "ddim":
            ab_prev = self._ab64(t_prev)
            var = eta**2 * var
            if clip_sample is None:  # ε̂ = ε̂, or sqrt(1 - ᾱ) x_t + sqrt(ᾱ) v̂ from v̂: no division
                eps = model_output if self.prediction == "epsilon" else (1 - ab) ** 0.5 * x_t + ab**0.5 * model_output
            else:  # the ε that agrees with the clipped x̂_0
                eps = (x_t - math.sqrt(ab) * x0) / math.sqrt(1 - ab)
            mean = math.sqrt(ab_prev) * x0 + math.sqrt(max(1 - ab_prev - var, 0.0)) * eps
        if t_prev < 0 or var == 0.0:
            return mean  # the last step returns the mean: no noise is added to x_0
        return mean + math.sqrt(var) * randn(x_t.shape, generator, x_t.device)

    def sample(self, model: Callable[..., torch.Tensor], shape: tuple[int, ...], **kwargs: Any):
        """Deprecated: use `genai_lib.diffusion.sample_diffusion(model, schedule, shape, ...)`."""
        warnings.warn(
            "NoiseSchedule.sample is deprecated and will be removed in the next release; use "
            "genai_lib.diffusion.sample_diffusion(model, schedule, shape, ...) instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        from genai_lib.diffusion.sampling import sample_diffusion  # here: that module imports this one

        return sample_diffusion(model, self, shape, **kwargs)
