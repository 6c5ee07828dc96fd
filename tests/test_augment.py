"""Differentiable augmentations (genai_lib.augment) and gan_step's `augment` hook (DiffAugment)."""

import torch

import genai_lib as gl
from genai_lib.augment import diff_augment, random_cutout, random_translate
from genai_lib.data import Batches
from genai_lib.models.gan import Discriminator, GANConfig, Generator, gan_step


def test_random_translate_shifts_whole_images_and_fills_the_border():
    x = torch.zeros(64, 1, 6, 6) - 1
    x[:, :, 2:4, 2:4] = 1.0  # a 2x2 blob in the middle
    out = random_translate(x, 2, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    assert torch.all((out == 1).sum(dim=(1, 2, 3)) == 4)  # the blob is moved, never cut (shift <= 2)
    shifts = {tuple(torch.nonzero(o[0] == 1)[0].tolist()) for o in out}
    assert len(shifts) > 10  # independent shifts per image
    assert torch.equal(random_translate(x, 0), x)


def test_random_translate_matches_torch_roll_for_one_shift():
    x = torch.randn(1, 2, 5, 7)
    g = torch.Generator().manual_seed(3)
    out = random_translate(x, 1, fill=0.0, generator=g)
    dy, dx = torch.randint(-1, 2, (2, 1, 1, 1), generator=torch.Generator().manual_seed(3)).flatten().tolist()
    ref = torch.roll(torch.nn.functional.pad(x, (1, 1, 1, 1)), (dy, dx), dims=(2, 3))[:, :, 1:-1, 1:-1]
    assert torch.equal(out, ref)


def test_augmentations_pass_gradients():
    x = torch.randn(4, 1, 8, 8, requires_grad=True)
    diff_augment(2, cutout=3)(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    out = random_cutout(torch.ones(8, 1, 8, 8), 3)
    assert torch.all((out == -1).sum(dim=(1, 2, 3)) == 9)


def test_gan_step_applies_augment_to_real_and_fake_inputs_of_D():
    gl.setup(seed=0, quiet=True)
    c = GANConfig(data_shape=(1, 8, 8), latent_dim=4, width=8)
    G, D = Generator(c), Discriminator(c)
    calls = []

    def augment(t):
        calls.append(t.requires_grad)
        return t.flip(-1)

    opts = {"D": torch.optim.Adam(D.parameters(), lr=1e-3), "G": torch.optim.Adam(G.parameters(), lr=1e-3)}
    gl.fit(
        gan_step(G, D, augment=augment),
        models={"G": G, "D": D},
        optimizers=opts,
        data=Batches(torch.rand(16, 1, 8, 8) * 2 - 1, batch_size=8),
        config=gl.TrainConfig(steps=2, progress=False, device="cpu"),
    )
    assert len(calls) == 6  # per step: real and fake in the D half, fake in the G half
    assert calls[2] is True  # the G half's fake keeps its graph: G is trained through the augmentation
