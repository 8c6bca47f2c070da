"""Target health as an ALB computes it, for every target group in moto.

States and transitions (ELBv2 documentation):
- a newly registered target is `initial` until it passed HealthyThresholdCount consecutive
  checks (-> `healthy`) or failed UnhealthyThresholdCount consecutive checks (-> `unhealthy`);
- `healthy` <-> `unhealthy` after the same thresholds of consecutive results;
- a target that leaves the group (deregistered, terminated, put in Standby) is `draining` for
  the target group's deregistration delay, receives no new requests, and then disappears.

HealthBoard holds the states (thread-safe); HealthChecker is the thread that probes the KIE
emulators over HTTP at a fixed interval and feeds the board.
"""

from __future__ import annotations

import http.client
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

from .. import log
from . import moto_state
from .moto_state import TargetGroupView
from .repeat import Repeating

LOG = log.get("sandbox.health")
SYNC_INTERVAL = 0.1  # seconds between two looks at moto's registrations

INITIAL, HEALTHY, UNHEALTHY, DRAINING = "initial", "healthy", "unhealthy", "draining"
REASONS = {
    INITIAL: ("Elb.InitialHealthChecking", "Initial health checks in progress"),
    UNHEALTHY: ("Target.FailedHealthChecks", "Health checks failed"),
    DRAINING: ("Target.DeregistrationInProgress", "Target deregistration is in progress"),
}


@dataclass
class TargetHealth:
    state: str = INITIAL
    successes: int = 0  # consecutive
    failures: int = 0  # consecutive
    changed_at: float = 0.0
    drain_until: float = 0.0

    def observe(self, ok: bool, healthy_threshold: int, unhealthy_threshold: int, now: float) -> None:
        if self.state == DRAINING:
            return
        self.successes, self.failures = (self.successes + 1, 0) if ok else (0, self.failures + 1)
        if self.state != HEALTHY and self.successes >= healthy_threshold:
            self._become(HEALTHY, now)
        elif self.state != UNHEALTHY and self.failures >= unhealthy_threshold:
            self._become(UNHEALTHY, now)

    def drain(self, delay: float, now: float) -> None:
        if self.state != DRAINING:
            self._become(DRAINING, now)
            self.drain_until = now + delay

    def _become(self, state: str, now: float) -> None:
        self.state, self.changed_at = state, now


class HealthBoard:
    """Health of every target of every target group, keyed by (target group ARN, instance id)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._groups: dict[str, dict[str, TargetHealth]] = {}
        self._views: dict[str, TargetGroupView] = {}
        self.transitions: list[tuple[float, str, str, str]] = []  # (time, group ARN, target, new state)

    def sync(self, views: list[TargetGroupView]) -> None:
        """Follow registrations: new targets start `initial`, departed ones drain, drained ones go."""
        now = self._clock()
        with self._lock:
            for view in views:
                self._views[view.arn] = view
                targets = self._groups.setdefault(view.arn, {})
                for target_id in view.registered:
                    if target_id not in targets or targets[target_id].state == DRAINING:
                        targets[target_id] = TargetHealth(changed_at=now)
                        self.transitions.append((now, view.arn, target_id, INITIAL))
                for target_id, health in list(targets.items()):
                    if target_id not in view.registered:
                        if health.state != DRAINING:
                            health.drain(view.deregistration_delay, now)
                            self.transitions.append((now, view.arn, target_id, DRAINING))
                        elif now >= health.drain_until:
                            del targets[target_id]
            for arn in set(self._groups) - {view.arn for view in views}:  # target group deleted
                del self._groups[arn], self._views[arn]

    def record(self, group_arn: str, target_id: str, ok: bool) -> None:
        now = self._clock()
        with self._lock:
            health = self._groups.get(group_arn, {}).get(target_id)
            view = self._views.get(group_arn)
            if health is None or view is None:
                return
            before = health.state
            health.observe(ok, view.healthy_threshold, view.unhealthy_threshold, now)
            if health.state != before:
                self.transitions.append((now, group_arn, target_id, health.state))
                LOG.debug("target %s in %s: %s -> %s", target_id, view.name, before, health.state)

    def tracks(self, group_arn: str) -> bool:
        with self._lock:
            return group_arn in self._groups

    def states(self, group_arn: str) -> dict[str, str]:
        with self._lock:
            return {target_id: health.state for target_id, health in self._groups.get(group_arn, {}).items()}

    def to_check(self) -> list[tuple[str, str, str]]:
        """(group ARN, target id, health check path) of every target that is not draining."""
        with self._lock:
            return [
                (arn, target_id, self._views[arn].health_check_path)
                for arn, targets in self._groups.items()
                for target_id, health in targets.items()
                if health.state != DRAINING
            ]

    def matcher(self, group_arn: str) -> str:
        with self._lock:
            view = self._views.get(group_arn)
            return view.matcher if view else "200"

    def routable(self, group_arn: str) -> list[str]:
        """Targets that get new requests: the healthy ones; if none is healthy the ALB fails
        open to every registered target (initial or unhealthy); draining ones never."""
        states = self.states(group_arn)
        healthy = sorted(target for target, state in states.items() if state == HEALTHY)
        return healthy or sorted(target for target, state in states.items() if state != DRAINING)


class HealthChecker:
    """Checks every registered target over HTTP, every `interval` seconds, like the ALB does."""

    def __init__(self, board: HealthBoard, region: str, target_url: Callable[[str], str], interval: float,
                 timeout: float = 2.0):
        self.board, self.region, self.target_url = board, region, target_url
        self.interval, self.timeout = interval, timeout
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="health-check")
        # Registrations are followed every tick (a deregistered target must stop getting new
        # requests at once); health checks run every `interval`.
        self._loop = Repeating("health-checker", min(interval, SYNC_INTERVAL), self._tick)
        self._next_check = 0.0

    def start(self) -> "HealthChecker":
        self._loop.start()
        return self

    def stop(self) -> None:
        self._loop.stop()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def run_once(self) -> None:
        """One round: follow registrations, then check every target once."""
        self.board.sync(moto_state.target_groups(self.region))
        checks = self.board.to_check()
        results = self._pool.map(lambda check: self._check(*check), checks)
        for (arn, target_id, _), ok in zip(checks, results):
            self.board.record(arn, target_id, ok)

    def _tick(self) -> None:
        if time.monotonic() >= self._next_check:
            self._next_check = time.monotonic() + self.interval
            self.run_once()
        else:
            self.board.sync(moto_state.target_groups(self.region))

    def _check(self, group_arn: str, target_id: str, path: str) -> bool:
        url = self.target_url(target_id) + path
        host_port, _, rest = url.partition("://")[2].partition("/")
        connection = http.client.HTTPConnection(host_port, timeout=self.timeout)
        try:
            connection.request("GET", "/" + rest, headers={"User-Agent": "ELB-HealthChecker/2.0"})
            status = connection.getresponse().status
            return moto_state.matcher_accepts(self.board.matcher(group_arn), status)
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()
