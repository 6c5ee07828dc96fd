"""The CNN of the book's judges: three conv-ReLU-pool stages to 128 features, and a linear head per attribute.

Part IV's attribute classifier reads images with it and chapter 19's sound judge reads mel images; both are
trained once by `fit_heads` on real examples of their own seed, and both answer `predict`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from genai_lib.nn.modes import evaluating


class JudgeCNN(nn.Module):
    """(B, C, H, W) -> {attribute: logits (B, number of its values)}, from features shared by all attributes."""

    def __init__(
        self, in_channels: int, height: int, width: int, values: Mapping[str, Sequence[str]], *, channels: int = 16
    ) -> None:
        super().__init__()
        if height % 8 or width % 8:
            raise ValueError(
                f"The judge halves its input three times: H and W must be multiples of 8, got {height}x{width}."
            )
        self.values = values
        c = channels
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, c, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # (B, c, H/2, W/2)
            nn.Conv2d(c, 2 * c, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # (B, 2c, H/4, W/4)
            nn.Conv2d(2 * c, 4 * c, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # (B, 4c, H/8, W/8)
            nn.Flatten(),
            nn.Linear(4 * c * (height // 8) * (width // 8), 128),
            nn.ReLU(),
        )
        self.heads = nn.ModuleDict({a: nn.Linear(128, len(vs)) for a, vs in values.items()})

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        f = self.body(x)  # (B, 128)
        return {a: head(f) for a, head in self.heads.items()}

    @torch.no_grad()
    def predict(self, x: torch.Tensor, batch_size: int = 500) -> dict[str, torch.Tensor]:
        """Predicted value index per attribute, {attribute: (N,)}, computed in eval mode batch by batch."""
        with evaluating(self):
            dev = next(self.parameters()).device
            parts = [self(x[i : i + batch_size].to(dev)) for i in range(0, len(x), batch_size)]
            return {a: torch.cat([p[a].argmax(1).cpu() for p in parts]) for a in self.values}


def fit_heads(
    model: JudgeCNN,
    inputs: torch.Tensor,
    labels: Mapping[str, torch.Tensor],
    *,
    steps: int,
    batch_size: int,
    lr: float = 2e-3,
) -> None:
    """Train every head at once: the sum of their cross-entropies on random batches, Adam under a one-cycle rate."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    for _ in range(steps):
        idx = torch.randint(len(inputs), (batch_size,))
        logits = model(inputs[idx])
        # Summed from a 0-d zero, as sum() adds from 0: a loss tensor even for a model with no heads
        loss = sum((F.cross_entropy(logits[a], labels[a][idx]) for a in logits), torch.zeros(()))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
