"""The n-gram language model with add-alpha smoothing (chapter 8's counting model), for token-id sequences.

Chapter 18 fits it on chorale tokens as the baseline its GPT must beat.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


class NGramModel:
    """An add-alpha (Lidstone) smoothed n-gram language model over token ids (Jurafsky & Martin, ch. 3).

    p(x_t | context) = (N(context, x_t) + alpha) / (N(context) + V alpha), the context being the n - 1 tokens
    before x_t; the first n - 1 tokens of a sequence see a context padded with a start symbol (id V). Counted
    as chapter 8 counts its character n-grams: each window of n tokens is one integer in base V + 1, and the
    distinct windows and contexts are counted with `torch.unique`. Windows never span two sequences.
    """

    def __init__(self, n: int, vocab_size: int, *, alpha: float = 0.1) -> None:
        if n < 1:
            raise ValueError(f"n is the window length (1 = unigram, 2 = bigram, ...), at least 1; got {n}.")
        if vocab_size < 1:
            raise ValueError(f"vocab_size must be positive, got {vocab_size}.")
        if not alpha > 0:
            raise ValueError(
                f"alpha must be positive, got {alpha}: with alpha = 0 an n-gram never seen in training has "
                f"probability 0 and the NLL is infinite (chapter 8)."
            )
        if (vocab_size + 1) ** n >= 2**62:
            raise ValueError(f"(vocab_size + 1)^n = {vocab_size + 1}^{n} overflows the int64 window ids; lower n.")
        self.n, self.vocab_size, self.alpha = n, vocab_size, alpha
        self.windows: tuple[torch.Tensor, torch.Tensor] | None = None  # (sorted distinct ids, counts) of N(a, b)
        self.contexts: tuple[torch.Tensor, torch.Tensor] | None = None  # the same for N(a)

    def _window_ids(self, seq: torch.Tensor) -> torch.Tensor:
        """The id sum_i w[t+i] (V+1)^(n-1-i) of the window ending at each token of `seq`, (L,)."""
        seq = torch.as_tensor(seq)
        if seq.dim() != 1 or seq.is_floating_point():
            raise ValueError(
                f"A sequence must be a 1-D tensor of token ids, got shape {tuple(seq.shape)} of {seq.dtype}."
            )
        seq = seq.cpu().long()
        if len(seq) and (seq.min() < 0 or seq.max() >= self.vocab_size):
            raise ValueError(f"Token ids must lie in [0, {self.vocab_size}), got {int(seq.min())}..{int(seq.max())}.")
        V1, L = self.vocab_size + 1, len(seq)
        padded = torch.cat([torch.full((self.n - 1,), self.vocab_size), seq])  # start symbol V before the sequence
        ids = torch.zeros(L, dtype=torch.long)
        for i in range(self.n):
            ids = ids * V1 + padded[i : i + L]
        return ids

    def fit(self, sequences: Sequence[torch.Tensor]) -> NGramModel:
        """Count every n-gram and every context of the training sequences; returns self."""
        ids = torch.cat([self._window_ids(s) for s in sequences] + [torch.zeros(0, dtype=torch.long)])
        if len(ids) == 0:
            raise ValueError("fit needs at least one non-empty training sequence.")
        self.windows = ids.unique(return_counts=True)
        self.contexts = (ids // (self.vocab_size + 1)).unique(return_counts=True)  # drop the last token
        return self

    def with_alpha(self, alpha: float) -> NGramModel:
        """The same counts under another smoothing: choosing alpha on validation data costs no second count."""
        other = NGramModel(self.n, self.vocab_size, alpha=alpha)  # checks alpha
        other.windows, other.contexts = self.windows, self.contexts
        return other

    @staticmethod
    def _lookup(ids: torch.Tensor, table: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """The counts of `ids` in a (sorted distinct ids, counts) table, 0 for ids not in it."""
        keys, counts = table
        i = torch.searchsorted(keys, ids).clamp(max=len(keys) - 1)
        return torch.where(keys[i] == ids, counts[i], 0).double()

    def log_probs(self, sequence: torch.Tensor) -> torch.Tensor:
        """log p(x_t | previous n - 1 tokens) of every token of `sequence`, in nats, (L,)."""
        if self.windows is None or self.contexts is None:
            raise RuntimeError("Call fit(training_sequences) before scoring sequences.")
        ids = self._window_ids(sequence)
        n_ab = self._lookup(ids, self.windows)
        n_a = self._lookup(ids // (self.vocab_size + 1), self.contexts)
        return torch.log((n_ab + self.alpha) / (n_a + self.vocab_size * self.alpha))

    def nll_per_token(self, sequences: Sequence[torch.Tensor], *, skip_first: bool = False) -> float:
        """Mean negative log-likelihood per token of `sequences`, in nats.

        skip_first=True leaves out each sequence's first token, to score exactly the targets x[1:] of a GPT
        trained on x[:-1] -> x[1:].
        """
        lp = [self.log_probs(s)[1 if skip_first else 0 :] for s in sequences]
        lp_all = torch.cat(lp + [torch.zeros(0, dtype=torch.float64)])
        if len(lp_all) == 0:
            raise ValueError("No token to score: pass at least one non-empty sequence.")
        return float(-lp_all.mean())
