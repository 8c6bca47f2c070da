"""Time as a dependency: the real clock for users, a fake one in tests (no real sleeps)."""

import time


class Clock:
    """Monotonic seconds and sleeping. Phases never call `time` directly."""

    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        """Seconds since the epoch, for timestamps kept in AWS tags."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FakeClock(Clock):
    """A clock that only moves when something sleeps on it. For tests and benchmarks."""

    def __init__(self, start: float = 0.0):
        self.time = start
        self.slept: list[float] = []

    def now(self) -> float:
        return self.time

    def wall(self) -> float:
        return 1_800_000_000.0 + self.time

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.time += max(seconds, 0)
