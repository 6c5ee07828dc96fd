"""Byte-level byte-pair encoding (Sennrich et al., 2016; on bytes as in GPT-2, Radford et al., 2019)."""

from __future__ import annotations

import heapq
import re
import warnings
from collections import Counter, defaultdict
from collections.abc import Sequence

import torch

# Chunks that merges never cross, after GPT-2: a word with its leading space, a number, a run of punctuation
# (the underscore included), whitespace. Without it, frequent pairs like "e " glue words to their neighbours.
SPLIT_PATTERN = r" ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+"


def _merge(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every occurrence of `pair` in ids, scanning left to right, by new_id."""
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


class BPETokenizer:
    """Byte-pair encoding over UTF-8 bytes: 256 byte tokens, then one new token per learned merge."""

    def __init__(self, merges: Sequence[tuple[int, int]] = (), *, pattern: str | None = SPLIT_PATTERN) -> None:
        self.merges: list[tuple[int, int]] = []
        self.vocab: list[bytes] = [bytes([b]) for b in range(256)]  # token id -> the bytes it stands for
        for a, b in merges:
            if not (0 <= a < len(self.vocab) and 0 <= b < len(self.vocab)):
                raise ValueError(
                    f"Merge {len(self.merges)} ({a}, {b}) uses a token that does not exist yet; "
                    "merges must only combine bytes and earlier merges."
                )
            self.merges.append((int(a), int(b)))
            self.vocab.append(self.vocab[a] + self.vocab[b])
        self.pattern = pattern
        self._split = re.compile(pattern) if pattern else None
        self._ranks = {pair: 256 + i for i, pair in enumerate(self.merges)}  # pair -> its new id; lower merges first
        self._cache: dict[str, list[int]] = {}

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def _chunks(self, text: str) -> list[str]:
        return self._split.findall(text) if self._split else [text]

    @classmethod
    def train(cls, text: str, vocab_size: int, *, pattern: str | None = SPLIT_PATTERN) -> BPETokenizer:
        """Learn vocab_size - 256 merges: repeatedly merge the most frequent adjacent pair (ties: smallest ids).

        `pattern` splits the text into chunks that merges never cross; None treats the text as one chunk
        (slow on long texts: each merge then rescans all of it).
        """
        if not isinstance(text, str) or not text:
            raise ValueError("The text is empty: BPE learns its merges from the pairs in a non-empty training text.")
        if vocab_size < 256:
            raise ValueError(
                f"vocab_size={vocab_size} is below 256: a byte-level BPE starts from the 256 byte "
                "tokens (256 means no merges). Ask for e.g. 512."
            )
        # Each distinct chunk is stored once with its count, so a word that occurs 1,000 times is merged once.
        chunk_counts = Counter(cls(pattern=pattern)._chunks(text))
        words = [list(chunk.encode("utf-8")) for chunk in chunk_counts]
        freqs = list(chunk_counts.values())
        counts: dict[tuple[int, int], int] = defaultdict(int)  # pair -> occurrences in the text
        where: dict[tuple[int, int], set[int]] = defaultdict(set)  # pair -> words that (may) contain it
        for w, (word, f) in enumerate(zip(words, freqs, strict=True)):
            for pair in zip(word, word[1:], strict=False):
                counts[pair] += f
                where[pair].add(w)
        # A heap finds the most frequent pair in O(log n). Counts change as we merge, so instead of updating
        # entries we push the new count and skip popped entries that no longer match (lazy deletion).
        heap = [(-c, pair) for pair, c in counts.items()]
        heapq.heapify(heap)
        merges: list[tuple[int, int]] = []
        while len(merges) < vocab_size - 256:
            while heap and counts.get(heap[0][1], 0) != -heap[0][0]:
                heapq.heappop(heap)
            if not heap or -heap[0][0] < 2:
                warnings.warn(
                    f"No pair occurs twice after {len(merges)} merges: the vocabulary stops at "
                    f"{256 + len(merges)} tokens instead of {vocab_size}. Train on a longer text.",
                    stacklevel=2,
                )
                break
            _, pair = heapq.heappop(heap)
            new_id = 256 + len(merges)
            merges.append(pair)
            touched = set()
            # Only the words holding the pair change: take their pairs out of the counts, merge, put them back.
            for w in where.pop(pair):
                word, f = words[w], freqs[w]
                for p in zip(word, word[1:], strict=False):
                    counts[p] -= f
                    touched.add(p)
                words[w] = word = _merge(word, pair, new_id)
                for p in zip(word, word[1:], strict=False):
                    counts[p] += f
                    where[p].add(w)
                    touched.add(p)
            for p in touched:
                if counts[p] > 0:
                    heapq.heappush(heap, (-counts[p], p))
                else:
                    del counts[p]
        return cls(merges, pattern=pattern)

    def _encode_chunk(self, chunk: str) -> list[int]:
        ids = list(chunk.encode("utf-8"))
        while len(ids) >= 2:
            # Apply merges in the order they were learned: the present pair learned earliest goes first.
            pair = min(zip(ids, ids[1:], strict=False), key=lambda p: self._ranks.get(p, float("inf")))
            if pair not in self._ranks:
                break
            ids = _merge(ids, pair, self._ranks[pair])
        return ids

    def encode(self, text: str) -> list[int]:
        """Token ids of a text: split it into chunks, then apply the merges to each chunk's UTF-8 bytes."""
        if not isinstance(text, str):
            raise ValueError(f"encode expects a str, got {type(text).__name__}.")
        ids = []
        for chunk in self._chunks(text):
            if chunk not in self._cache:
                self._cache[chunk] = self._encode_chunk(chunk)
            ids.extend(self._cache[chunk])
        return ids

    def decode(self, ids: Sequence[int] | torch.Tensor) -> str:
        """The text of token ids; byte sequences that are not valid UTF-8 (a model may sample them) become '�'."""
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        bad = [i for i in ids if not 0 <= i < len(self.vocab)]
        if bad:
            raise ValueError(
                f"Token ids {bad[:5]} are outside this tokenizer's vocabulary of {len(self.vocab)} "
                "tokens; were they made by another tokenizer?"
            )
        return b"".join(self.vocab[i] for i in ids).decode("utf-8", errors="replace")

    def state_dict(self) -> dict:
        return {"merges": [list(pair) for pair in self.merges], "pattern": self.pattern}

    @classmethod
    def from_state_dict(cls, state: dict) -> BPETokenizer:
        if "merges" not in state:
            raise ValueError(f"Not a BPETokenizer state: expected a 'merges' entry, got keys {sorted(state)}.")
        return cls([tuple(pair) for pair in state["merges"]], pattern=state.get("pattern", SPLIT_PATTERN))

    def __repr__(self) -> str:
        return f"BPETokenizer(vocab_size={self.vocab_size}, merges={len(self.merges)})"
