"""A caption encoder: token and position embeddings, then bidirectional Transformer blocks (Vaswani et al., 2017).

It is GPT's stack of blocks with the causal mask switched off and padding masked, as in the text encoders that
condition Imagen and Stable Diffusion (Saharia et al., 2022; Rombach et al., 2022), only tiny and trained with
the image model instead of frozen.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from genai_lib.nn.embeddings import LearnedPositionalEmbedding
from genai_lib.nn.transformer import BlockConfig, TransformerBlock


@dataclass
class TextEncoderConfig:
    vocab_size: int  # the caption tokenizer's vocab_size
    max_len: int = 16  # S, the longest token sequence (the tokenizer's length)
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64  # D, the width of each output vector: the U-Net's context_dim
    dropout: float = 0.0
    pad_id: int = 0  # the padding token, which no position attends to

    def __post_init__(self) -> None:
        for name in ("vocab_size", "max_len"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}.")
        if self.n_layer < 0:  # 0: each token's vector is its own embedding, untouched by the other words
            raise ValueError(f"n_layer must be 0 or more, got {self.n_layer}.")
        if not 0 <= self.pad_id < self.vocab_size:
            raise ValueError(f"pad_id {self.pad_id} is outside the vocabulary of {self.vocab_size} tokens.")
        BlockConfig(n_embd=self.n_embd, n_head=self.n_head, dropout=self.dropout)  # n_embd % n_head, dropout


class TextEncoder(nn.Module):
    """Token ids (B, S) -> one D-vector per token (B, S, D) and the padding mask (B, S), True at padding."""

    def __init__(self, config: TextEncoderConfig) -> None:
        super().__init__()
        self.config = c = config
        self.tok_emb = nn.Embedding(c.vocab_size, c.n_embd)
        self.pos_emb = LearnedPositionalEmbedding(block_size=c.max_len, n_embd=c.n_embd)
        block = BlockConfig(n_embd=c.n_embd, n_head=c.n_head, dropout=c.dropout, causal=False)
        self.blocks = nn.ModuleList([TransformerBlock(block) for _ in range(c.n_layer)])
        self.ln_f = nn.LayerNorm(c.n_embd)
        nn.init.normal_(self.tok_emb.weight, std=0.02)

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        c = self.config
        if not isinstance(ids, torch.Tensor) or ids.is_floating_point() or ids.dim() != 2:
            got = f"{ids.dtype} {tuple(ids.shape)}" if isinstance(ids, torch.Tensor) else type(ids).__name__
            raise ValueError(
                f"The text encoder takes token ids of shape (B, S) (integers), got {got}. Turn captions "
                "into ids with CaptionTokenizer.encode([...])."
            )
        if ids.size(1) > c.max_len:
            raise ValueError(f"Captions of {ids.size(1)} tokens are longer than the encoder's max_len={c.max_len}.")
        if not torch.compiler.is_compiling() and (ids.min() < 0 or ids.max() >= c.vocab_size):
            raise ValueError(f"Token ids must lie in [0, {c.vocab_size}): ids from another tokenizer?")
        pad = ids == c.pad_id  # (B, S)
        # A caption of padding only would leave attention nothing to look at; its first token stays visible.
        pad[:, 0] = False
        x = self.pos_emb(self.tok_emb(ids))  # (B, S, D)
        for block in self.blocks:
            x = block(x, padding_mask=pad)  # (B, S, D)
        return self.ln_f(x), pad
