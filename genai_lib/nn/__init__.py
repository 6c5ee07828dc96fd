"""Shared neural-network blocks: attention (and over space and time), the Transformer block, position and timestep
embeddings; eval mode."""

from genai_lib.nn.attention import AttentionConfig, MultiHeadAttention, causal_mask, scaled_dot_product_attention
from genai_lib.nn.embeddings import (
    LearnedPositionalEmbedding,
    SinusoidalPositionalEncoding,
    sinusoidal_encoding,
    timestep_embedding,
)
from genai_lib.nn.modes import evaluating
from genai_lib.nn.spacetime import SpaceTimeAttention, TemporalAttention, attention_cost
from genai_lib.nn.transformer import MLP, BlockConfig, TransformerBlock

__all__ = [
    "AttentionConfig",
    "MultiHeadAttention",
    "causal_mask",
    "scaled_dot_product_attention",
    "LearnedPositionalEmbedding",
    "SinusoidalPositionalEncoding",
    "sinusoidal_encoding",
    "timestep_embedding",
    "BlockConfig",
    "MLP",
    "TransformerBlock",
    "evaluating",
    "SpaceTimeAttention",
    "TemporalAttention",
    "attention_cost",
]
