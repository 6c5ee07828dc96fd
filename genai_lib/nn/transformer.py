"""The pre-norm Transformer block (Vaswani et al., 2017; pre-norm as in GPT-2, Radford et al., 2019)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from genai_lib.nn.attention import AttentionConfig, MultiHeadAttention
from genai_lib.nn.kv_cache import LayerCache


@dataclass
class BlockConfig:
    n_embd: int  # C, the width of the residual stream
    n_head: int  # attention heads, each of width C / n_head
    dropout: float = 0.0
    bias: bool = True  # biases in the linear layers and LayerNorms
    causal: bool = False  # True for a decoder (GPT), False for an encoder (a caption encoder)
    context_dim: int | None = None  # set to add a cross-attention sub-layer reading a context of this width
    mlp_ratio: int = 4  # hidden width of the MLP as a multiple of C

    def __post_init__(self) -> None:
        # The attention's own checks (n_embd divisible by n_head, dropout in range), with the same messages.
        AttentionConfig(n_embd=self.n_embd, n_head=self.n_head, dropout=self.dropout, bias=self.bias)
        if self.context_dim is not None and self.context_dim < 1:
            raise ValueError(f"context_dim must be positive or None, got {self.context_dim}.")
        if self.mlp_ratio < 1:
            raise ValueError(f"mlp_ratio must be at least 1, got {self.mlp_ratio}.")


class MLP(nn.Module):
    """The position-wise feed-forward network: Linear(C, 4C) -> GELU -> Linear(4C, C)."""

    def __init__(self, config: BlockConfig) -> None:
        super().__init__()
        hidden = config.mlp_ratio * config.n_embd
        self.fc = nn.Linear(config.n_embd, hidden, bias=config.bias)
        self.act = nn.GELU()
        self.proj = nn.Linear(hidden, config.n_embd, bias=config.bias)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.proj(self.act(self.fc(x))))  # (B, T, C) -> (B, T, 4C) -> (B, T, C)


class TransformerBlock(nn.Module):
    """x + SelfAttn(LN(x)), [+ CrossAttn(LN(x), context)], then + MLP(LN(x)): each sub-layer adds to a residual."""

    def __init__(self, config: BlockConfig) -> None:
        super().__init__()
        self.config = config
        C, bias = config.n_embd, config.bias
        self.ln_1 = nn.LayerNorm(C, bias=bias)
        self.attn = MultiHeadAttention(
            AttentionConfig(n_embd=C, n_head=config.n_head, dropout=config.dropout, bias=bias, causal=config.causal)
        )
        self.ln_cross: nn.LayerNorm | None = None
        self.cross_attn: MultiHeadAttention | None = None
        if config.context_dim is not None:
            self.ln_cross = nn.LayerNorm(C, bias=bias)
            self.cross_attn = MultiHeadAttention(
                AttentionConfig(
                    n_embd=C, n_head=config.n_head, dropout=config.dropout, bias=bias, context_dim=config.context_dim
                )
            )
        self.ln_2 = nn.LayerNorm(C, bias=bias)
        self.mlp = MLP(config)

    def forward(
        self,
        x: torch.Tensor,
        context: torch.Tensor | None = None,
        *,
        padding_mask: torch.Tensor | None = None,
        context_padding_mask: torch.Tensor | None = None,
        return_weights: bool = False,
        cache: LayerCache | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """x (B, T, C) -> (B, T, C). Masks are True at padding: `padding_mask` (B, T) for x, and
        `context_padding_mask` (B, S) for the context. `return_weights=True` also returns a dict of
        attention weights, 'self' (B, nh, T, T) and, with cross-attention, 'cross' (B, nh, T, S). A `cache`
        (a decoder's, genai_lib.nn.kv_cache) holds the self-attention's keys and values of earlier positions."""
        if self.cross_attn is None and context is not None:
            raise ValueError(
                "This block has no cross-attention (context_dim=None) but a context was passed; "
                "build it with BlockConfig(..., context_dim=<the context's width>)."
            )
        if self.cross_attn is not None and context is None:
            raise ValueError("This block has a cross-attention sub-layer: pass the context, block(x, context).")
        weights = {}
        # Pre-norm: the residual stream itself is never normalised, so gradients reach early layers unchanged.
        h = self.attn(self.ln_1(x), key_padding_mask=padding_mask, return_weights=return_weights, cache=cache)
        if return_weights:
            h, weights["self"] = h
        x = x + h
        if self.cross_attn is not None and self.ln_cross is not None:  # both or neither
            h = self.cross_attn(
                self.ln_cross(x), context, key_padding_mask=context_padding_mask, return_weights=return_weights
            )
            if return_weights:
                h, weights["cross"] = h
            x = x + h
        x = x + self.mlp(self.ln_2(x))
        return (x, weights) if return_weights else x

    def residual_projections(self) -> list[nn.Linear]:
        """The layers that write into the residual stream; GPT-2 scales their initial weights by 1/sqrt(2L)."""
        layers = [self.attn.proj, self.mlp.proj]
        if self.cross_attn is not None:
            layers.append(self.cross_attn.proj)
        return layers
