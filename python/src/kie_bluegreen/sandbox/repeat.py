"""A daemon thread that calls a function every few seconds until stopped."""

from __future__ import annotations

import threading
from collections.abc import Callable

from .. import log

LOG = log.get("sandbox")


class Repeating:
    def __init__(self, name: str, interval: float, action: Callable[[], None]):
        self.name, self.interval, self.action = name, interval, action
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> "Repeating":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.action()
            except Exception:  # keep the sandbox alive; the next round usually succeeds
                LOG.exception("%s: round failed", self.name)
            self._stop.wait(self.interval)
