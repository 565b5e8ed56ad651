"""The polling loop the outbox worker and the timer runner share."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


def run_until_stopped(
    one_pass: Callable[[], int],
    stop: threading.Event,
    wake: threading.Event | None = None,
    idle_seconds: float = 0.5,
    name: str = "pass",
) -> None:
    """Run passes until stopped: at once again after a busy pass, after a pause (or a wake-up) when idle."""
    while not stop.is_set():
        try:
            handled = one_pass()
        except Exception:  # a worker must outlive a database restart
            log.exception("%s failed", name)
            handled = 0
        if handled:
            continue
        if wake is not None:
            wake.wait(idle_seconds)
            wake.clear()
        else:
            stop.wait(idle_seconds)
