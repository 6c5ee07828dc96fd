"""An exponential moving average of a model's weights, the copy diffusion models sample with (Ho et al., 2020).

EMA is an nn.Module holding a frozen copy of the model, so passing it to `gl.fit` in the `models` dict
(`models={"model": net, "ema": ema}`) checkpoints and resumes it with everything else; call
`ema.update(net)` after each optimizer step, and sample with `ema` (it forwards to the copy).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from genai_lib.device import unwrap


class EMA(nn.Module):
    """θ_ema <- d θ_ema + (1 - d) θ after every update; with warmup, d = min(decay, (1 + n) / (10 + n)).

    The warm-up (TensorFlow's ExponentialMovingAverage with num_updates) lets the average forget the random
    initialisation in short runs: after n updates the averaged weights are on average about
    min(n / 10, 1 / (1 - decay)) updates old, not 1 / (1 - decay), and the initial weights' share is negligible.
    Buffers (BatchNorm statistics) are copied, not averaged.
    """

    num_updates: torch.Tensor  # a 0-d long buffer, so that it is checkpointed with the weights

    def __init__(self, model: nn.Module, decay: float = 0.999, *, warmup: bool = True) -> None:
        super().__init__()
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must be in [0, 1) (typically 0.99 to 0.9999), got {decay}.")
        self.decay, self.warmup = decay, warmup
        self.module = copy.deepcopy(unwrap(model)).eval()
        self.module.requires_grad_(False)
        # The model's config, so a checkpoint of an EMA of another model configuration is refused by name.
        self.config = getattr(self.module, "config", None)
        self.register_buffer("num_updates", torch.zeros((), dtype=torch.long))

    def extra_repr(self) -> str:
        return f"decay={self.decay}, warmup={self.warmup}, num_updates={int(self.num_updates)}"

    def current_decay(self) -> float:
        """The decay the next update uses."""
        n = int(self.num_updates)
        return min(self.decay, (1 + n) / (10 + n)) if self.warmup else self.decay

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the average toward `model`'s current weights (call after each optimizer step)."""
        d = self.current_decay()
        mine, theirs = self.module.state_dict(), unwrap(model).state_dict()
        if mine.keys() != theirs.keys():
            missing, extra = sorted(mine.keys() - theirs.keys()), sorted(theirs.keys() - mine.keys())
            raise ValueError(
                f"This EMA was made from another architecture: missing {missing[:5]}, unexpected "
                f"{extra[:5]}. Make the EMA from the model you train: EMA(model)."
            )
        params = {name for name, _ in self.module.named_parameters()}
        for name, avg in mine.items():
            new = theirs[name].detach()
            if avg.shape != new.shape:
                raise ValueError(
                    f"{name} has shape {tuple(new.shape)} in the model but {tuple(avg.shape)} in the EMA; "
                    "make the EMA from the model you train."
                )
            if avg.is_floating_point() and name in params:
                avg.lerp_(new.to(avg.dtype), 1.0 - d)  # avg + (1 - d)(θ - avg) = d avg + (1 - d) θ
            else:
                avg.copy_(new)
        self.num_updates += 1

    def train(self, mode: bool = True) -> EMA:
        """The average is never trained: its copy stays in eval mode (no dropout) whatever fit asks."""
        super().train(mode)
        self.module.eval()
        return self

    def forward(self, *args, **kwargs):
        """Run the averaged model: ema(x_t, t, cond) is the EMA network's prediction."""
        return self.module(*args, **kwargs)
