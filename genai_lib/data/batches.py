"""Resumable batch samplers over in-memory tensors: shuffled epochs, and random windows of a token stream."""

from __future__ import annotations

import torch


class Batches:
    """Endless shuffled mini-batches of aligned tensors; epoch e's order depends only on (seed, e)."""

    def __init__(
        self, *tensors: torch.Tensor, batch_size: int, shuffle: bool = True, seed: int = 0, drop_last: bool = True
    ) -> None:
        if not tensors:
            raise ValueError("Batches needs at least one tensor.")
        n = len(tensors[0])
        if any(len(t) != n for t in tensors):
            raise ValueError(f"All tensors must have the same first dimension, got {[len(t) for t in tensors]}.")
        if n == 0:
            raise ValueError("The data set is empty: nothing to batch.")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
        if drop_last and batch_size > n:
            raise ValueError(f"batch_size {batch_size} exceeds the data set's {n} examples; use a smaller batch.")
        self.tensors, self.batch_size, self.shuffle, self.seed, self.drop_last = (
            tensors,
            batch_size,
            shuffle,
            seed,
            drop_last,
        )
        self.epoch, self.position = 0, 0
        self._order = self._make_order()

    def __len__(self) -> int:
        """Batches per epoch."""
        n = len(self.tensors[0])
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _make_order(self) -> torch.Tensor:
        n = len(self.tensors[0])
        if not self.shuffle:
            return torch.arange(n)
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return torch.randperm(n, generator=g)

    def __iter__(self) -> Batches:
        return self

    def __next__(self) -> tuple[torch.Tensor, ...] | torch.Tensor:
        if self.position >= len(self):
            self.epoch, self.position = self.epoch + 1, 0
            self._order = self._make_order()
        i = self.position * self.batch_size
        idx = self._order[i : i + self.batch_size]
        self.position += 1
        out = tuple(t[idx] for t in self.tensors)
        return out[0] if len(out) == 1 else out

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position, "seed": self.seed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.position, self.seed = state["epoch"], state["position"], state["seed"]
        self._order = self._make_order()


class SequenceBatches:
    """Random windows of a 1-D token tensor: x = tokens[i:i+T], y = tokens[i+1:i+T+1] (next-token targets)."""

    def __init__(self, tokens: torch.Tensor, *, block_size: int, batch_size: int, seed: int = 0) -> None:
        if tokens.dim() != 1:
            raise ValueError(f"tokens must be a 1-D tensor of token ids, got shape {tuple(tokens.shape)}.")
        if len(tokens) <= block_size:
            raise ValueError(
                f"The token stream has {len(tokens)} tokens, fewer than block_size + 1 = "
                f"{block_size + 1}; use a longer text or a smaller block_size."
            )
        self.tokens, self.block_size, self.batch_size = tokens.long(), block_size, batch_size
        self.generator = torch.Generator().manual_seed(seed)

    def __iter__(self) -> SequenceBatches:
        return self

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        T = self.block_size
        i = torch.randint(len(self.tokens) - T, (self.batch_size,), generator=self.generator)
        offsets = i[:, None] + torch.arange(T)  # (B, T)
        return self.tokens[offsets], self.tokens[offsets + 1]

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.generator.set_state(state["generator"])


class WindowBatches:
    """Random windows of T + 1 steps from the rows of a (N, L) tensor, with each row's labels.

    A batch is x (B, T + 1) followed by one (B,) tensor per label. A window starts at 0 with probability
    `p_start`, anywhere else uniformly: a model that will generate from silence must see how its sequences
    begin more often than one window in L - T would show it.
    """

    def __init__(
        self,
        rows: torch.Tensor,
        *labels: torch.Tensor,
        window: int,
        batch_size: int,
        p_start: float = 0.0,
        seed: int = 0,
    ) -> None:
        if rows.dim() != 2:
            raise ValueError(f"rows must be a 2-D tensor (N, L), one sequence per row, got shape {tuple(rows.shape)}.")
        if not 1 <= window < rows.size(1):
            raise ValueError(
                f"window must lie in 1..L - 1 = {rows.size(1) - 1} (a window holds T + 1 steps), got {window}."
            )
        if any(len(y) != len(rows) for y in labels):
            raise ValueError(
                f"Every label tensor needs one entry per row ({len(rows)}), got {[len(y) for y in labels]}."
            )
        if not 0.0 <= p_start <= 1.0 or batch_size < 1:
            raise ValueError(f"p_start must lie in [0, 1] and batch_size be >= 1, got {p_start} and {batch_size}.")
        self.rows, self.labels, self.window, self.batch_size, self.p_start = rows, labels, window, batch_size, p_start
        self.generator = torch.Generator().manual_seed(seed)

    def __iter__(self) -> WindowBatches:
        return self

    def __next__(self) -> tuple[torch.Tensor, ...]:
        B, T, g = self.batch_size, self.window, self.generator
        i = torch.randint(len(self.rows), (B,), generator=g)
        start = torch.randint(self.rows.size(1) - T, (B,), generator=g)
        start = torch.where(torch.rand(B, generator=g) < self.p_start, 0, start)
        offsets = start[:, None] + torch.arange(T + 1)  # (B, T + 1)
        return (self.rows[i[:, None], offsets], *(y[i] for y in self.labels))

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.generator.set_state(state["generator"])
