"""A key-value cache for causal self-attention: each generated token attends to the kept keys and values of its prefix.

In a causal Transformer the keys and values of position s depend only on tokens 0..s, so they never change once
computed. Generating a sequence of length T without a cache recomputes all of them at every step, O(T²) token
passes in all; keeping them makes each new token one pass of a single position, O(T) in all (chapter 10).
"""

from __future__ import annotations

import torch


class LayerCache:
    """One attention layer's keys and values so far, each (B, nh, S, hs); `extend` appends the new positions'."""

    def __init__(self) -> None:
        self.k: torch.Tensor | None = None
        self.v: torch.Tensor | None = None

    @property
    def length(self) -> int:
        return 0 if self.k is None else self.k.size(2)

    def extend(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append k, v (B, nh, T, hs) of T new positions; return all keys and values, (B, nh, S + T, hs) each."""
        if self.k is None or self.v is None:
            self.k, self.v = k, v
        else:
            if k.shape[:2] != self.k.shape[:2] or k.size(3) != self.k.size(3):
                raise ValueError(
                    f"The cache holds keys of shape (B, nh, S, hs) = {tuple(self.k.shape)} but new keys have shape "
                    f"{tuple(k.shape)}: a cache serves one batch of sequences; start a new one for another batch."
                )
            self.k, self.v = torch.cat([self.k, k], dim=2), torch.cat([self.v, v], dim=2)
        return self.k, self.v


class KVCache:
    """The keys and values of every layer of a decoder, for positions 0..length-1 of one batch of sequences."""

    def __init__(self, n_layer: int, max_len: int) -> None:
        if n_layer < 1 or max_len < 1:
            raise ValueError(f"n_layer and max_len must be positive, got {n_layer} and {max_len}.")
        self.layers = [LayerCache() for _ in range(n_layer)]
        self.max_len = max_len  # the model's context window: positions beyond it have no embedding

    @property
    def length(self) -> int:
        """Positions cached so far (every layer holds the same number)."""
        return self.layers[0].length

    def check_room(self, T: int) -> None:
        """Raise a clear error if T more positions would not fit in the context window."""
        if self.length + T > self.max_len:
            raise ValueError(
                f"The KV cache holds {self.length} positions and {T} more would pass the context window of "
                f"{self.max_len}. Generation past the window must drop the oldest tokens, which changes every "
                "position: start a new cache from the last tokens (GPT.generate does this for you)."
            )
