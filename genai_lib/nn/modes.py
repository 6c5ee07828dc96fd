"""Run a module in eval mode for a while and give it back in the mode it was in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn


@contextmanager
def evaluating(module: nn.Module) -> Iterator[nn.Module]:
    """`with evaluating(model):` eval mode inside (dropout off, BatchNorm on running stats), previous mode after.

    Samplers and metrics use it so that calling them in the middle of training leaves training as it was.
    """
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)
