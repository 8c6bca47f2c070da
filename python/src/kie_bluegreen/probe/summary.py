"""What a run of probe traffic saw: a summary and a per-second timeline, as data and as text."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from .client import OK, Sample


@dataclass(frozen=True)
class Summary:
    requests: int
    ok: int
    failed: int
    failures: dict[str, int] = field(default_factory=dict)  # kind -> count
    expected: dict[str, int] = field(default_factory=dict)  # expected-<code> -> count
    versions: dict[str, int] = field(default_factory=dict)  # release version -> answers
    p50_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summarize(samples: list[Sample], since: float = float("-inf"), until: float = float("inf")) -> Summary:
    """Summary of the samples sent in [since, until) (time.monotonic() values)."""
    chosen = [sample for sample in samples if since <= sample.started < until]
    kinds = Counter(sample.kind for sample in chosen)
    latencies = sorted(sample.latency * 1000 for sample in chosen)
    rounded = lambda value: None if value is None else round(value, 2)  # noqa: E731
    return Summary(
        requests=len(chosen),
        ok=kinds.get(OK, 0),
        failed=sum(1 for sample in chosen if sample.failed),
        failures={
            kind: count for kind, count in sorted(kinds.items()) if kind != OK and not kind.startswith("expected-")
        },
        expected={kind: count for kind, count in sorted(kinds.items()) if kind.startswith("expected-")},
        versions=dict(
            sorted(Counter(sample.version for sample in chosen if sample.kind == OK and sample.version).items())
        ),
        p50_ms=rounded(percentile(latencies, 0.50)),
        p99_ms=rounded(percentile(latencies, 0.99)),
        max_ms=rounded(latencies[-1] if latencies else None),
    )


def timeline(samples: list[Sample], origin: float) -> list[dict]:
    """One entry per second since `origin`: requests, failures by kind, versions, p50."""
    seconds: dict[int, list[Sample]] = {}
    for sample in samples:
        seconds.setdefault(second_of(sample, origin), []).append(sample)
    return [second_entry(second, seconds.get(second, [])) for second in range(0, max(seconds) + 1 if seconds else 0)]


def second_of(sample: Sample, origin: float) -> int:
    return int(sample.started - origin)


def second_entry(second: int, samples: list[Sample]) -> dict:
    """The timeline entry of one second, from the samples sent during it."""
    summary = summarize(samples)
    return {
        "second": second,
        "requests": summary.requests,
        "failed": summary.failed,
        "failures": summary.failures,
        "expected": summary.expected,
        "versions": summary.versions,
        "p50_ms": summary.p50_ms,
    }


def outcome_words(summary_like: dict) -> str:
    """'1.0.0=52 2.0.0=48 http-503=1' from the versions, expected statuses and failures."""
    parts = [f"{version}={count}" for version, count in summary_like["versions"].items()]
    parts += [f"{kind}={count}" for kind, count in summary_like["expected"].items()]
    parts += [f"{kind}={count}" for kind, count in summary_like["failures"].items()]
    return " ".join(parts) or "-"


TIMELINE_HEADER = "  time  requests  failed  p50 ms  answers"


def timeline_line(entry: dict) -> str:
    p50 = "-" if entry["p50_ms"] is None else f"{entry['p50_ms']:.1f}"
    return f"{entry['second']:5d}s  {entry['requests']:8d}  {entry['failed']:6d}  {p50:>6}  {outcome_words(entry)}"


def render(summary: Summary, seconds: list[dict] | None = None) -> str:
    lines = []
    if seconds:
        lines.append(TIMELINE_HEADER)
        lines += [timeline_line(entry) for entry in seconds]
    latency = (
        "-"
        if summary.p50_ms is None
        else f"p50 {summary.p50_ms:.1f} ms, p99 {summary.p99_ms:.1f} ms, max {summary.max_ms:.1f} ms"
    )
    lines.append(f"{summary.requests} requests, {summary.failed} failed; latency {latency}")
    lines.append(f"answers: {outcome_words(summary.to_dict())}")
    return "\n".join(lines)


class LiveTimeline:
    """The timeline written while the traffic runs: each second's line once no request sent in
    that second is still waiting for its answer, so every line is final (the same line the
    whole-run timeline has). Fed with samples as they complete, in any order."""

    def __init__(self, origin: float, write: Callable[[str], None]):
        self.origin, self.write = origin, write
        self._seconds: dict[int, list[Sample]] = {}
        self._next = 0  # the first second not written yet
        self._last = -1  # the last second that has a sample
        write(TIMELINE_HEADER)

    def add(self, samples: list[Sample]) -> None:
        for sample in samples:
            second = second_of(sample, self.origin)
            self._seconds.setdefault(second, []).append(sample)
            self._last = max(self._last, second)

    def write_until(self, settled: float) -> None:
        """Write every second that ended before `settled` (see Traffic.settled)."""
        while self.origin + self._next + 1 <= settled:
            self._write_next()

    def finish(self) -> None:
        """The traffic is over: write the seconds left, up to the last one with a sample."""
        while self._next <= self._last:
            self._write_next()

    def _write_next(self) -> None:
        self.write(timeline_line(second_entry(self._next, self._seconds.pop(self._next, []))))
        self._next += 1
