"""The judge of text-to-image models: one CNN with a read-out head per caption attribute.

It is trained once on real captioned images (a seed of its own, so it never sees the images a generator
trained on) and cached. Caption accuracy is then the share of generated images whose predicted attributes
equal the ones their prompt asked for.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from genai_lib.data.caption_grammar import GRAMMARS
from genai_lib.data.captions import CaptionedImages, load_captioned
from genai_lib.models.cached import trained_once
from genai_lib.models.judge_cnn import JudgeCNN, fit_heads
from genai_lib.nn.modes import evaluating

JUDGE_SEED = 1234  # the seed of the judge's own real images: no generator in the book trains on it


@dataclass
class AttributeClassifierConfig:
    dataset: str = "shapes"  # whose grammar gives the attributes and their values
    image_size: int = 32  # S: images are (3, S, S), S a multiple of 8
    width: int = 16  # channels of the first conv stage

    def __post_init__(self) -> None:
        if self.dataset not in GRAMMARS:
            raise ValueError(f"Unknown captioned data set {self.dataset!r}; available: {', '.join(sorted(GRAMMARS))}.")
        if self.image_size % 8:
            raise ValueError(f"image_size must be a multiple of 8, got {self.image_size}.")


class AttributeClassifier(JudgeCNN):
    """Conv features shared by all attributes, then logits per attribute: {attribute: (B, n_values)}."""

    def __init__(self, config: AttributeClassifierConfig) -> None:
        S = config.image_size
        super().__init__(3, S, S, GRAMMARS[config.dataset].values, channels=config.width)
        self.config = config

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        S = self.config.image_size
        if x.dim() != 4 or tuple(x.shape[1:]) != (3, S, S):
            raise ValueError(
                f"The attribute classifier expects RGB images (B, 3, {S}, {S}) in [0, 1], got {tuple(x.shape)}."
            )
        return super().forward(x)

    @torch.no_grad()
    def features(self, x: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
        """The penultimate layer, (N, 128), in eval mode batch by batch: the space a Fréchet distance is taken in."""
        S = self.config.image_size
        if x.dim() != 4 or tuple(x.shape[1:]) != (3, S, S):
            raise ValueError(
                f"The attribute classifier expects RGB images (B, 3, {S}, {S}) in [0, 1], got {tuple(x.shape)}."
            )
        with evaluating(self):
            dev = next(self.parameters()).device
            return torch.cat([self.body(x[i : i + batch_size].to(dev)).cpu() for i in range(0, len(x), batch_size)])


def _real_images(dataset: str, n: int) -> CaptionedImages:
    """All attribute combinations, held-out ones included: the judge must know a blue triangle when it sees one."""
    seen = load_captioned(dataset, "train", n, seed=JUDGE_SEED)
    held = load_captioned(dataset, "heldout", max(1, n // 4), seed=JUDGE_SEED)
    return CaptionedImages(
        torch.cat([seen.images, held.images]),
        seen.captions + held.captions,
        {a: torch.cat([seen.labels[a], held.labels[a]]) for a in seen.labels},
        seen.grammar,
        "judge",
    )


def attribute_classifier(
    dataset: str = "shapes", *, n: int = 3000, steps: int = 500, verbose: bool = True
) -> AttributeClassifier:
    """The caption-accuracy judge for `dataset`, trained on its own real images once and cached."""
    config = AttributeClassifierConfig(dataset=dataset)
    recipe = {"config": asdict(config), "n": n, "steps": steps, "seed": JUDGE_SEED, "version": 1}

    def train(model: AttributeClassifier) -> None:
        data = _real_images(dataset, n)
        if verbose:
            print(f"Training the attribute classifier for {dataset!r} on {len(data):,} real images (once; cached).")
        fit_heads(model, data.images, data.labels, steps=steps, batch_size=64)

    with torch.random.fork_rng(devices=[]):  # the same judge everywhere, and the caller's random stream untouched
        torch.manual_seed(0)
        return trained_once(AttributeClassifier(config), recipe, name=f"attributes-{dataset}", train=train)
