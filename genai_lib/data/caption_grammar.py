"""The small grammars that caption `shapes` and `captioned_mnist`, their word-level tokenizer and parser.

A caption names one value of every attribute (shape, colour, size, position...) in one of several
paraphrases, so a text encoder has to learn that "big" and "large" mean the same thing. Because the
grammar is known, every caption can be parsed back into its attributes: that is how prompts written by a
person are turned into the labels that caption accuracy is measured against.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

PAD, BOS = "<pad>", "<bos>"


@dataclass(frozen=True)
class CaptionGrammar:
    """Attribute values, the words that can say each one, caption templates, and held-out combinations."""

    name: str
    values: Mapping[str, tuple[str, ...]]  # attribute -> its values, e.g. "colour" -> ("red", ...)
    words: Mapping[str, Mapping[str, tuple[str, ...]]]  # attribute -> value -> phrases that say it
    templates: tuple[str, ...]  # "{size} {colour} {shape} {position}" style templates
    held_out: tuple[Mapping[str, str], ...]  # partial combinations never shown in training

    @property
    def attributes(self) -> tuple[str, ...]:
        return tuple(self.values)

    def is_held_out(self, labels: Mapping[str, str]) -> bool:
        """True when the labels contain one of the held-out combinations (e.g. shape=triangle and colour=blue)."""
        return any(all(labels.get(a) == v for a, v in combo.items()) for combo in self.held_out)

    def caption(self, labels: Mapping[str, str], rng: np.random.Generator) -> str:
        """One paraphrase, chosen by rng, of the caption for these attribute values."""
        template = self.templates[rng.integers(len(self.templates))]
        fill = {}
        for attr in self.attributes:
            phrases = self.words[attr][labels[attr]]
            fill[attr] = phrases[rng.integers(len(phrases))]
        return template.format(**fill)

    def vocabulary(self) -> list[str]:
        """Every word any caption can contain, sorted."""
        text = (
            " ".join(self.templates)
            + " "
            + " ".join(p for by_value in self.words.values() for phrases in by_value.values() for p in phrases)
        )
        return sorted(set(re.sub(r"\{\w+\}", " ", text).split()))

    def max_words(self) -> int:
        """The number of words in the longest caption the grammar can produce."""
        longest = {a: max(len(p.split()) for ps in self.words[a].values() for p in ps) for a in self.attributes}
        return max(
            len(re.sub(r"\{\w+\}", " ", t).split()) + sum(longest[a] for a in re.findall(r"\{(\w+)\}", t))
            for t in self.templates
        )

    def parse(self, caption: str) -> dict[str, str]:
        """The attribute values a caption names, {attribute: value}; attributes it does not mention are absent.

        Longest phrases are matched first, so "top left" is read as one position, not as two fragments.
        """
        words = tokenize_words(caption)
        self.check_words(words)
        text = " " + " ".join(words) + " "
        found: dict[str, str] = {}
        phrases = sorted(
            ((p, a, v) for a, by_value in self.words.items() for v, ps in by_value.items() for p in ps),
            key=lambda item: -len(item[0]),
        )
        for phrase, attr, value in phrases:
            if f" {phrase} " in text:
                if attr in found and found[attr] != value:
                    raise ValueError(
                        f"The caption {caption!r} names two values of {attr}: {found[attr]!r} and "
                        f"{value!r}. Captions of {self.name!r} describe one object."
                    )
                found[attr] = value
                text = text.replace(f" {phrase} ", " | ", 1)
        return found

    def check_words(self, words: Sequence[str]) -> None:
        vocabulary = set(self.vocabulary())
        unknown = [w for w in words if w not in vocabulary]
        if unknown:
            raise ValueError(
                f"{unknown[0]!r} is not a word of the {self.name!r} captions. The accepted words are: "
                f"{', '.join(sorted(vocabulary))}."
            )


def tokenize_words(caption: str) -> list[str]:
    """Lower-case words, punctuation dropped: 'A big, red circle.' -> ['a', 'big', 'red', 'circle']."""
    if not isinstance(caption, str):
        raise ValueError(f"A caption must be a string, got {type(caption).__name__}.")
    return re.sub(r"[^\w\s-]", " ", caption.lower()).split()


def _positions() -> dict[str, tuple[str, ...]]:
    """'top left' can be said as 'in the top left', 'at the upper left', 'in the top left corner', ..."""
    vertical = {"top": ("top", "upper"), "bottom": ("bottom", "lower")}
    out = {}
    for v, v_words in vertical.items():
        for h in ("left", "right"):
            out[f"{v} {h}"] = tuple(
                f"{prep} the {vw} {h}{corner}" for prep in ("in", "at") for vw in v_words for corner in ("", " corner")
            )
    return out


COLOURS = {
    "red": (0.90, 0.12, 0.10),
    "green": (0.10, 0.75, 0.20),
    "blue": (0.15, 0.35, 0.95),
    "yellow": (0.95, 0.85, 0.10),
}

SHAPES = CaptionGrammar(
    name="shapes",
    values={
        "shape": ("circle", "square", "triangle"),
        "colour": tuple(COLOURS),
        "size": ("small", "large"),
        "position": ("top left", "top right", "bottom left", "bottom right"),
    },
    words={
        "shape": {"circle": ("circle",), "square": ("square",), "triangle": ("triangle",)},
        "colour": {c: (c,) for c in COLOURS},
        "size": {"small": ("small", "little", "tiny"), "large": ("large", "big")},
        "position": _positions(),
    },
    templates=(
        "a {size} {colour} {shape} {position}",
        "there is a {size} {colour} {shape} {position}",
        "{position} there is a {size} {colour} {shape}",
        "a {colour} {shape} {position} and it is {size}",
    ),
    held_out=(
        {"shape": "triangle", "colour": "blue"},
        {"shape": "circle", "colour": "yellow"},
        {"shape": "square", "colour": "green"},
    ),
)

DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

CAPTIONED_MNIST = CaptionGrammar(
    name="captioned_mnist",
    values={
        "digit": tuple(str(d) for d in range(10)),
        "colour": tuple(COLOURS),
        "position": ("top left", "top right", "bottom left", "bottom right"),
    },
    words={
        "digit": {str(d): (str(d), name) for d, name in enumerate(DIGIT_NAMES)},
        "colour": {c: (c,) for c in COLOURS},
        "position": _positions(),
    },
    templates=(
        "a {colour} {digit} {position}",
        "the digit {digit} in {colour} {position}",
        "{position} a {colour} {digit}",
    ),
    held_out=(
        {"digit": "7", "colour": "blue"},
        {"digit": "2", "colour": "red"},
        {"digit": "4", "colour": "green"},
        {"digit": "0", "colour": "yellow"},
    ),
)

GRAMMARS = {g.name: g for g in (SHAPES, CAPTIONED_MNIST)}


class CaptionTokenizer:
    """Word-level tokenizer over a grammar's vocabulary: <pad> = 0, <bos> = 1, then the words in order.

    `encode` turns a list of captions into a (B, S) tensor, each row <bos> followed by the words and padded to
    S = max_words + 1. The empty caption "" is just <bos>: the null condition of classifier-free guidance.
    """

    def __init__(self, grammar: CaptionGrammar) -> None:
        self.grammar = grammar
        self.itos = [PAD, BOS, *grammar.vocabulary()]
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        self.length = grammar.max_words() + 1

    @classmethod
    def for_dataset(cls, name: str) -> CaptionTokenizer:
        if name not in GRAMMARS:
            raise ValueError(f"Unknown captioned data set {name!r}; available: {', '.join(sorted(GRAMMARS))}.")
        return cls(GRAMMARS[name])

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    @property
    def pad_id(self) -> int:
        return self.stoi[PAD]

    def encode(self, captions: Sequence[str]) -> torch.Tensor:
        """Captions -> token ids (B, S), padded with <pad>; raises on unknown words, naming the accepted ones."""
        if isinstance(captions, str):
            raise ValueError("encode takes a list of captions; for one caption use encode([caption]).")
        if len(captions) == 0:
            raise ValueError('The list of captions is empty: pass at least one caption ("" asks for no condition).')
        ids = torch.full((len(captions), self.length), self.pad_id, dtype=torch.long)
        for i, caption in enumerate(captions):
            words = tokenize_words(caption)
            self.grammar.check_words(words)
            if len(words) + 1 > self.length:
                raise ValueError(
                    f"The caption {caption!r} has {len(words)} words; captions of {self.grammar.name!r} "
                    f"have at most {self.length - 1}."
                )
            ids[i, : len(words) + 1] = torch.tensor([self.stoi[BOS], *(self.stoi[w] for w in words)])
        return ids

    def decode(self, ids: torch.Tensor | Sequence[int]) -> str:
        """Token ids of one caption -> its words (special tokens dropped)."""
        return " ".join(self.itos[int(i)] for i in ids if self.itos[int(i)] not in (PAD, BOS))

    def __repr__(self) -> str:
        return f"CaptionTokenizer({self.grammar.name!r}, vocab_size={self.vocab_size}, length={self.length})"
