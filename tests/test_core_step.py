"""Every chapter that introduces a training objective writes its step in plain PyTorch, once, on the page.

The cell is tagged `core-step`. It writes the loss (and the update) with torch alone, runs it on a batch,
runs the library's step factory on the same batch from the same random draws, and asserts that the two
agree; from then on the chapter trains with the library. nbval executes the cell in `make test`, so the
assert is checked on every run; this test checks that the cell is there and names what it compares.
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[1]
# The chapters that introduce an objective, and the library function their plain step is checked against.
CORE_STEPS = {
    "book/part1/02_gan_game": "gan_step",  # the GAN game: D's and G's losses (non-saturating)
    "book/part1/04_gan_training": "gan_step",  # the hinge loss, with a class-conditional D
    "book/part1/04b_stylegan": "stylegan_step",  # R1 (lazy) and style mixing on the non-saturating game
    "book/part2/05_vae": "vae_step",  # the negative ELBO
    "book/part2/07_vqvae": "vqvae_step",  # reconstruction + commitment (+ codebook or moving averages)
    "book/part3/08_next_token": "lm_step",  # next-token cross-entropy
    "book/part4/11_diffusion": "diffusion_step",  # the simple ε-prediction loss
    "book/part4/12_guidance": "diffusion_step",  # the same loss with labels dropped at rate p_uncond
    "book/part4/13_text_to_image": "loss_step",  # the caption-conditioned loss with caption dropout
    "book/part4/14_autoregressive_t2i": "loss_step",  # cross-entropy over image tokens after the caption
}
TAG = "core-step"


@pytest.mark.parametrize("docname", sorted(CORE_STEPS))
def test_the_chapter_writes_its_step_in_plain_pytorch_and_checks_it_against_the_library(docname):
    nb = jupytext.read(ROOT / f"{docname}.md")
    cells = [c for c in nb.cells if c.cell_type == "code" and TAG in c.metadata.get("tags", [])]
    assert cells, f"{docname} has no code cell tagged {TAG!r} writing its training step in plain PyTorch"
    source = "\n".join(c.source for c in cells)
    assert CORE_STEPS[docname] in source, f"{docname}'s {TAG} cell must compare with genai_lib's {CORE_STEPS[docname]}"
    assert "assert" in source, f"{docname}'s {TAG} cell must assert that its step and the library's agree"
    assert "backward()" in source, f"{docname}'s {TAG} cell must write the backward pass itself, not only the loss"
