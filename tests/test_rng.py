"""The shared random draws refuse a `generator=` that is not a torch.Generator, with advice."""

import pytest
import torch
from torch import nn

from genai_lib.rng import rand, randint, randn


@pytest.mark.parametrize("draw", [lambda g: randn((2,), g, "cpu"), lambda g: rand((2,), g, "cpu"),
                                  lambda g: randint(5, (2,), g, "cpu")])  # fmt: skip
def test_a_network_passed_as_generator_is_a_clear_type_error(draw):
    with pytest.raises(TypeError, match=r"torch\.Generator.*got Linear"):
        draw(nn.Linear(2, 2))
    assert draw(torch.Generator().manual_seed(0)).shape == (2,)
    assert draw(None).shape == (2,)
