"""WaveNet (van den Oord et al., 2016) in miniature: µ-law audio classes predicted by gated dilated causal convolutions.

Generation is fast as in Paine et al. (2016): every causal convolution keeps a queue of its past inputs, so a new
sample costs one position of each layer instead of a pass over the whole receptive field (genai_lib.nn.causal_conv).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from genai_lib.mu_law import mu_law_encode
from genai_lib.nn.causal_conv import CausalConv1d, ConvQueue
from genai_lib.nn.modes import evaluating
from genai_lib.sample import check_sampling_args, sample_next

DILATIONS = tuple(2**i for i in range(8)) * 2  # two stacks of 1, 2, 4, ..., 128


@dataclass
class WaveNetConfig:
    n_classes: int = 256  # V: mu + 1 µ-law classes (genai_lib.mu_law)
    residual_channels: int = 32  # C_r, the residual stream (and the width of the condition embeddings)
    dilation_channels: int = 32  # C_d, the gated activation's channels
    skip_channels: int = 64  # C_s, the skip connections summed into the output head
    kernel_size: int = 2  # k of every causal convolution
    dilations: tuple[int, ...] = DILATIONS  # d of each residual layer
    n_instruments: int = 0  # global conditioning by embeddings; 0 = unconditional
    n_pitches: int = 0

    def __post_init__(self) -> None:
        self.dilations = tuple(self.dilations)  # a list is fine too; stored as a tuple (hashable, printable)
        for name in ("residual_channels", "dilation_channels", "skip_channels"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}.")
        if self.n_classes < 2:
            raise ValueError(f"n_classes must be >= 2 (256 for 8-bit µ-law), got {self.n_classes}.")
        if self.kernel_size < 2:
            raise ValueError(
                f"kernel_size must be >= 2, got {self.kernel_size}: a kernel of 1 sees only the current sample, "
                "so the network would have no past to predict from (WaveNet uses 2)."
            )
        if not self.dilations or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in self.dilations):
            raise ValueError(f"dilations must be a non-empty sequence of positive integers, got {self.dilations!r}.")
        if self.n_instruments < 0 or self.n_pitches < 0:
            raise ValueError(f"n_instruments and n_pitches must be >= 0, got {self.n_instruments}, {self.n_pitches}.")

    @property
    def receptive_field(self) -> int:
        """How many input samples one output sees: 1 + (k - 1)(1 + sum(dilations)), 512 for the default.

        A causal convolution with kernel k and dilation d reaches (k - 1) d samples further into the past than its
        input does; stacked, the reaches add. The input causal convolution (d = 1) and the residual layers (the
        dilations) together reach (k - 1)(1 + sum(d)) samples back, and the output at t also sees x_t itself.
        """
        return 1 + (self.kernel_size - 1) * (1 + sum(self.dilations))


class ResidualLayer(nn.Module):
    """z = tanh(W_f * x + V_f h) ⊙ σ(W_g * x + V_g h), then x + 1x1(z) to the next layer and 1x1(z) to the skips."""

    def __init__(self, config: WaveNetConfig, dilation: int, *, residual: bool) -> None:
        super().__init__()
        Cr, Cd, Cs = config.residual_channels, config.dilation_channels, config.skip_channels
        conditional = config.n_instruments > 0 or config.n_pitches > 0
        self.conv = CausalConv1d(Cr, 2 * Cd, config.kernel_size, dilation=dilation)  # W_f and W_g, stacked
        self.cond = nn.Linear(Cr, 2 * Cd, bias=False) if conditional else None  # V_f and V_g, stacked
        # The two 1x1 convolutions on z, to the skips and (but in the last layer, which would feed nothing) to the
        # residual stream, stacked as one Linear applied at every time step: one matrix product per sample, not two.
        self.skip_channels = Cs
        self.out = nn.Linear(Cd, Cs + (Cr if residual else 0))

    def condition(self, h: torch.Tensor | None) -> torch.Tensor | None:
        """V h stacked for both halves, (B, 1, 2 C_d): the same at every t, so computed once per sequence."""
        return None if self.cond is None or h is None else self.cond(h).unsqueeze(1)

    def forward(
        self, x: torch.Tensor, bias: torch.Tensor | None, queue: ConvQueue | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, C_r), bias = condition(h) -> (the next layer's input (B, T, C_r), this skip (B, T, C_s))."""
        a = self.conv(x, queue)  # (B, T, 2 C_d)
        if bias is not None:
            a = a + bias  # a global condition, broadcast over t
        a_f, a_g = a.chunk(2, dim=-1)  # (B, T, C_d) each
        z = torch.tanh(a_f) * torch.sigmoid(a_g)  # (B, T, C_d)
        out = self.out(z)  # (B, T, C_s [+ C_r])
        skip, res = out[..., : self.skip_channels], out[..., self.skip_channels :]
        return (x if res.size(-1) == 0 else x + res), skip


class WaveNet(nn.Module):
    """Class embedding -> causal conv -> gated residual layers -> summed skips -> ReLU, 1x1, ReLU, 1x1 -> logits."""

    def __init__(self, config: WaveNetConfig) -> None:
        super().__init__()
        self.config = config
        V, Cr, Cs, n = config.n_classes, config.residual_channels, config.skip_channels, len(config.dilations)
        self.embed = nn.Embedding(V, Cr)  # a one-hot input through a 1x1 conv, without building the one-hot
        self.causal = CausalConv1d(Cr, Cr, config.kernel_size)  # the paper's input causal conv (d = 1)
        self.instrument_emb = nn.Embedding(config.n_instruments, Cr) if config.n_instruments else None
        self.pitch_emb = nn.Embedding(config.n_pitches, Cr) if config.n_pitches else None
        self.layers = nn.ModuleList(
            ResidualLayer(config, d, residual=i < n - 1) for i, d in enumerate(config.dilations)
        )
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(Cs, Cs), nn.ReLU(), nn.Linear(Cs, V))  # 1x1 convolutions

    def forward(
        self,
        x: torch.Tensor,
        instrument: torch.Tensor | int | None = None,
        pitch: torch.Tensor | int | None = None,
        targets: torch.Tensor | None = None,
        *,
        queues: list[ConvQueue] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, T) µ-law classes -> logits (B, T, V), where logits[:, t] predicts x[:, t + 1] from x[:, :t + 1],
        and the mean cross-entropy (nats/sample) when targets (B, T) are given (targets = the inputs shifted by one).

        instrument and pitch are ids, (B,) or one int for all. With `queues` (`new_queues()`), x holds the one
        sample after those already seen, (B, 1), as in generation.
        """
        self._check_classes(x, "x")
        if targets is not None:
            if targets.shape != x.shape:
                raise ValueError(f"targets must have the shape of x {tuple(x.shape)}, got {tuple(targets.shape)}.")
            self._check_classes(targets, "targets")
        h = self._condition(instrument, pitch, x.size(0), x.device)
        logits = self._logits(x, self._biases(h), queues)  # (B, T, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten().long())  # over B * T predictions
        return logits, loss

    def _logits(
        self, x: torch.Tensor, biases: list[torch.Tensor | None], queues: list[ConvQueue] | None
    ) -> torch.Tensor:
        """The network without the checks: x (B, T), each layer's `condition(h)` -> logits (B, T, V)."""
        q = queues if queues is not None else [None] * (1 + len(self.layers))
        a = self.causal(self.embed(x), q[0])  # (B, T, C_r)
        skips = torch.zeros((), device=a.device, dtype=a.dtype)
        for layer, bias, queue in zip(self.layers, biases, q[1:], strict=True):
            a, s = layer(a, bias, queue)  # (B, T, C_r), (B, T, C_s)
            skips = skips + s
        return self.head(skips)  # (B, T, V)

    def _biases(self, h: torch.Tensor | None) -> list[torch.Tensor | None]:
        return [cast(ResidualLayer, layer).condition(h) for layer in self.layers]

    def new_queues(self) -> list[ConvQueue]:
        """Empty queues of every causal convolution, for `forward(..., queues=...)` one sample at a time."""
        return [self.causal.new_queue()] + [cast(ResidualLayer, layer).conv.new_queue() for layer in self.layers]

    def _check_classes(self, x: torch.Tensor, name: str) -> None:
        V = self.config.n_classes
        if not isinstance(x, torch.Tensor) or x.dtype not in (torch.int64, torch.int32):
            kind = x.dtype if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(
                f"{name} must be a tensor of µ-law classes (torch.long), got {kind}. Encode a waveform in [-1, 1] "
                "first: genai_lib.mu_law.mu_law_encode(wave)."
            )
        if x.dim() != 2 or x.size(1) == 0:
            hint = f" For one sequence use {name}[None]." if x.dim() == 1 else ""
            raise ValueError(f"{name} must have shape (B, T) with T >= 1, got {tuple(x.shape)}.{hint}")
        if not torch.compiler.is_compiling():  # reading values syncs with a GPU and breaks a compiled graph
            lo, hi = torch.stack([x.min(), x.max()]).tolist()
            if lo < 0 or hi >= V:
                raise ValueError(
                    f"{name} holds class {hi if hi >= V else lo}, outside the model's 0..{V - 1}: encode with "
                    f"mu_law_encode(wave, mu={V - 1}), or build the model with WaveNetConfig(n_classes=mu + 1)."
                )

    def _condition(self, instrument: object, pitch: object, B: int, device: torch.device) -> torch.Tensor | None:
        """h (B, C_r): the instrument and pitch embeddings summed, or None for an unconditional model."""
        h = None
        for emb, value, name in ((self.instrument_emb, instrument, "instrument"), (self.pitch_emb, pitch, "pitch")):
            ids = self._label(value, emb, name, B)  # (B,) or None
            if emb is not None and ids is not None:
                e = emb(ids.to(device))  # (B, C_r)
                h = e if h is None else h + e
        return h

    def _label(self, value: object, emb: nn.Embedding | None, name: str, B: int) -> torch.Tensor | None:
        field = f"n_{name}s"
        if emb is None:
            if value is not None:
                raise ValueError(
                    f"{name} was given but this WaveNet has {field}=0 (unconditional in {name}): pass {name}=None, "
                    f"or build the model with WaveNetConfig({field}=...) to condition on it."
                )
            return None
        n = emb.num_embeddings
        if value is None:
            raise ValueError(f"This WaveNet is conditioned on {name} ({field}={n}): pass {name}= an id in 0..{n - 1}.")
        ids = torch.as_tensor(value)
        if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
            raise ValueError(f"{name} must be integer ids in 0..{n - 1}, got dtype {ids.dtype}.")
        ids = ids.long().expand(B) if ids.dim() == 0 else ids.long()  # one id for the whole batch
        if ids.shape != (B,):
            raise ValueError(f"{name} must be one int or a tensor of shape (B,) = ({B},), got {tuple(ids.shape)}.")
        if not torch.compiler.is_compiling():
            lo, hi = torch.stack([ids.min(), ids.max()]).tolist()
            if lo < 0 or hi >= n:
                raise ValueError(f"{name} {hi if hi >= n else lo} is outside 0..{n - 1} ({field}={n}).")
        return ids

    @torch.no_grad()
    def generate(
        self,
        n_samples: int,
        *,
        instrument: torch.Tensor | int | None = None,
        pitch: torch.Tensor | int | None = None,
        prime: torch.Tensor | None = None,
        batch_size: int | None = None,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
        fast: bool = True,
    ) -> torch.Tensor:
        """Ancestral sampling: n_samples new µ-law classes (B, n_samples) after `prime` (B, T0), or after one sample
        of silence (the class of 0.0, not returned).

        fast=True keeps each causal convolution's past inputs in a queue (Paine et al., 2016): one position of every
        layer per sample. fast=False reruns the network on the last receptive_field samples for every new one.
        Both draw from the same distributions with the same random numbers, so a generator gives the same samples.
        B comes from prime, a (B,) condition or batch_size (1 if none says). Inputs may be on any device; the
        samples are on the model's.
        """
        check_sampling_args(temperature=temperature)
        if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 0:
            raise ValueError(f"n_samples must be an integer >= 0, got {n_samples!r}.")
        device = self.embed.weight.device
        prime = self._prime(prime, batch_size, instrument, pitch).to(device)  # (B, T0)
        (B, T0), R = prime.shape, self.config.receptive_field
        biases = self._biases(self._condition(instrument, pitch, B, device))  # once: h is the same at every t
        seq = torch.empty(B, T0 + n_samples, dtype=torch.long, device=device)
        seq[:, :T0] = prime
        with evaluating(self):
            queues = self.new_queues() if fast else None
            if queues is not None:  # the prime's last R samples fill the queues; the last one is fed in the loop
                for t in range(max(0, T0 - R), T0 - 1):
                    self._logits(seq[:, t : t + 1], biases, queues)
            for t in range(T0, T0 + n_samples):
                # fast: the newest sample alone (B, 1); naive: the last R samples (B, <= R), all that x_t depends on
                window = seq[:, t - 1 : t] if queues is not None else seq[:, max(0, t - R) : t]
                logits = self._logits(window, biases, queues)[:, -1, :]  # (B, V): the distribution of x_t
                seq[:, t : t + 1] = sample_next(logits, temperature=temperature, generator=generator)  # (B, 1)
        return seq[:, T0:]

    def _prime(self, prime: torch.Tensor | None, batch_size: int | None, *conditions: object) -> torch.Tensor:
        """The samples generation starts from, (B, T0): `prime` checked, or one sample of silence per sequence."""
        sizes = {len(c) for c in conditions if isinstance(c, torch.Tensor) and c.dim() == 1}
        sizes |= {prime.size(0)} if isinstance(prime, torch.Tensor) and prime.dim() == 2 else set()
        if batch_size is not None:
            if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
                raise ValueError(f"batch_size must be an integer >= 1 (or None), got {batch_size!r}.")
            sizes.add(batch_size)
        if len(sizes) > 1:
            raise ValueError(f"prime, instrument, pitch and batch_size disagree on the batch size B: {sorted(sizes)}.")
        if prime is not None:
            self._check_classes(prime, "prime")
            return prime.long()
        silence = int(mu_law_encode(torch.zeros(()), mu=self.config.n_classes - 1))
        return torch.full((sizes.pop() if sizes else 1, 1), silence, dtype=torch.long)


def wavenet_step(model: nn.Module):
    """A step function for `genai_lib.fit` on batches (x, instrument, pitch) or x alone, x (B, T + 1) µ-law
    classes: the cross-entropy of x[:, 1:] predicted from x[:, :-1] (None for a condition the model lacks)."""

    def step(batch, ctx):
        if isinstance(batch, torch.Tensor):
            batch = (batch, None, None)
        if len(batch) != 3:
            raise ValueError(f"wavenet_step expects (x, instrument, pitch) batches or x alone, got {len(batch)} items.")
        x, instrument, pitch = batch
        with ctx.autocast():
            _, loss = model(x[:, :-1], instrument, pitch, targets=x[:, 1:])
        ctx.backward_step(loss)
        return {"loss": loss.detach()}

    return step
