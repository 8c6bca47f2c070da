"""Target health as an Application Load Balancer reports it: one state machine for the in-process
model (checks simulated on a clock) and the sandbox (real HTTP checks of KIE Server emulators).

Rules (ALB guide, "Target groups for your Application Load Balancers" and "Health checks for
your target groups"; API reference, TargetHealth):
- health checks run only for targets registered to a target group that a listener action
  references (weight 0 included) and that sit in an Availability Zone the referencing load
  balancer enables; every other registered target is `unused` (Target.NotInUse);
- a target starts `initial` (Elb.InitialHealthChecking) when its checks start: when it
  registers into a referenced group, or when its group becomes referenced;
- `healthy` after HealthyThresholdCount consecutive passed checks, `unhealthy` after
  UnhealthyThresholdCount consecutive failed ones, and back with the same thresholds;
- a deregistered target is `draining` (Target.DeregistrationInProgress) for the group's
  deregistration delay, then gone; a group that loses its last reference turns `unused` again.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # moto_state imports this package: no import-time cycle
    from ..moto_state import RegisteredTarget, TargetGroupView

INITIAL, HEALTHY, UNHEALTHY, UNUSED, DRAINING = "initial", "healthy", "unhealthy", "unused", "draining"
CHECKED = (INITIAL, HEALTHY, UNHEALTHY)

INITIAL_CHECKS = "Elb.InitialHealthChecking"
DEREGISTERING = "Target.DeregistrationInProgress"
NOT_IN_USE = "Target.NotInUse"
NOT_REGISTERED = "Target.NotRegistered"
INVALID_STATE = "Target.InvalidState"
FAILED_CHECKS = "Target.FailedHealthChecks"
CODE_MISMATCH = "Target.ResponseCodeMismatch"
TIMED_OUT = "Target.Timeout"
# The descriptions of the ALB guide's reason code table.
DESCRIPTIONS = {
    INITIAL_CHECKS: "Initial health checks in progress",
    DEREGISTERING: "Target deregistration is in progress",
    NOT_REGISTERED: "Target is not registered to the target group",
    INVALID_STATE: "Target is in the stopped state",
    FAILED_CHECKS: "Health checks failed",
    TIMED_OUT: "Request timed out",
    CODE_MISMATCH: "Health checks failed",
}
UNREFERENCED = "Target group is not configured to receive traffic from the load balancer"
ZONE_NOT_ENABLED = "Target is in an Availability Zone that is not enabled for the load balancer"


@dataclass(frozen=True)
class Health:
    state: str
    reason: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    reason: str | None = None  # for a failure: FAILED_CHECKS, CODE_MISMATCH or TIMED_OUT
    description: str | None = None


PASSED = CheckResult(True)


@dataclass
class TargetHealth:
    state: str = INITIAL
    successes: int = 0  # consecutive
    failures: int = 0  # consecutive
    changed_at: float = 0.0
    drain_until: float = 0.0
    reason: str | None = INITIAL_CHECKS
    description: str | None = DESCRIPTIONS[INITIAL_CHECKS]
    checks_since: float | None = None  # when its health checks started (in use)
    next_check: float | None = None  # the next simulated check
    last_checked: str | None = None  # the state its checks had reached when they stopped

    def observe(self, ok: bool, healthy_threshold: int, unhealthy_threshold: int, now: float,
                reason: str | None = None, description: str | None = None) -> None:
        # "Health checks for your target groups", https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html
        """One health check result."""
        if self.state not in CHECKED:
            return
        self.successes, self.failures = (self.successes + 1, 0) if ok else (0, self.failures + 1)
        failure = (reason or FAILED_CHECKS, description or DESCRIPTIONS.get(reason or FAILED_CHECKS))
        if ok and self.state != HEALTHY and self.successes >= healthy_threshold:
            self.become(HEALTHY, now)
        elif not ok and self.state != UNHEALTHY and self.failures >= unhealthy_threshold:
            self.become(UNHEALTHY, now, *failure)
        elif not ok and self.state == UNHEALTHY:
            self.reason, self.description = failure  # the latest failure is what AWS reports

    def become(self, state: str, now: float, reason: str | None = None, description: str | None = None) -> None:
        self.state, self.changed_at = state, now
        self.reason, self.description = reason, description or DESCRIPTIONS.get(reason)

    def start_checks(self, now: float) -> None:
        self.become(INITIAL, now, INITIAL_CHECKS)
        self.successes = self.failures = 0
        self.checks_since, self.next_check = now, None

    def stop_checks(self, now: float, reason: str, description: str) -> None:
        if self.state in CHECKED:
            self.last_checked = self.state
        if (self.state, self.reason, self.description) != (UNUSED, reason, description):
            self.become(UNUSED, now, reason, description)
        self.successes = self.failures = 0
        self.checks_since = self.next_check = None

    def drain(self, delay: float, now: float) -> None:
        # "Deregistration delay", https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html#deregistration-delay
        if self.state != DRAINING:
            self.become(DRAINING, now, DEREGISTERING)
            self.drain_until = now + delay
            self.checks_since = self.next_check = None


def unused_reason(view: TargetGroupView, target: RegisteredTarget) -> tuple[str, str] | None:
    # "Target groups for your Application Load Balancers", https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html
    """Why a registered target is not health-checked, or None when it is."""
    if target.state != "running":
        return INVALID_STATE, f"Target is in the {target.state} state"
    if view.serving_zones is None:
        return NOT_IN_USE, UNREFERENCED
    if target.zone is not None and target.zone not in view.serving_zones:
        return NOT_IN_USE, ZONE_NOT_ENABLED
    return None


class HealthBoard:
    """Health of every target of the target groups of one account and region, keyed by
    (target group ARN, target id). Thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.RLock()
        self._groups: dict[str, dict[str, TargetHealth]] = {}
        self._views: dict[str, TargetGroupView] = {}
        self.transitions: list[tuple[float, str, str, str]] = []  # (time, group ARN, target, new state)

    # -- following moto ---------------------------------------------------------------------

    def sync(self, views: list[TargetGroupView]) -> None:
        """Follow registrations and references: targets start `initial` or `unused`, turn
        `unused` or `initial` when their group's references change, drain when deregistered,
        and go once drained."""
        now = self._clock()
        with self._lock:
            for view in views:
                self._views[view.arn] = view
                targets = self._groups.setdefault(view.arn, {})
                for target in view.targets:
                    self._follow(view, target, targets, now)
                registered = set(view.registered)
                for target_id, health in list(targets.items()):
                    if target_id in registered:
                        continue
                    if health.state != DRAINING:
                        health.drain(view.deregistration_delay, now)
                        self._note(now, view.arn, target_id, DRAINING)
                    elif now >= health.drain_until:
                        del targets[target_id]
            for arn in set(self._groups) - {view.arn for view in views}:  # target group deleted
                del self._groups[arn]
                self._views.pop(arn, None)

    def _follow(self, view: TargetGroupView, target: RegisteredTarget, targets: dict[str, TargetHealth],
                now: float) -> None:
        unused = unused_reason(view, target)
        health = targets.get(target.id)
        if health is None or health.state == DRAINING:  # (re)registered
            health = targets[target.id] = TargetHealth(changed_at=now)
            if unused:
                health.stop_checks(now, *unused)
            else:
                health.start_checks(now)
            self._note(now, view.arn, target.id, health.state)
        elif unused:
            before = health.state
            health.stop_checks(now, *unused)
            if before != UNUSED:
                self._note(now, view.arn, target.id, UNUSED)
        elif health.state == UNUSED:
            health.start_checks(now)
            self._note(now, view.arn, target.id, INITIAL)

    # -- health check results ---------------------------------------------------------------

    def record(self, group_arn: str, target_id: str, result: CheckResult | bool, at: float | None = None) -> None:
        """One health check result of a target (ignored unless the target is being checked)."""
        result = CheckResult(result) if isinstance(result, bool) else result
        now = self._clock() if at is None else at
        with self._lock:
            health = self._groups.get(group_arn, {}).get(target_id)
            view = self._views.get(group_arn)
            if health is None or view is None:
                return
            before = health.state
            health.observe(result.ok, view.healthy_threshold, view.unhealthy_threshold, now,
                           result.reason, result.description)
            if health.state != before:
                self._note(now, group_arn, target_id, health.state)

    def simulate(self, result_of: Callable[[str], CheckResult], interval: float | None = None) -> None:
        """Run, on the clock, every check due since the last call: one per target every
        `interval` seconds (default: the group's HealthCheckIntervalSeconds), the first one an
        interval after the target's checks started. `result_of(target_id)` says how it went."""
        now = self._clock()
        with self._lock:
            for arn, targets in self._groups.items():
                view = self._views[arn]
                every = interval or view.interval
                for target_id, health in targets.items():
                    if health.state not in CHECKED or health.checks_since is None:
                        continue
                    if health.next_check is None:
                        health.next_check = health.checks_since + every
                    while health.next_check <= now:
                        result = result_of(target_id)
                        if _settled(health, result):  # further checks change nothing: skip them
                            health.next_check += every * (math.floor((now - health.next_check) / every) + 1)
                            break
                        self.record(arn, target_id, result, at=health.next_check)
                        health.next_check += every

    def next_check(self, target_ids: set[str], interval: float | None = None) -> float | None:
        """When the next simulated check of any of these targets (in any group) is due."""
        with self._lock:
            due = [health.next_check if health.next_check is not None
                   else health.checks_since + (interval or self._views[arn].interval)
                   for arn, targets in self._groups.items()
                   for target_id, health in targets.items()
                   if target_id in target_ids and health.state in CHECKED and health.checks_since is not None]
        return min(due, default=None)

    # -- what AWS and the data plane read ---------------------------------------------------

    def health(self, group_arn: str) -> dict[str, Health]:
        """Every registered or draining target of the group, as DescribeTargetHealth reports it."""
        now = self._clock()
        with self._lock:
            return {target_id: Health(health.state, health.reason, health.description)
                    for target_id, health in self._groups.get(group_arn, {}).items()
                    if health.state != DRAINING or now < health.drain_until}

    def states(self, group_arn: str) -> dict[str, str]:
        return {target_id: health.state for target_id, health in self.health(group_arn).items()}

    def tracks(self, group_arn: str) -> bool:
        with self._lock:
            return group_arn in self._groups

    def to_check(self) -> list[tuple[str, str, str]]:
        """(group ARN, target id, health check path) of every target being health-checked."""
        with self._lock:
            return [
                (arn, target_id, self._views[arn].health_check_path)
                for arn, targets in self._groups.items()
                for target_id, health in targets.items()
                if health.state in CHECKED
            ]

    def matcher(self, group_arn: str) -> str:
        with self._lock:
            view = self._views.get(group_arn)
            return view.matcher if view else "200"

    def routable(self, group_arn: str, served: bool = False) -> list[str]:
        """Targets that get new requests: the healthy ones; if none is healthy the ALB fails
        open to every checked target (initial or unhealthy); never draining ones. `served`: the
        load balancer nodes still serve rules that reference the group (a change that removed
        the reference has not reached them yet), so a target that turned `unused` because no
        action references its group any more counts as its checks had left it."""
        # Fail-open: "Health checks for your target groups", https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html
        with self._lock:
            states = {}
            for target_id, health in self._groups.get(group_arn, {}).items():
                state = health.state
                if served and state == UNUSED and health.description == UNREFERENCED and health.last_checked:
                    state = health.last_checked
                states[target_id] = state
        healthy = sorted(target for target, state in states.items() if state == HEALTHY)
        return healthy or sorted(target for target, state in states.items() if state in (INITIAL, UNHEALTHY))

    def _note(self, at: float, group_arn: str, target_id: str, state: str) -> None:
        self.transitions.append((at, group_arn, target_id, state))


def _settled(health: TargetHealth, result: CheckResult) -> bool:
    if result.ok:
        return health.state == HEALTHY and health.failures == 0
    return health.state == UNHEALTHY and health.successes == 0 and health.reason == (result.reason or FAILED_CHECKS)
