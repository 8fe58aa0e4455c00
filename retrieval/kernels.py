"""Whether scoring runs through the compiled loops (retrieval/compiled.py) or numpy: numpy until enable()."""

from __future__ import annotations

import importlib
import logging
import threading
from types import ModuleType

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_compiled: ModuleType | None = None


def enable() -> bool:
    """Compile the scoring loops (or load them from numba's cache) and score with them from now on.

    For processes that answer many questions: it costs about 0.5 s with the cache, a few seconds without.
    Returns False, and scoring stays on numpy, when numba cannot be imported or compile.
    """
    global _compiled
    with _lock:
        if _compiled is not None:
            return True
        try:
            compiled = importlib.import_module("rectbot.retrieval.compiled")
            compiled.warm_up()
        except Exception:  # noqa: BLE001 - any failure leaves the numpy loops, which give the same scores
            logger.warning("compiled scoring unavailable; scoring with numpy", exc_info=True)
            return False
        _compiled = compiled
        return True


def disable() -> None:
    """Score with numpy again (the tests compare the two)."""
    global _compiled
    with _lock:
        _compiled = None


def compiled() -> ModuleType | None:
    """The compiled loops, or None while scoring runs on numpy."""
    return _compiled
