"""Logging to stderr (stdout is reserved for the result, e.g. the JSON object)."""

import logging
import sys

LOGGER_NAME = "kie_bluegreen"


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a line is logged (a caller may redirect it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def setup(verbose: bool = False) -> None:
    handler = _Stderr()
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger(LOGGER_NAME)
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False


def get(name: str) -> logging.Logger:
    return logging.getLogger(f"{LOGGER_NAME}.{name}")


class Progress:
    """Progress lines of a long wait: one when what it shows changed, and a heartbeat while
    nothing does, each with the seconds since the wait began."""

    def __init__(self, logger: logging.Logger, clock, heartbeat: float = 60.0):
        self.logger, self.clock, self.heartbeat = logger, clock, heartbeat
        self.started = clock.now()
        self._line: str | None = None
        self._at = self.started

    def show(self, prefix: str, line: str) -> None:
        now = self.clock.now()
        if line != self._line or now - self._at >= self.heartbeat:
            self.logger.info("  %s: %s (%.0fs)", prefix, line, now - self.started)
            self._line, self._at = line, now
