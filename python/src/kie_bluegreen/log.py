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
