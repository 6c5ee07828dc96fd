"""Autoregressive text-to-image (Ramesh et al., 2021): a GPT reads a caption's tokens, then writes the image's.

The image tokens are a VQ-VAE's code ids (Part II) in raster order; the GPT is Part III's. One sequence is
[<bos> caption words <pad>...] followed by h·w image tokens, whose ids are shifted past the caption vocabulary
so that the two kinds of token never share an embedding. The loss counts the image tokens only. Captions
dropped to the empty one during training give an unconditional model too, and so classifier-free guidance
on the logits (Gafni et al., 2022; Yu et al., 2022).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from genai_lib.data.caption_grammar import CaptionTokenizer
from genai_lib.models.gpt import GPT, IGNORE_INDEX, GPTConfig
from genai_lib.models.vqvae import VQVAE
from genai_lib.nn.modes import evaluating
from genai_lib.sample import check_sampling_args, sample_next


class ARTextToImage(nn.Module):
    """Caption tokens then VQ-VAE image tokens, modelled by one GPT; `generate(prompts)` -> images."""

    null_ids: torch.Tensor  # (S,) buffer: the empty caption's token ids

    def __init__(
        self,
        tokenizer: CaptionTokenizer,
        vqvae: VQVAE,
        *,
        n_layer: int = 4,
        n_head: int = 4,
        n_embd: int = 128,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.tokenizer, self.vqvae = tokenizer, vqvae.requires_grad_(False).eval()
        self.grid = vqvae.config.latent_shape[1:]  # (h, w) of the token grid
        self.S = tokenizer.length  # caption tokens per sequence
        self.offset = tokenizer.vocab_size  # image token k has id offset + k
        n_image = self.grid[0] * self.grid[1]
        self.gpt = GPT(
            GPTConfig(
                vocab_size=self.offset + vqvae.config.codebook_size,
                block_size=self.S + n_image - 1,
                n_layer=n_layer,
                n_head=n_head,
                n_embd=n_embd,
                dropout=dropout,
            )
        )
        self.register_buffer("null_ids", tokenizer.encode([""])[0])  # (S,)

    def train(self, mode: bool = True) -> ARTextToImage:
        """Train the GPT; the frozen VQ-VAE stays in eval mode."""
        super().train(mode)
        self.vqvae.eval()
        return self

    @torch.no_grad()
    def image_tokens(self, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
        """Images (N, 3, H, W) in [0, 1] -> their code grids (N, h, w): encode a data set once, before training.

        The grids are computed and returned on the VQ-VAE's device (its training may have moved it to a GPU).
        """
        dev = next(self.vqvae.parameters()).device
        return torch.cat(
            [
                self.vqvae.encode_to_indices(images[i : i + batch_size].to(dev))
                for i in range(0, len(images), batch_size)
            ]
        )

    def sequences(self, ids: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs and targets (B, S + h·w - 1) for caption ids (B, S) and code grids (B, h, w)."""
        if ids.dim() != 2 or ids.size(1) != self.S:
            raise ValueError(f"Caption ids must have shape (B, {self.S}) (tokenizer.encode), got {tuple(ids.shape)}.")
        if tuple(tokens.shape[1:]) != self.grid or tokens.size(0) != ids.size(0):
            raise ValueError(
                f"Image tokens must have shape (B, {self.grid[0]}, {self.grid[1]}) with B = "
                f"{ids.size(0)}, got {tuple(tokens.shape)}; make them with image_tokens(images)."
            )
        seq = torch.cat([ids, tokens.flatten(1) + self.offset], dim=1)  # (B, S + h·w)
        targets = seq[:, 1:].clone()
        targets[:, : self.S - 1] = IGNORE_INDEX  # predict image tokens only
        return seq[:, :-1], targets

    def loss(
        self,
        ids: torch.Tensor,
        tokens: torch.Tensor,
        *,
        p_uncond: float = 0.1,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Cross-entropy in nats per image token; each caption replaced by the empty one at rate p_uncond."""
        if p_uncond > 0:
            drop = torch.rand(ids.size(0), generator=generator, device=generator.device if generator else None)
            ids = torch.where(drop.to(ids.device)[:, None] < p_uncond, self.null_ids, ids)  # (B, S)
        x, y = self.sequences(ids, tokens)
        return self.gpt(x, y)[1]

    @torch.no_grad()
    def generate_tokens(
        self,
        prompts: Sequence[str],
        *,
        guidance_scale: float = 3.0,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: torch.Generator | None = None,
        use_cache: bool = True,
    ) -> torch.Tensor:
        """Code grids (N, h, w) drawn token by token; logits guided as l_∅ + w (l_caption − l_∅).

        With `use_cache` the GPT keeps the keys and values of the caption and the codes drawn so far (KVCache),
        so each code is one position's pass; without it every code re-reads the whole sequence. Same codes.
        """
        check_sampling_args(temperature=temperature, top_k=top_k)
        ids = self.tokenizer.encode(list(prompts)).to(self.null_ids.device)  # (N, S)
        N, guided = len(ids), guidance_scale != 1.0
        seq = torch.cat([ids, self.null_ids.expand(N, -1)]) if guided else ids  # (2N or N, S)
        cache = self.gpt.new_cache() if use_cache else None
        new = seq  # what the GPT has not read yet: the captions, then one code at a time
        with evaluating(self.gpt):
            for _ in range(self.grid[0] * self.grid[1]):
                logits = self.gpt(new if use_cache else seq, cache=cache)[0][:, -1, self.offset :]  # (2N or N, K)
                if guided:
                    cond, uncond = logits.chunk(2)
                    logits = uncond + guidance_scale * (cond - uncond)  # (N, K)
                code = sample_next(logits, temperature=temperature, top_k=top_k, generator=generator)  # (N, 1)
                new = (code + self.offset).repeat(2 if guided else 1, 1)  # (2N or N, 1)
                seq = torch.cat([seq, new], dim=1)
        return (seq[:N, self.S :] - self.offset).view(N, *self.grid)

    @torch.no_grad()
    def generate(self, prompts: Sequence[str], **kwargs) -> torch.Tensor:
        """One image (N, 3, H, W) in [0, 1] per prompt ("" for an unconditional one); kwargs as generate_tokens."""
        return torch.sigmoid(self.vqvae.decode_from_indices(self.generate_tokens(prompts, **kwargs)))
