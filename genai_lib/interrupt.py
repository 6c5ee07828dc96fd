"""Stopping training cleanly on Ctrl-C (or Jupyter's interrupt button): finish the step, save, then stop."""

from __future__ import annotations

import signal
import threading
from typing import Any


class GracefulInterrupt:
    """Within this block the first Ctrl-C sets `requested` (stop after the current step); a second one aborts."""

    def __init__(self) -> None:
        self.requested = False
        self._installed = False
        self._previous: Any = None  # the handler to put back: a function, SIG_DFL/SIG_IGN, or None

    def __enter__(self) -> GracefulInterrupt:
        # Python lets only the main thread set signal handlers; elsewhere Ctrl-C keeps its usual meaning.
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nInterrupt received: stopping after this step and saving (interrupt again to abort at once).")

    def __exit__(self, *exc) -> None:
        if self._installed:  # None means a handler installed outside Python: fall back to the default one
            signal.signal(signal.SIGINT, self._previous if self._previous is not None else signal.default_int_handler)
