"""A causal dilated 1-D convolution (van den Oord et al., 2016) and the queue that runs it one sample at a time.

Causal: the output at time t sees the inputs at t, t - d, ..., t - (k - 1) d and nothing later, which the
convolution gets by padding (k - 1) d zeros on the left only. Generating a waveform sample by sample, the whole
network need not be rerun over its receptive field for each new sample (Paine et al., 2016, "Fast Wavenet
Generation Algorithm"): the inputs a layer will need again are the ones it has already seen, so each layer keeps
its last (k - 1) d inputs in a queue and one new sample costs one position of each layer (chapter 19).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConvQueue:
    """The last (k - 1) d inputs of one causal convolution, in a ring buffer.

    Each `push` reads the k - 1 inputs the new output needs and overwrites the oldest one (no longer needed):
    O(k) work per sample, where shifting a window of (k - 1) d inputs along would cost O(d).
    """

    def __init__(self, kernel_size: int, dilation: int) -> None:
        if kernel_size < 2 or dilation < 1:
            raise ValueError(f"A queue needs kernel_size >= 2 and dilation >= 1, got {kernel_size} and {dilation}.")
        self.kernel_size, self.dilation = kernel_size, dilation
        self.size = (kernel_size - 1) * dilation
        self.buffer: torch.Tensor | None = None  # (B, size, C), made at the first push
        self.oldest = 0  # where the input of time t - size sits when the input of time t arrives

    def push(self, x_t: torch.Tensor) -> torch.Tensor:
        """Add the newest input x_t (B, 1, C); return the taps (B, C, k): the inputs at t - (k - 1) d, ..., t - d, t."""
        if self.buffer is None:
            # zeros: what the left padding of CausalConv1d.forward puts before the first sample
            self.buffer = x_t.new_zeros(x_t.size(0), self.size, x_t.size(2))
        elif x_t.size(0) != self.buffer.size(0) or x_t.size(2) != self.buffer.size(2):
            raise ValueError(
                f"The queue holds inputs of shape (B, C) = ({self.buffer.size(0)}, {self.buffer.size(2)}) but got "
                f"({x_t.size(0)}, {x_t.size(2)}): a queue serves one batch of sequences; make new ones for another."
            )
        d, L = self.dilation, self.size
        # The input of time t - size + j d sits j d places after the oldest (j = 0 .. k - 2).
        past = [self.buffer[:, (self.oldest + j * d) % L] for j in range(self.kernel_size - 1)]  # (B, C) each
        taps = torch.stack([*past, x_t[:, 0]], dim=-1)  # (B, C, k), in the order of the kernel's taps
        self.buffer[:, self.oldest] = x_t[:, 0]  # x_t takes the place of the input of t - size
        self.oldest = (self.oldest + 1) % L
        return taps


class CausalConv1d(nn.Conv1d):
    """Conv1d whose output at t depends on the inputs at t - (k - 1) d ... t only: (B, T, C_in) -> (B, T, C_out).

    Channels last, as in the rest of a WaveNet's residual stream, where the 1x1 convolutions are Linear layers.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *, dilation: int = 1) -> None:
        super().__init__(in_channels, out_channels, kernel_size, dilation=dilation)
        self.left_pad = (kernel_size - 1) * dilation

    def forward(self, x: torch.Tensor, queue: ConvQueue | None = None) -> torch.Tensor:
        """x (B, T, C_in) -> (B, T, C_out); with a `queue` (`new_queue()`), x is the newest input only, (B, 1, C_in)."""
        if queue is None:
            x = F.pad(x.transpose(1, 2), (self.left_pad, 0))  # (B, C_in, (k - 1) d + T): Conv1d wants channels first
            return super().forward(x).transpose(1, 2)  # (B, C_out, T) -> (B, T, C_out)
        if x.size(1) != 1:
            raise ValueError(f"With a queue the input is one time step, (B, 1, C); got {tuple(x.shape)}.")
        taps = queue.push(x)  # (B, C_in, k): the dilated taps, now side by side
        # One matrix product: a convolution call on so small an input costs more in overhead than in arithmetic.
        return F.linear(taps.flatten(1), self.weight.flatten(1), self.bias).unsqueeze(1)  # (B, C_in k) -> (B, 1, C_out)

    def new_queue(self) -> ConvQueue:
        """An empty queue for this layer's generation one sample at a time."""
        return ConvQueue(self.kernel_size[0], self.dilation[0])
