"""Steady, open-loop traffic: request i is due at start + i / rate, whatever the previous
answers took, so a slow or hanging server shows up as latency and failures instead of quietly
lowering the rate. A pool of workers, each with its own keep-alive connection, takes the next
due slot; the pool is sized so one worker may hang for a few hundred milliseconds unnoticed.

While it runs, `settled()` tells up to when the record is complete (no request sent before that
moment is still waiting for its answer), so a live timeline can print each second once, final.
"""

from __future__ import annotations

import math
import threading
import time

from .client import Client, Sample


class Traffic:
    def __init__(self, url: str, rate: float, headers: dict[str, str] | None = None, timeout: float = 5.0,
                 expect_status: frozenset[int] = frozenset(), duration: float | None = None, workers: int | None = None):
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self.url, self.rate, self.duration = url, rate, duration
        self.headers = dict(headers or {})
        self.timeout, self.expect_status = timeout, expect_status
        self.workers = workers or max(4, min(64, math.ceil(rate / 5)))
        self.samples: list[Sample] = []
        self.started: float | None = None
        self._next_slot = 0
        self._in_flight: dict[int, float] = {}  # worker -> when its current request was sent
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> "Traffic":
        self.started = time.monotonic()
        self._threads = [threading.Thread(target=self._work, args=(index,), name=f"probe-{index}", daemon=True)
                         for index in range(self.workers)]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> list[Sample]:
        """Stop sending, wait for the requests in flight, return every sample in send order."""
        self._stop.set()
        return self.join()

    def join(self) -> list[Sample]:
        for thread in self._threads:
            thread.join()
        with self._lock:
            return sorted(self.samples, key=lambda sample: sample.started)

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the traffic to end; True when it has."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)

    def settled(self, start: int = 0) -> tuple[float, list[Sample]]:
        """(moment, samples[start:] in the order they completed): every request sent before
        `moment` (time.monotonic()) has completed and is among the samples."""
        with self._lock:
            now = time.monotonic()
            return min([now, *self._in_flight.values()]), self.samples[start:]

    def run(self) -> list[Sample]:
        """Send for `duration` seconds (or until interrupted) and return the samples."""
        self.start()
        try:
            return self.join()
        except KeyboardInterrupt:
            return self.stop()

    def _due(self) -> float | None:
        """The send time of the next free slot, or None when the traffic is over."""
        with self._lock:
            slot = self._next_slot
            self._next_slot += 1
        due = self.started + slot / self.rate
        if self.duration is not None and due >= self.started + self.duration:
            return None
        return due

    def _work(self, index: int) -> None:
        client = Client(self.url, self.headers, self.timeout, self.expect_status)
        try:
            while not self._stop.is_set():
                due = self._due()
                if due is None or self._stop.wait(max(0.0, due - time.monotonic())):
                    return
                with self._lock:  # before the request: its sample.started is not earlier than this
                    self._in_flight[index] = time.monotonic()
                sample = client.send()
                with self._lock:
                    self.samples.append(sample)
                    del self._in_flight[index]
        finally:
            client.close()
