"""Probe traffic from several clients through a story of steps, and the verdict on it.

Each client (the default path, `x-client-mode: blue`, `x-client-mode: green`) sends steady
requests for the whole story. Each step declares what every client must see once it is done
(a release version, or `404` for the green rule's fixed response), and what it may also see
while the step runs (`during`: both releases of a weighted step, the 500s of a bad release
before it is rolled back). A request passes when it saw:
- the outcome of the step running when it was sent, or of an earlier step whose successor's
  changes had not yet reached the ALB (successor's end + `settle`, the propagation delay), or
- one of the step's `during` outcomes, until the step's end + `settle`.
Any other failure (a 5xx, a connection error, a timeout, a bad KIE answer) fails the story; a
failure listed in `during` is an expected one (the bad release's own answers), counted apart.
Once a step's changes reached the ALB (end + `settle`) and until the next step starts, every
client must see only the step's outcome: `settled()` tells what each client saw then.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..probe import Sample, Traffic, target_url
from . import alb

FIXED_404 = "404"
CLIENT_HEADERS = {"default": {}, "blue": {"x-client-mode": "blue"}, "green": {"x-client-mode": "green"}}


@dataclass
class Step:
    name: str
    expect: dict[str, str]  # client -> version or "404"
    started: float
    ended: float | None = None
    during: dict[str, frozenset[str]] = field(default_factory=dict)  # client -> also allowed while it runs


@dataclass
class ClientVerdict:
    requests: int
    failed: int
    unexpected: int  # answered, but not with an outcome allowed at that moment
    outcomes: dict[str, int] = field(default_factory=dict)
    expected_failures: int = 0  # failures the story allowed (part of `failed`)

    @property
    def passed(self) -> bool:
        return self.failed == self.expected_failures and self.unexpected == 0


def outcome(sample: Sample) -> str:
    """What a client saw, in the words of the expectations: a version, '404', or the failure kind."""
    if sample.kind == "expected-404":
        return FIXED_404
    if sample.kind == "ok" and sample.version:
        return sample.version
    return sample.kind


# The clients wait longer than the ALB waits for a target: a target that hangs is the ALB's 504
# (a failed request), while a test machine that stalls for a few seconds is not a failure.
CLIENT_TIMEOUT = alb.TARGET_TIMEOUT + 5


class StoryTraffic:
    def __init__(self, alb_url: str, rate: float, initial: dict[str, str], settle: float,
                 container: str = "app", clients: dict[str, dict[str, str]] | None = None):
        self.settle = settle
        self.clients = clients or CLIENT_HEADERS
        url = target_url(alb_url, container)
        self.traffic = {name: Traffic(url, rate, headers, timeout=CLIENT_TIMEOUT, expect_status=frozenset({404}))
                        for name, headers in self.clients.items()}
        self.steps: list[Step] = [Step("(start)", dict(initial), time.monotonic(), time.monotonic())]
        self.samples: dict[str, list[Sample]] = {}

    def start(self) -> "StoryTraffic":
        self.steps[0].started = self.steps[0].ended = time.monotonic()
        for traffic in self.traffic.values():
            traffic.start()
        return self

    @contextmanager
    def step(self, name: str, expect: dict[str, str], during: dict[str, frozenset[str]] | None = None,
             linger: float = 0.0):
        """Mark a step of the story; then wait `linger` seconds, so that its own window of
        traffic also shows the routing it ended in (more than `settle`: the settled window)."""
        step = Step(name, dict(expect), time.monotonic(), during=dict(during or {}))
        self.steps.append(step)
        try:
            yield step
        finally:
            step.ended = time.monotonic()
            time.sleep(linger)

    def stop(self, linger: float | None = None) -> dict[str, list[Sample]]:
        """Let the last step settle (default: the settle time), then stop every client."""
        time.sleep(self.settle if linger is None else linger)
        self.samples = {name: traffic.stop() for name, traffic in self.traffic.items()}
        return self.samples

    # -- verdict ------------------------------------------------------------------------------

    def allowed(self, client: str, at: float) -> set[str]:
        """A step's outcome is allowed from its start until the next step's changes have reached
        the ALB (the next step's end plus `settle`); steps shorter than the propagation delay
        overlap, so several outcomes may be allowed at once."""
        allowed = set()
        for index, step in enumerate(self.steps):
            if step.started > at:
                break
            following = self.steps[index + 1] if index + 1 < len(self.steps) else None
            obsolete_at = float("inf") if following is None or following.ended is None else following.ended + self.settle
            if at < obsolete_at:
                allowed.add(step.expect[client])
            ended = float("inf") if step.ended is None else step.ended + self.settle
            if at < ended:
                allowed |= step.during.get(client, frozenset())
        return allowed

    def verdict(self) -> dict[str, ClientVerdict]:
        verdicts = {}
        for client, samples in self.samples.items():
            outcomes: dict[str, int] = {}
            unexpected = expected_failures = 0
            for sample in samples:
                seen = outcome(sample)
                outcomes[seen] = outcomes.get(seen, 0) + 1
                allowed = seen in self.allowed(client, sample.started)
                if sample.failed and allowed:
                    expected_failures += 1
                elif not sample.failed and not allowed:
                    unexpected += 1
            failed = sum(1 for sample in samples if sample.failed)
            verdicts[client] = ClientVerdict(len(samples), failed, unexpected, dict(sorted(outcomes.items())),
                                             expected_failures)
        return verdicts

    def passed(self) -> bool:
        return all(verdict.passed for verdict in self.verdict().values())

    def total(self) -> tuple[int, int]:
        """(requests, failed) over every client."""
        verdicts = self.verdict().values()
        return sum(v.requests for v in verdicts), sum(v.failed for v in verdicts)

    def expected_failures(self) -> int:
        return sum(verdict.expected_failures for verdict in self.verdict().values())

    def settled(self, index: int) -> dict[str, dict[str, int]]:
        """What each client saw once step `index` (1: the first after the start) had reached the
        ALB (its end + `settle`) until the next step started: outcome -> count."""
        step = self.steps[index]
        since = (step.ended if step.ended is not None else float("inf")) + self.settle
        until = self.steps[index + 1].started if index + 1 < len(self.steps) else float("inf")
        seen = {}
        for client, samples in self.samples.items():
            counts: dict[str, int] = {}
            for sample in samples:
                if since <= sample.started < until:
                    counts[outcome(sample)] = counts.get(outcome(sample), 0) + 1
            seen[client] = counts
        return seen

    def settled_as_expected(self) -> bool:
        """Every step's settled window shows each client its step's outcome alone (and something)."""
        return all(counts and set(counts) == {self.steps[index].expect[client]}
                   for index in range(1, len(self.steps))
                   for client, counts in self.settled(index).items())

    # -- reports ------------------------------------------------------------------------------

    def per_step(self) -> list[dict]:
        """For each step: what each client saw from the step's start to the next step's start,
        outcomes in the order they first appeared (e.g. 1.0.0=34 -> 404=178)."""
        rows = []
        for index, step in enumerate(self.steps[1:], start=1):
            until = self.steps[index + 1].started if index + 1 < len(self.steps) else float("inf")
            seen = {}
            for client, samples in self.samples.items():
                window = [sample for sample in samples if step.started <= sample.started < until]
                counts: dict[str, int] = {}
                for sample in window:
                    counts[outcome(sample)] = counts.get(outcome(sample), 0) + 1
                seen[client] = {"requests": len(window), "failed": sum(1 for sample in window if sample.failed),
                                "outcomes": counts}
            rows.append({"step": step.name, "expect": step.expect,
                         "seconds": round((step.ended or step.started) - step.started, 2), "seen": seen,
                         "settled": self.settled(index)})
        return rows

    def render(self) -> str:
        lines = []
        for row in self.per_step():
            lines.append(f"{row['step']} ({row['seconds']:.1f}s)")
            for client in self.clients:
                seen = row["seen"][client]
                words = " -> ".join(f"{what}={count}" for what, count in seen["outcomes"].items()) or "-"
                settled = ", ".join(f"{what}={count}" for what, count in row["settled"][client].items()) or "-"
                lines.append(f"  {client:<8} expect {row['expect'][client]:<6} saw {words}; once settled {settled}")
        lines.append("")
        for client, verdict in self.verdict().items():
            expected = f" ({verdict.expected_failures} expected)" if verdict.expected_failures else ""
            lines.append(f"{client:<8} {verdict.requests} requests, {verdict.failed} failed{expected},"
                         f" {verdict.unexpected} unexpected")
        return "\n".join(lines)
