"""genai_lib: the reusable code of the executable textbook on generative AI."""

__version__ = "0.1.0"

from genai_lib.checkpoint import load_model, save_model  # noqa: E402
from genai_lib.config import budget, get_budget, setup  # noqa: E402
from genai_lib.train import History, TrainConfig, fit  # noqa: E402

__all__ = ["__version__", "budget", "get_budget", "setup", "fit", "TrainConfig", "History",
           "save_model", "load_model"]
