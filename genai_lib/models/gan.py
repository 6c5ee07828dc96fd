"""Generative adversarial networks (Goodfellow et al., 2014): MLP and DCGAN (Radford et al., 2016) players.

Both players can be class-conditional: the generator reads the label as a one-hot vector beside z, and the
discriminator is a projection discriminator (Miyato & Koyama, 2018), logit = psi(h) + <embed(y), h>.
Images live in [-1, 1] (the generator ends in tanh); `to_gan_range` and `from_gan_range` convert.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _sn

from genai_lib.losses import gan_d_loss, gan_g_loss, gradient_penalty, hinge_d_loss, hinge_g_loss
from genai_lib.nn.modes import evaluating
from genai_lib.rng import randn

ARCHITECTURES = ("mlp", "dcgan")
LOSSES = ("bce", "hinge", "wgan-gp")


@dataclass
class GANConfig:
    data_shape: tuple[int, ...] = (1, 28, 28)  # (C, H, W) for images, (d,) for points (MLP only)
    latent_dim: int = 64
    width: int = 64  # DCGAN: channels of the finest stage (ngf = ndf); MLP: hidden width
    architecture: str = "dcgan"
    n_classes: int = 0  # > 0: both players are conditioned on a label in [0, n_classes)
    spectral_norm: bool = False  # on every discriminator layer but the class embedding (and no BatchNorm there)
    tanh: bool = True  # squash generator outputs into [-1, 1] (images); False for unbounded points

    def __post_init__(self) -> None:
        self.data_shape = tuple(self.data_shape)
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"Unknown architecture {self.architecture!r}; choose one of {ARCHITECTURES}.")
        if self.architecture == "dcgan":
            dcgan_stages(self.data_shape)  # raises if DCGAN cannot produce this size

    @property
    def n_inputs(self) -> int:
        return math.prod(self.data_shape)


def dcgan_stages(shape: tuple[int, ...]) -> int:
    """How many stride-2 stages take a >= 4x4 start to the image size: the most that divide H exactly."""
    if len(shape) != 3 or shape[1] != shape[2]:
        raise ValueError(
            f"DCGAN makes square images (C, H, H); got data_shape {tuple(shape)}. "
            "Use architecture='mlp' for other shapes."
        )
    H, s = shape[1], 0
    while H % 2 ** (s + 1) == 0 and H // 2 ** (s + 1) >= 4:
        s += 1
    if s == 0:
        raise ValueError(f"DCGAN cannot produce {H}x{H} images: it needs a size 4*2^s or 7*2^s, e.g. 8, 28, 32, 64.")
    return s


def to_gan_range(x: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] -> [-1, 1], the range of the generator's tanh."""
    return x * 2 - 1


def from_gan_range(x: torch.Tensor) -> torch.Tensor:
    """Generator outputs in [-1, 1] -> images in [0, 1]."""
    return ((x + 1) / 2).clamp(0, 1)


def _check_labels(y: torch.Tensor | None, n_classes: int, batch: int, who: str) -> None:
    if n_classes == 0:
        if y is not None:
            raise ValueError(f"This {who} is unconditional (n_classes=0) but was given labels.")
        return
    if y is None:
        raise ValueError(f"This {who} is class-conditional (n_classes={n_classes}): pass labels y of shape ({batch},).")
    if y.shape != (batch,) or y.dtype != torch.long:
        raise ValueError(f"Labels must be a long tensor of shape ({batch},), got {y.dtype} {tuple(y.shape)}.")
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= n_classes):
        raise ValueError(f"Labels must lie in [0, {n_classes}), got values from {int(y.min())} to {int(y.max())}.")


class Generator(nn.Module):
    """G(z, y): latent noise (B, latent_dim) [and labels (B,)] -> samples ``(B, *data_shape)``."""

    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        self.config = c = config
        d_in = c.latent_dim + c.n_classes  # z, then the label one-hot (Mirza & Osindero, 2014)
        if c.architecture == "mlp":
            self.net = nn.Sequential(
                nn.Linear(d_in, c.width),
                nn.ReLU(),
                nn.Linear(c.width, c.width),
                nn.ReLU(),
                nn.Linear(c.width, c.n_inputs),
                nn.Unflatten(1, c.data_shape),
            )
        else:
            C, H, _ = c.data_shape
            s = dcgan_stages(c.data_shape)
            h0, ch = H // 2**s, c.width * 2 ** (s - 1)
            layers: list[nn.Module] = [
                nn.Linear(d_in, ch * h0 * h0, bias=False),
                nn.Unflatten(1, (ch, h0, h0)),
                nn.BatchNorm2d(ch),
                nn.ReLU(),
            ]  # (B, ch, h0, h0)
            for _ in range(s - 1):
                layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2), nn.ReLU()]
                ch //= 2  # (B, ch, 2h, 2h)
            layers.append(nn.ConvTranspose2d(ch, C, 4, 2, 1))  # (B, C, H, W)
            self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        c = self.config
        if z.dim() != 2 or z.shape[1] != c.latent_dim:
            raise ValueError(f"The generator expects z of shape (B, {c.latent_dim}), got {tuple(z.shape)}.")
        _check_labels(y, c.n_classes, len(z), "generator")
        # A fixed one-hot, not a learned embedding: a learned one grew until G ignored z within a class.
        h = z if y is None or not c.n_classes else torch.cat([z, F.one_hot(y, c.n_classes).to(z.dtype)], dim=1)
        out = self.net(h)
        return torch.tanh(out) if c.tanh else out

    @torch.no_grad()
    def sample(
        self, n: int, *, y: torch.Tensor | None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """n samples G(z), z ~ N(0, I), in eval mode (BatchNorm uses its running statistics), on G's device."""
        with evaluating(self):
            device = next(self.parameters()).device
            # z is drawn on the random generator's device, so a CPU generator gives the same z on every device
            z = randn((n, self.config.latent_dim), generator, device)
            return self(z, None if y is None else y.to(device))


class Discriminator(nn.Module):
    """D(x, y): samples ``(B, *data_shape)`` [and labels (B,)] -> one logit per sample (B,); D = sigmoid(logit)."""

    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        self.config = c = config
        sn = _sn if c.spectral_norm else (lambda m: m)
        norm = (lambda ch: nn.Identity()) if c.spectral_norm else nn.BatchNorm2d
        if c.architecture == "mlp":
            self.body = nn.Sequential(
                nn.Flatten(),
                sn(nn.Linear(c.n_inputs, c.width)),
                nn.LeakyReLU(0.2),
                sn(nn.Linear(c.width, c.width)),
                nn.LeakyReLU(0.2),
            )
            features = c.width
        else:
            C, H, _ = c.data_shape
            s = dcgan_stages(c.data_shape)
            layers: list[nn.Module] = [
                sn(nn.Conv2d(C, c.width, 4, 2, 1)),
                nn.LeakyReLU(0.2),
            ]  # no norm on the input layer
            ch = c.width
            for _ in range(s - 1):
                layers += [sn(nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False)), norm(ch * 2), nn.LeakyReLU(0.2)]
                ch *= 2
            layers.append(nn.Flatten())  # (B, ch * h0 * h0)
            self.body = nn.Sequential(*layers)
            features = ch * (H // 2**s) ** 2
        self.head = sn(nn.Linear(features, 1))
        self.embed = None
        if c.n_classes:
            # The class term starts at zero, so D begins as an unconditional critic and learns it from data: a
            # random initial <embed(y), h> hands G one fixed direction per class, and G collapses onto it.
            self.embed = nn.Embedding(c.n_classes, features)
            nn.init.zeros_(self.embed.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        c = self.config
        if tuple(x.shape[1:]) != c.data_shape:
            raise ValueError(
                f"The discriminator expects inputs of shape (B, {', '.join(map(str, c.data_shape))}), "
                f"got {tuple(x.shape)}. Build it with GANConfig(data_shape={tuple(x.shape[1:])}) for "
                "such data, or resize the data."
            )
        _check_labels(y, c.n_classes, len(x), "discriminator")
        h = self.body(x)  # (B, features)
        logit = self.head(h).squeeze(1)  # (B,)
        if self.embed is not None:
            logit = logit + (self.embed(y) * h).sum(1)  # the projection term <embed(y), h>
        return logit


def init_dcgan_weights(module: nn.Module) -> None:
    """DCGAN's initialisation: conv and linear weights ~ N(0, 0.02^2), BatchNorm scales ~ N(1, 0.02^2).

    Spectrally normalised layers keep PyTorch's initialisation: the normalisation divides their scale out.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)) and not hasattr(m, "parametrizations"):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def sample(G: Generator, n: int, *, y: torch.Tensor | None = None, rng: torch.Generator | None = None) -> torch.Tensor:
    """Deprecated: use ``G.sample(n, y=y, generator=rng)``."""
    warnings.warn(
        "genai_lib.models.gan.sample(G, n, rng=...) is deprecated; use G.sample(n, generator=...).",
        DeprecationWarning,
        stacklevel=2,
    )
    return G.sample(n, y=y, generator=rng)


def gan_step(
    G: Generator,
    D: Discriminator,
    *,
    loss: str = "bce",
    saturating: bool = False,
    n_critic: int = 1,
    gp_weight: float = 10.0,
    augment=None,
):
    """A step function for `genai_lib.fit` with optimizers named "D" and "G": n_critic D updates, then one G update.

    The batch is real samples (B, ...) in the generator's range, or (samples, labels) for a conditional GAN.
    `augment`, a differentiable function of a batch, is applied to every input of D, real and fake, in both
    halves of the step (DiffAugment, Zhao et al., 2020), e.g. `genai_lib.augment.diff_augment()`.
    """
    if loss not in LOSSES:
        raise ValueError(f"Unknown GAN loss {loss!r}; choose one of {LOSSES}.")
    if saturating and loss != "bce":
        raise ValueError("saturating=True is the minimax generator loss of the 'bce' objective only.")

    aug = augment if augment is not None else (lambda t: t)

    def step(batch, ctx):
        x, y = (batch[0], batch[1]) if isinstance(batch, (tuple, list)) else (batch, None)
        y = y if G.config.n_classes else None
        B = len(x)
        # ----- discriminator: maximise log D(x) + log(1 - D(G(z))) (or the hinge / Wasserstein critic) -----
        D.requires_grad_(True)
        for _ in range(n_critic):
            z = torch.randn(B, G.config.latent_dim, device=x.device)
            with ctx.autocast():
                fake = G(z, y).detach()  # the D step must not push gradients into G
                real_logits, fake_logits = D(aug(x), y), D(aug(fake), y)
                if loss == "bce":
                    d_loss = gan_d_loss(real_logits, fake_logits)
                elif loss == "hinge":
                    d_loss = hinge_d_loss(real_logits, fake_logits)
                else:
                    d_loss = fake_logits.mean() - real_logits.mean()
            if loss == "wgan-gp":
                d_loss = d_loss + gp_weight * gradient_penalty(D, x, fake.float(), y)
            ctx.backward_step(d_loss, "D")
        # ----- generator: minimise -log D(G(z)) (non-saturating) or log(1 - D(G(z))) (saturating) -----
        D.requires_grad_(False)  # D's weights are constants here; skip their gradients
        z = torch.randn(B, G.config.latent_dim, device=x.device)
        with ctx.autocast():
            fake_logits = D(aug(G(z, y)), y)
            if loss == "bce":
                g_loss = gan_g_loss(fake_logits, saturating=saturating)
            else:
                g_loss = hinge_g_loss(fake_logits)  # -E[D(G(z))]: the same for hinge and Wasserstein
        ctx.backward_step(g_loss, "G")
        D.requires_grad_(True)
        # D(x) and D(G(z)) as probabilities for the BCE game; the raw critic scores for the others
        score = torch.sigmoid if loss == "bce" else (lambda t: t)
        return {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "d_real": score(real_logits.detach().float()).mean(),
            "d_fake": score(fake_logits.detach().float()).mean(),
        }

    return step
