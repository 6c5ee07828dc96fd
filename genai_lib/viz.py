"""Figures: image grids, training curves, 2-D densities and sliders (the only module that imports matplotlib)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from torchvision.utils import make_grid


def image_grid(
    x: torch.Tensor,
    *,
    nrow: int | None = None,
    title: str | None = None,
    ax=None,
    value_range: tuple[float, float] = (0.0, 1.0),
    size: float = 4.0,
):
    """Show a batch of images (B, C, H, W) as one grid; values outside `value_range` are clipped."""
    if x.dim() == 3:
        x = x.unsqueeze(1)  # (B, H, W) -> (B, 1, H, W)
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"image_grid expects (B, C, H, W) with C = 1 or 3, got shape {tuple(x.shape)}.")
    lo, hi = value_range
    x = ((x.detach().float().cpu() - lo) / (hi - lo)).clamp(0, 1)
    nrow = nrow or int(np.ceil(np.sqrt(len(x))))
    grid = make_grid(x, nrow=nrow, padding=1, pad_value=1.0)  # (3, H', W')
    if ax is None:
        _, ax = plt.subplots(figsize=(size, size * grid.shape[1] / grid.shape[2]))
    ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def clip_strips(
    clips: torch.Tensor, captions: Sequence[str] | None = None, *, size: float = 1.0, title: str | None = None
):
    """Show clips (N, T, 3, H, W) as N rows of their T frames, left to right, each row headed by its caption."""
    if clips.dim() != 5 or clips.size(2) != 3:
        raise ValueError(f"clip_strips expects clips (N, T, 3, H, W), got shape {tuple(clips.shape)}.")
    N, T = clips.shape[:2]
    fig, axes = plt.subplots(N, T, figsize=(size * T, size * N), squeeze=False)
    for i in range(N):
        for t in range(T):
            ax = axes[i, t]
            ax.imshow(clips[i, t].detach().float().cpu().clamp(0, 1).permute(1, 2, 0).numpy(), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(f"t = {t}", fontsize=8)
        if captions is not None:
            axes[i, 0].set_ylabel(captions[i], rotation=0, ha="right", va="center", fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def clip_player(clips: torch.Tensor, *, fps: float = 4.0, scale: int = 3):
    """Clips (N, T, 3, H, W) side by side as one looping animated GIF, embedded in the page (plays in JupyterLab,
    Colab and the rendered book; nothing to download)."""
    import base64
    import io

    from IPython.display import HTML
    from PIL import Image

    if clips.dim() != 5 or clips.size(2) != 3:
        raise ValueError(f"clip_player expects clips (N, T, 3, H, W), got shape {tuple(clips.shape)}.")
    x = clips.detach().float().cpu().clamp(0, 1)
    frames = []
    for t in range(x.size(1)):
        row = make_grid(x[:, t], nrow=len(x), padding=2, pad_value=1.0)  # (3, H', W'): frame t of every clip
        pixels = (row.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        frames.append(
            Image.fromarray(pixels).resize((row.shape[2] * scale, row.shape[1] * scale), Image.Resampling.NEAREST)
        )
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=int(1000 / fps), loop=0)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return HTML(f'<img class="genai-clip" src="data:image/gif;base64,{data}" alt="{len(x)} generated clips, looping">')


def plot_history(
    history,
    keys: Sequence[str] | None = None,
    *,
    ax=None,
    logy: bool = False,
    ylabel: str = "value",
    title: str | None = None,
):
    """Plot logged values of a `train.History` against the training step."""
    keys = list(keys or history.keys())
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for key in keys:
        ax.plot(history.steps(key), history[key], label=key, marker="." if len(history[key]) < 30 else None)
    ax.set_xlabel("training step")
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def plot_density_2d(
    log_prob: Callable[[torch.Tensor], torch.Tensor],
    *,
    lim: float = 4.0,
    n: int = 200,
    ax=None,
    samples: torch.Tensor | None = None,
    title: str | None = None,
    cmap: str = "viridis",
):
    """Shade a 2-D density exp(log_prob) on the square [-lim, lim]^2, optionally with samples on top."""
    g = torch.linspace(-lim, lim, n)
    xx, yy = torch.meshgrid(g, g, indexing="xy")
    points = torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)  # (n*n, 2)
    with torch.no_grad():
        density = log_prob(points).exp().reshape(n, n)
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(density.numpy(), extent=(-lim, lim, -lim, lim), origin="lower", cmap=cmap)
    if samples is not None:
        s = samples.detach().cpu()
        ax.scatter(s[:, 0], s[:, 1], s=2, c="white", alpha=0.5)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    return ax


def widgets_enabled() -> bool:
    """Live sliders only in an interactive kernel; the book build and nbval set GENAI_WIDGETS=off."""
    if os.environ.get("GENAI_WIDGETS", "auto").lower() in ("off", "0", "false", "no"):
        return False
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ != "TerminalInteractiveShell"


def interact(update: Callable[..., object], *, static: Sequence[Mapping[str, object]], **sliders) -> None:
    """Sliders that call `update(**values)` in a live notebook; elsewhere, `update` at each `static` setting.

    `sliders` are ipywidgets abbreviations or widgets, e.g. ``t=(0.0, 1.0, 0.05)`` or
    ``temperature=FloatSlider(...)``; `static` lists the settings drawn when no slider can move (the
    rendered book, nbval, a script), so the reader of a page still sees what the sliders would show.
    """
    if not static:
        raise ValueError("interact needs at least one static setting to draw when widgets are off.")
    if widgets_enabled():
        import ipywidgets

        ipywidgets.interact(update, **sliders)
        return
    for values in static:
        update(**values)
