"""GPT: a decoder-only Transformer language model (Radford et al., 2018, 2019), after nanoGPT."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from genai_lib.nn.embeddings import LearnedPositionalEmbedding
from genai_lib.nn.kv_cache import KVCache
from genai_lib.nn.modes import evaluating
from genai_lib.nn.transformer import BlockConfig, TransformerBlock
from genai_lib.sample import check_sampling_args, sample_next

IGNORE_INDEX = -1  # targets equal to this are left out of the loss (padding)


@dataclass
class GPTConfig:
    vocab_size: int  # V: must equal the tokenizer's vocab_size
    block_size: int = 256  # T_max, the longest context the model sees
    n_layer: int = 6  # L, Transformer blocks
    n_head: int = 6
    n_embd: int = 384  # C, the width of the residual stream
    dropout: float = 0.0
    bias: bool = True  # biases in Linear layers and LayerNorms
    init_std: float | None = None  # σ of the initial weights; None: 1/sqrt(3C), see `sigma`

    def __post_init__(self) -> None:
        for name in ("vocab_size", "block_size", "n_layer"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}.")
        if self.init_std is not None and not self.init_std > 0:
            raise ValueError(f"init_std must be positive (or None for 1/sqrt(3 * n_embd)), got {self.init_std}.")
        BlockConfig(n_embd=self.n_embd, n_head=self.n_head, dropout=self.dropout)  # n_embd % n_head, dropout

    @property
    def sigma(self) -> float:
        """The initial weights' standard deviation: init_std, or 1/sqrt(3C), the standard deviation of PyTorch's
        default Linear initialisation (uniform on ±1/sqrt(C)) for fan-in C. At GPT-2 small's width, C = 768, that is
        0.0208, about GPT-2's 0.02; but GPT-2 kept 0.02 at every width up to C = 1600 (where this gives 0.0144),
        and so does nanoGPT, 2.5 times less than this at C = 128."""
        return self.init_std if self.init_std is not None else 1.0 / math.sqrt(3 * self.n_embd)


class GPT(nn.Module):
    """Token + position embeddings -> L causal Transformer blocks -> LayerNorm -> logits over the vocabulary."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        V, C = config.vocab_size, config.n_embd
        self.tok_emb = nn.Embedding(V, C)
        self.pos_emb = LearnedPositionalEmbedding(block_size=config.block_size, n_embd=C)
        self.drop = nn.Dropout(config.dropout)
        block = BlockConfig(n_embd=C, n_head=config.n_head, dropout=config.dropout, bias=config.bias, causal=True)
        self.blocks = nn.ModuleList([TransformerBlock(block) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(C, bias=config.bias)
        self.head = nn.Linear(C, V, bias=False)
        # Weight tying (Press & Wolf, 2017): reading a token in and writing it out share one V x C matrix.
        self.head.weight = self.tok_emb.weight
        self._init_weights()

    def _init_weights(self) -> None:
        """GPT-2's initialisation at width-aware scale: N(0, σ²) everywhere, residual projections σ/sqrt(2L)."""
        σ = self.config.sigma
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, mean=0.0, std=σ)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
        nn.init.normal_(self.pos_emb.weight, mean=0.0, std=σ)
        # Each block adds two sub-layer outputs to the residual stream; this keeps its variance from growing with L.
        for block in self.blocks:
            for layer in cast(TransformerBlock, block).residual_projections():
                nn.init.normal_(layer.weight, mean=0.0, std=σ / math.sqrt(2 * self.config.n_layer))

    def num_params(self, *, non_embedding: bool = False) -> int:
        """Parameters, tied weights counted once; non_embedding=True leaves out the position table (as in 6N)."""
        n = sum(p.numel() for p in self.parameters())  # parameters() yields a tied tensor once
        return n - self.pos_emb.weight.numel() if non_embedding else n

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None, *, cache: KVCache | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """idx (B, T) token ids -> logits (B, T, V) for the next token at every position, and the mean
        cross-entropy in nats/token when targets (B, T) are given (targets of -1 are ignored).

        With a `cache` (`new_cache()`), idx holds the T tokens after the cached ones, which it then extends.
        """
        self._check(idx, targets)
        start = 0
        if cache is not None:
            cache.check_room(idx.size(1))
            start = cache.length
        x = self.drop(self.pos_emb(self.tok_emb(idx), start))  # (B, T, C)
        for i, block in enumerate(self.blocks):
            x = block(x, cache=None if cache is None else cache.layers[i])  # (B, T, C)
        logits = self.head(self.ln_f(x))  # (B, T, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten().long(), ignore_index=IGNORE_INDEX)
        return logits, loss

    def _check(self, idx: torch.Tensor, targets: torch.Tensor | None) -> None:
        T_max = self.config.block_size
        if not isinstance(idx, torch.Tensor) or idx.dtype not in (torch.int64, torch.int32):
            kind = idx.dtype if isinstance(idx, torch.Tensor) else type(idx).__name__
            raise ValueError(
                f"idx must be a tensor of integer token ids (torch.long), got {kind}. Encode text with "
                "the tokenizer and wrap it: torch.tensor(ids, dtype=torch.long)."
            )
        if idx.dim() != 2 or idx.size(1) == 0:
            hint = " For one sequence use idx[None]." if idx.dim() == 1 else ""
            raise ValueError(f"idx must have shape (B, T) with T >= 1, got {tuple(idx.shape)}.{hint}")
        if idx.size(1) > T_max:
            raise ValueError(
                f"The sequence has {idx.size(1)} tokens but block_size={T_max}; crop it to the last "
                f"{T_max} tokens (idx[:, -{T_max}:]) or build the model with a larger block_size."
            )
        if targets is not None and targets.shape != idx.shape:
            raise ValueError(f"targets must have the shape of idx {tuple(idx.shape)}, got {tuple(targets.shape)}.")
        # Reading the values syncs with a GPU, and torch.compile cannot trace it: check eagerly only.
        if not torch.compiler.is_compiling():
            self._check_ids(idx, "Token id")
            if targets is not None:
                self._check_ids(targets.masked_fill(targets == IGNORE_INDEX, 0), "Target id")

    def _check_ids(self, ids: torch.Tensor, what: str) -> None:
        V = self.config.vocab_size
        lo, hi = torch.stack([ids.min(), ids.max()]).tolist()  # one sync, not two
        if lo < 0 or hi >= V:
            raise ValueError(
                f"{what} {hi if hi >= V else lo} is outside the model's vocabulary of {V} tokens (ids "
                f"0..{V - 1}). The ids come from another tokenizer than the model was built for: build "
                "it with GPTConfig(vocab_size=tokenizer.vocab_size)."
            )

    def new_cache(self) -> KVCache:
        """An empty key-value cache for `forward(..., cache=...)`, as long as the context window."""
        return KVCache(self.config.n_layer, self.config.block_size)

    @torch.no_grad()
    def generate(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        generator: torch.Generator | None = None,
        use_cache: bool = True,
    ) -> torch.Tensor:
        """Ancestral sampling: append max_new_tokens tokens to idx (B, T), each drawn given the last block_size.

        With `use_cache` each new token is one position's pass over the kept keys and values (KVCache) until the
        sequence fills the context window; from then on every step crops the window, which moves every position,
        and recomputes it, as use_cache=False does at every step. Both give the same tokens for the same generator.
        idx may live on any device; the result is on the model's.
        """
        check_sampling_args(temperature=temperature, top_k=top_k, top_p=top_p)
        if not isinstance(max_new_tokens, int) or max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be an integer >= 0, got {max_new_tokens!r}.")
        T_max = self.config.block_size
        self._check(idx[..., -T_max:], None)  # a longer prompt is fine: it is cropped below
        idx = idx.to(self.tok_emb.weight.device)
        cache = None
        with evaluating(self):
            for _ in range(max_new_tokens):
                if cache is not None and cache.length < T_max:
                    logits, _ = self(idx[:, -1:], cache=cache)  # (B, 1, V): the newest token only
                else:  # no cache, or the window is full: the last block_size tokens from scratch
                    # a cache is worth filling only while the window has room for the next token's position
                    cache = self.new_cache() if use_cache and idx.size(1) < T_max else None
                    logits, _ = self(idx[:, -T_max:], cache=cache)  # (B, T', V), T' <= block_size
                next_id = sample_next(
                    logits[:, -1, :], temperature=temperature, top_k=top_k, top_p=top_p, generator=generator
                )  # (B, 1)
                idx = torch.cat([idx, next_id.to(idx.dtype)], dim=1)  # (B, T + 1)
        return idx

    @torch.no_grad()
    def attention_maps(self, idx: torch.Tensor) -> list[torch.Tensor]:
        """The attention weights of every layer for idx (B, T), each (B, nh, T, T), computed in eval mode.

        idx may live on any device; the maps come back on the CPU, ready to plot.
        """
        self._check(idx, None)
        idx = idx.to(self.tok_emb.weight.device)
        with evaluating(self):
            x, maps = self.pos_emb(self.tok_emb(idx)), []
            for block in self.blocks:
                x, weights = block(x, return_weights=True)
                maps.append(weights["self"].cpu())
        return maps

    def estimate_flops_per_token(self, *, seq_len: int | None = None) -> float:
        """Training FLOPs per token, 6N + 12 L T C (PaLM, Chowdhery et al., 2022, app. B), T = seq_len or block_size.

        Kaplan et al. (2020) count 6N + 6 L T C: half the attention term, as if the causal mask's skipped half
        of Q K^T and weights @ V were never computed. We count the full square, as PaLM's MFU does.
        """
        cfg = self.config
        T = cfg.block_size if seq_len is None else seq_len
        # 6N: 2 FLOPs per weight per token forward, 4 backward (N counts the tied output head once, the position
        # table not at all: it is a lookup). 12LTC: Q K^T and weights @ V (2TC FLOPs each per token), forward (x1)
        # and backward (x2), in every layer, unmasked.
        return 6 * self.num_params(non_embedding=True) + 12 * cfg.n_layer * T * cfg.n_embd

    def estimate_mfu(self, *, tokens_per_second: float, peak_flops: float, seq_len: int | None = None) -> float:
        """Model FLOPs utilisation: achieved FLOP/s over the hardware's peak (989e12 for an H100's dense bf16)."""
        return self.estimate_flops_per_token(seq_len=seq_len) * tokens_per_second / peak_flops


def lm_step(model: nn.Module):
    """A step function for `genai_lib.fit` on (x, y) batches of token ids: the next-token cross-entropy."""

    def step(batch, ctx):
        x, y = batch
        with ctx.autocast():
            _, loss = model(x, y)
        ctx.backward_step(loss)
        return {"loss": loss.detach()}

    return step


@torch.no_grad()
def evaluate_loss(model: nn.Module, batches: Iterable, n_batches: int) -> float:
    """Mean next-token loss (nats/token) over n_batches (x, y) batches, in eval mode (the mode is restored)."""
    if n_batches < 1:
        raise ValueError(f"n_batches must be >= 1, got {n_batches}.")
    device = next(model.parameters()).device
    with evaluating(model):
        it, total = iter(batches), 0.0
        for i in range(n_batches):
            try:
                x, y = next(it)
            except StopIteration:
                raise ValueError(f"The batches ran out after {i} of n_batches={n_batches}; ask for fewer.") from None
            _, loss = model(x.to(device), y.to(device))
            total += loss.float().item()
    return total / n_batches
