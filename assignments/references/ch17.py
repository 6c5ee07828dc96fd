"""Reference solutions for chapter 17's checks."""

import torch
import torch.nn.functional as F

from genai_checks.ch17 import EPS, colour_watermark_case, fgsm_case, watermark_case


def _fgsm() -> dict[str, object]:
    model, x, y = fgsm_case()
    xg = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(F.cross_entropy(model(xg), y), xg)
    step = EPS * grad.sign()  # the L-infinity step up the loss
    l2 = EPS * grad / grad.flatten(1).norm(dim=1).view(-1, 1, 1, 1)  # the L2 step, a mistake here
    return {
        "fgsm/images": (x + step).clamp(0, 1),
        "fgsm/perturbation": step,
        "fgsm/perturbation_clipped": step.clamp(0, 1),
        "fgsm/descent_clipped": (x - step).clamp(0, 1),
        "fgsm/descent": x - step,
        "fgsm/unclipped": x + step,
        "fgsm/raw_gradient_clipped": (x + EPS * grad).clamp(0, 1),
        "fgsm/raw_gradient": x + EPS * grad,
        "fgsm/l2_clipped": (x + l2).clamp(0, 1),
        "fgsm/l2": x + l2,
    }


def watermark_z(r: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """z = <w, c> / ||c|| per image, with c the residual minus its own mean."""
    c = (r - r.mean(dim=(1, 2, 3), keepdim=True)).flatten(1)  # (B, n)
    return (c @ w.flatten()) / c.norm(dim=1)


def _watermark() -> dict[str, object]:
    r, w, _ = watermark_case()
    flat = r.flatten(1)  # (B, n)
    c = flat - flat.mean(dim=1, keepdim=True)  # each image centred on its own mean
    wf = w.flatten()
    cb = (r - r.mean(dim=0, keepdim=True)).flatten(1)  # centred over the batch
    cball = (r - r.mean()).flatten(1)  # centred over everything
    n = w.numel()
    return {
        "watermark_z": watermark_z(r, w),
        "watermark_z/uncentred": [(flat @ wf) / flat.norm(dim=1), (flat @ wf) / c.norm(dim=1)],
        "watermark_z/batch_centred": [(cb @ wf) / cb.norm(dim=1), (cball @ wf) / cball.norm(dim=1)],
        "watermark_z/divided_by_n": [(c @ wf) / n, (c @ wf) / n**0.5],
        "watermark_z/squared_norm": [(c @ wf) / c.norm(dim=1).square()],
        "watermark_z/raw_correlation": [c @ wf],
        **_colour_watermark(),
    }


def _colour_watermark() -> dict[str, object]:
    r, w = colour_watermark_case()
    per_channel = (r - r.mean(dim=(2, 3), keepdim=True)).flatten(1)  # each channel centred by its own mean
    return {
        "watermark_z/hidden/colour": watermark_z(r, w),
        "watermark_z/hidden/colour/per_channel": (per_channel @ w.flatten()) / per_channel.norm(dim=1),
    }


def answers() -> dict[str, object]:
    return {**_fgsm(), **_watermark()}
