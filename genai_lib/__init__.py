"""genai_lib: the reusable code of the executable textbook on generative AI."""

__version__ = "0.2.0.dev0"  # the release CHANGELOG.md is collecting; 0.2.0 when it ships

import os  # noqa: E402

# Spinning OpenMP threads fight over the cores when another process (a second notebook, a Jupyter
# server) is busy, which slows small CPU models by an order of magnitude; sleeping ones don't. But a
# thread that sleeps at once must be woken for every parallel op, which made chapter 13's U-Net step
# twice as slow on 2 cores; a short spin first (GNU OpenMP's spin count) keeps both speeds. These only
# take effect if torch has not been imported yet; the Makefile sets them for every run.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("GOMP_SPINCOUNT", "1000")

from genai_lib.checkpoint import checkpoint_path, load_model, save_model  # noqa: E402
from genai_lib.claims import claim, record  # noqa: E402
from genai_lib.config import budget, get_budget, setup  # noqa: E402
from genai_lib.train import History, TrainConfig, fit  # noqa: E402

__all__ = [
    "__version__",
    "budget",
    "get_budget",
    "setup",
    "fit",
    "TrainConfig",
    "History",
    "save_model",
    "load_model",
    "checkpoint_path",
    "claim",
    "record",
]
