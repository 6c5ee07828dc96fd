"""Text corpora (pydoc, tinyshakespeare), a character tokenizer and a contiguous train/val split."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from genai_lib.data.download import download

TINYSHAKESPEARE_URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
TINYSHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"


def _pydoc() -> str:
    from pydoc_data.topics import topics

    return "\n\n".join(topics[key].strip() for key in sorted(topics)) + "\n"


def _tinyshakespeare() -> str:
    return download(TINYSHAKESPEARE_URL, TINYSHAKESPEARE_SHA256, "tinyshakespeare.txt").read_text(encoding="utf-8")


CORPORA = {"pydoc": _pydoc, "tinyshakespeare": _tinyshakespeare}


def load_text(name: str) -> str:
    """A corpus by name: 'pydoc' (~465k characters, always present) or 'tinyshakespeare' (downloaded once)."""
    if name not in CORPORA:
        raise ValueError(f"Unknown corpus {name!r}; available: {', '.join(sorted(CORPORA))}.")
    return CORPORA[name]()


class CharTokenizer:
    """One token per character; the vocabulary is the sorted set of characters of a text."""

    def __init__(self, chars: Sequence[str]) -> None:
        if not chars:
            raise ValueError("The vocabulary is empty: build the tokenizer from a non-empty text.")
        if len(set(chars)) != len(chars) or any(len(c) != 1 for c in chars):
            raise ValueError("A character vocabulary needs distinct single characters.")
        self.chars = list(chars)
        self.stoi = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text: str) -> CharTokenizer:
        if not text:
            raise ValueError("The text is empty: a tokenizer needs at least one character to build its vocabulary.")
        return cls(sorted(set(text)))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        try:
            return [self.stoi[c] for c in text]
        except KeyError:
            unknown = sorted({c for c in text if c not in self.stoi})
            raise ValueError(
                f"Characters not in the vocabulary: {unknown[:10]!r}. Build the tokenizer from a text "
                "that contains them, or remove them from the input."
            ) from None

    def decode(self, ids: Sequence[int] | torch.Tensor) -> str:
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        bad = [i for i in ids if not 0 <= i < len(self.chars)]
        if bad:
            raise ValueError(f"Token ids {bad[:5]} are outside the vocabulary of {len(self.chars)} characters.")
        return "".join(self.chars[i] for i in ids)

    def state_dict(self) -> dict[str, list[str]]:
        return {"chars": self.chars}

    @classmethod
    def from_state_dict(cls, state: dict[str, list[str]]) -> CharTokenizer:
        return cls(state["chars"])

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size})"


def train_val_split(data: torch.Tensor | Sequence, val_fraction: float = 0.1):
    """The first (1 - val_fraction) of a sequence for training, the rest for validation (no shuffling: text
    is not i.i.d., and shuffled windows would leak validation text into training)."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}.")
    n = int(len(data) * (1 - val_fraction))
    if n == 0 or n == len(data):
        raise ValueError(f"A sequence of length {len(data)} is too short to split with val_fraction={val_fraction}.")
    return data[:n], data[n:]
