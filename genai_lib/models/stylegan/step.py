"""Training a style-based GAN with `fit`: non-saturating losses, lazy R1, style mixing (Karras et al., 2020)."""

from __future__ import annotations

import torch
from torch import nn

from genai_lib.ema import EMA
from genai_lib.losses import gan_d_loss, gan_g_loss, r1_penalty
from genai_lib.models.stylegan.generator import StyleGenerator


def _mixing_draw(G: StyleGenerator, B: int, device: torch.device, mix_prob: float):
    """z, and with probability mix_prob a second z2 and a crossover in [1, n_style_layers): mixing regularisation."""
    z = torch.randn(B, G.config.latent_dim, device=device)
    if mix_prob > 0 and torch.rand(()).item() < mix_prob:
        crossover = int(torch.randint(1, G.n_style_layers, ()).item())
        return z, (torch.randn(B, G.config.latent_dim, device=device), crossover)
    return z, None


def stylegan_step(
    G: StyleGenerator,
    D: nn.Module,
    *,
    r1_gamma: float = 0.01,
    r1_every: int = 16,
    mix_prob: float = 0.9,
    augment=None,
    ema: EMA | None = None,
):
    """A step function for `genai_lib.fit` with optimizers "D" and "G": one D update (with lazy R1), one G update.

    The losses are the non-saturating GAN's (Goodfellow et al., 2014). Every `r1_every` steps the D loss adds
    r1_every * R1 (Mescheder et al., 2018), which on average is R1 at every step for a fraction of the cost
    (lazy regularisation, Karras et al., 2020; the paper also scales Adam's lr and betas by
    r1_every / (r1_every + 1), left to the optimizer you pass). gamma = 0.01 is StyleGAN2-ADA's CIFAR-10
    value. With probability `mix_prob` a batch's fakes mix the styles of two z. `augment` (DiffAugment) is
    applied to every input of D; `ema`, an `EMA` of G, is updated after each G step.
    D is any module mapping images (B, C, H, W) to logits (B,), e.g. the book's DCGAN `Discriminator`.
    The batch is real images (B, C, H, W) in [-1, 1], or a tuple whose first item they are (labels are ignored).
    """
    if r1_gamma < 0 or r1_every < 0:
        raise ValueError(f"r1_gamma and r1_every must be >= 0 (0 turns R1 off); got {r1_gamma} and {r1_every}.")
    if not 0.0 <= mix_prob <= 1.0:
        raise ValueError(f"mix_prob is a probability in [0, 1], got {mix_prob}.")
    if getattr(getattr(D, "config", None), "n_classes", 0):
        raise ValueError("StyleGenerator is unconditional: build the discriminator with n_classes=0.")
    aug = augment if augment is not None else (lambda t: t)

    def step(batch, ctx):
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        B = len(x)
        # ----- discriminator: maximise log D(x) + log(1 - D(G(z))), with D's slope on real data penalised -----
        D.requires_grad_(True)
        z, mix = _mixing_draw(G, B, x.device, mix_prob)
        with ctx.autocast():
            fake = G(z, mix=mix).detach()  # the D step must not push gradients into G
            real_logits, fake_logits = D(aug(x)), D(aug(fake))
            d_loss = gan_d_loss(real_logits, fake_logits)
        r1 = torch.zeros((), device=x.device)
        if r1_every and r1_gamma and ctx.step % r1_every == 0:
            # In float32, outside autocast: a gradient of a gradient loses too much in bf16/fp16.
            r1 = r1_every * r1_penalty(lambda t: D(aug(t)), x.float(), gamma=r1_gamma)
        ctx.backward_step(d_loss + r1, "D")
        # ----- generator: minimise -log D(G(z)) (non-saturating) -----
        D.requires_grad_(False)  # D's weights are constants here; skip their gradients
        z, mix = _mixing_draw(G, B, x.device, mix_prob)
        with ctx.autocast():
            fake_logits = D(aug(G(z, mix=mix)))
            g_loss = gan_g_loss(fake_logits)
        ctx.backward_step(g_loss, "G")
        D.requires_grad_(True)
        if ema is not None:
            ema.update(G)
        return {
            "d_loss": d_loss,  # without R1, so it reads as the GAN game's loss
            "g_loss": g_loss,
            "r1": r1.detach(),  # r1_every * R1 on R1 steps, 0 between: its mean over steps is R1
            "d_real": torch.sigmoid(real_logits.detach().float()).mean(),
            "d_fake": torch.sigmoid(fake_logits.detach().float()).mean(),
        }

    return step
