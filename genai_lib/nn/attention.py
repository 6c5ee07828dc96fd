"""Multi-head attention (Vaswani et al., 2017), written out and through PyTorch's fused kernel."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genai_lib.nn.kv_cache import LayerCache


@dataclass
class AttentionConfig:
    n_embd: int  # C, the width of the query sequence x (and of the output)
    n_head: int  # nh; each head has hs = C / nh channels
    dropout: float = 0.0  # on the attention weights and on the output projection
    bias: bool = True  # biases in the Q, K, V and output projections
    causal: bool = False  # position t attends only to positions <= t (a decoder)
    context_dim: int | None = None  # width of the context for cross-attention; None: self-attention

    def __post_init__(self) -> None:
        if self.n_embd < 1 or self.n_head < 1:
            raise ValueError(f"n_embd and n_head must be positive, got n_embd={self.n_embd}, n_head={self.n_head}.")
        if self.n_embd % self.n_head:
            raise ValueError(
                f"n_embd={self.n_embd} is not divisible by n_head={self.n_head}: each head gets "
                f"n_embd / n_head channels. Choose e.g. n_head in "
                f"{[h for h in range(1, min(self.n_embd, 16) + 1) if self.n_embd % h == 0]}."
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}.")
        if self.context_dim is not None and self.context_dim < 1:
            raise ValueError(f"context_dim must be positive or None, got {self.context_dim}.")
        if self.causal and self.context_dim is not None:
            raise ValueError(
                "A causal mask orders a sequence against itself, but cross-attention's keys come from "
                "another sequence: use causal=False with context_dim, or context_dim=None."
            )


def causal_mask(T: int, S: int | None = None, *, device: torch.device | str | None = None) -> torch.Tensor:
    """A (T, S) boolean mask, True where query t may attend to key s: the T queries are the last T of S positions
    (S > T when earlier keys come from a KV cache), so query t sits at position S - T + t and sees keys s <= that."""
    S = T if S is None else S
    return torch.ones(T, S, dtype=torch.bool, device=device).tril(S - T)


def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    mask: torch.Tensor | None = None,
    causal: bool = False,
    dropout_p: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention written out (Vaswani et al., 2017): softmax(Q K^T / sqrt(d_k)) V.

    q is (..., T, hs), k and v are (..., S, hs); `mask` broadcasts to (..., T, S) and is True where a query
    may attend to a key (the convention of F.scaled_dot_product_attention). Returns the output (..., T, hs)
    and the attention weights (..., T, S), taken before dropout.
    """
    T, S = q.size(-2), k.size(-2)
    # Without the scaling, dot products of hs-dimensional vectors grow like sqrt(hs) and saturate the softmax.
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # (..., T, S)
    if causal:
        mask = causal_mask(T, S, device=q.device) if mask is None else mask & causal_mask(T, S, device=q.device)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    if mask is not None:
        # A query that may attend to nothing would get 0/0 = NaN; give it zero weights, as PyTorch's kernel does.
        weights = weights.masked_fill(~mask.any(dim=-1, keepdim=True), 0.0)
    dropped = F.dropout(weights, dropout_p) if dropout_p > 0 else weights
    return dropped @ v, weights  # (..., T, hs), (..., T, S)


class MultiHeadAttention(nn.Module):
    """Multi-head self- or cross-attention (Vaswani et al., 2017): nh heads of width hs = C / nh in parallel."""

    def __init__(self, config: AttentionConfig) -> None:
        super().__init__()
        self.config = config
        C, bias = config.n_embd, config.bias
        if config.context_dim is None:
            self.qkv = nn.Linear(C, 3 * C, bias=bias)  # one matmul for Q, K and V: faster than three
        else:
            self.q = nn.Linear(C, C, bias=bias)
            self.kv = nn.Linear(config.context_dim, 2 * C, bias=bias)  # keys and values from the context
        self.proj = nn.Linear(C, C, bias=bias)
        self.resid_drop = nn.Dropout(config.dropout)
        # False forces the written-out path everywhere (to study it, or to compare with the fused kernel).
        self.fast = True

    def extra_repr(self) -> str:
        cfg = self.config
        return f"n_head={cfg.n_head}, causal={cfg.causal}" + (
            f", context_dim={cfg.context_dim}" if self.is_cross else ""
        )

    @property
    def is_cross(self) -> bool:
        return self.config.context_dim is not None

    def forward(
        self,
        x: torch.Tensor,
        context: torch.Tensor | None = None,
        *,
        key_padding_mask: torch.Tensor | None = None,
        return_weights: bool = False,
        cache: LayerCache | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Attend from x (B, T, C) to itself, or to `context` (B, S, C_ctx) for cross-attention.

        `key_padding_mask` (B, S) is True at keys to ignore (padding), as in nn.MultiheadAttention.
        With `return_weights=True`, returns (y, weights) with weights (B, nh, T, S), via the written-out path.
        With a `cache` (causal self-attention only), x holds the T positions after the cached ones; their keys
        and values join the cache, and the queries attend to all of them.
        """
        self._check(x, context, key_padding_mask)
        if cache is not None and (self.is_cross or not self.config.causal or key_padding_mask is not None):
            raise ValueError(
                "A KV cache serves causal self-attention without padding masks (a decoder generating tokens): "
                "keys of a bidirectional or cross-attention layer are not fixed once computed."
            )
        B, T, C = x.shape
        nh = self.config.n_head
        if self.is_cross:
            q = self.q(x)  # (B, T, C)
            k, v = self.kv(context).split(C, dim=2)  # (B, S, C) each
        else:
            q, k, v = self.qkv(x).split(C, dim=2)  # (B, T, C) each
        S = k.size(1)
        q = q.view(B, T, nh, C // nh).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, S, nh, C // nh).transpose(1, 2)  # (B, nh, S, hs)
        v = v.view(B, S, nh, C // nh).transpose(1, 2)  # (B, nh, S, hs)
        if cache is not None:
            k, v = cache.extend(k, v)  # (B, nh, S_cached + T, hs): the prefix's keys and values, then these
            S = k.size(2)

        mask = None
        if key_padding_mask is not None:
            mask = ~key_padding_mask[:, None, None, :]  # (B, 1, 1, S): True where a key may be attended to
        causal = self.config.causal
        if causal and T == 1 and mask is None:
            causal = False  # one new query, the last position: it may attend to every key
        elif causal and (mask is not None or S != T):
            # The fused kernel takes is_causal or a mask, not both, and its is_causal aligns query t with key t
            # (wrong when S > T): fold our causal mask, which places the queries last, into the mask.
            mask = causal_mask(T, S, device=x.device) if mask is None else mask & causal_mask(T, S, device=x.device)
            causal = False
        dropout_p = self.config.dropout if self.training else 0.0

        weights: torch.Tensor | None = None
        if return_weights or not self.fast:
            y, weights = scaled_dot_product_attention(q, k, v, mask=mask, causal=causal, dropout_p=dropout_p)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p, is_causal=causal)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C): the heads side by side again
        y = self.resid_drop(self.proj(y))
        if return_weights:
            assert weights is not None  # the explicit path ran: it is the one that returns weights
            return y, weights
        return y

    def _check(self, x: torch.Tensor, context: torch.Tensor | None, key_padding_mask: torch.Tensor | None) -> None:
        cfg = self.config
        if x.dim() != 3 or x.size(-1) != cfg.n_embd:
            raise ValueError(
                f"Attention expects x of shape (B, T, C) with C = n_embd = {cfg.n_embd}, got "
                f"{tuple(x.shape)}." + (" Add a batch dimension with x[None]." if x.dim() == 2 else "")
            )
        if self.is_cross:
            if context is None:
                raise ValueError(
                    "This is cross-attention (context_dim is set): pass the context sequence, attn(x, context)."
                )
            if context.dim() != 3 or context.size(-1) != cfg.context_dim or context.size(0) != x.size(0):
                raise ValueError(
                    f"The context must have shape (B, S, context_dim) = ({x.size(0)}, S, "
                    f"{cfg.context_dim}), got {tuple(context.shape)}. Build the attention with "
                    f"context_dim={context.shape[-1]} if that is the encoder's width."
                )
        elif context is not None:
            raise ValueError(
                "This is self-attention (context_dim=None) but a context was passed; build it with "
                "AttentionConfig(..., context_dim=<the context's width>) for cross-attention."
            )
        if key_padding_mask is not None:
            S = context.size(1) if context is not None else x.size(1)  # checked above: context iff cross
            if key_padding_mask.dtype != torch.bool or tuple(key_padding_mask.shape) != (x.size(0), S):
                raise ValueError(
                    f"key_padding_mask must be a bool tensor of shape (B, S) = ({x.size(0)}, {S}), True "
                    f"at padding; got {key_padding_mask.dtype} of shape {tuple(key_padding_mask.shape)}."
                )
