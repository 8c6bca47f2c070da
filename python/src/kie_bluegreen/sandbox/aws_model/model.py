"""The AWS model: moto patched, process-wide, to behave like AWS where the runner relies on it.

    with AwsModel(clock=fake_clock.now) as model:      # in-process moto (mock_aws)
        ... boto3 calls ...
        model.fail("i-0123", reason="Target.ResponseCodeMismatch")

Time: every AWS call (ELBv2, Auto Scaling, EC2, CloudWatch) first brings the model up to the
clock's now (simulated health checks, drains that ended, scale-in terminations, lifecycle hook
timeouts, instance refresh steps), then lets moto answer, then looks at what the call changed.
Between calls nothing happens, so a fake clock that jumps is exact: catching up walks through
every instant something was due on the way (`now()` is that instant meanwhile), in order. The
sandbox, which runs on real time and checks its KIE Server emulators over HTTP, also calls
`tick` from a thread.

One model is installed at a time; `uninstall` puts moto back as it was.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone

from .. import moto_state
from ..moto_server import ACCOUNT_ID
from . import autoscaling_patch, ec2_patch, elbv2_patch, hooks, instance_refresh, launch_templates
from .patching import Patch
from .target_health import CODE_MISMATCH, DESCRIPTIONS, PASSED, CheckResult, HealthBoard

_installed: "AwsModel | None" = None
_install_lock = threading.Lock()

# A simulated failed check answers like a KIE Server that is not ready.
SIMULATED_FAILURE_DESCRIPTIONS = {**DESCRIPTIONS, CODE_MISMATCH: "Health checks failed with these codes: [503]"}


def current() -> "AwsModel | None":
    """The installed model, or None (moto then behaves as moto)."""
    return _installed


class AwsModel:
    """Install with a clock (`now()` in seconds). `simulate_checks`: health check results come
    from the model itself (every target passes unless `fail`ed); the sandbox turns it off and
    records real HTTP checks. `check_interval` overrides every target group's
    HealthCheckIntervalSeconds (a target turns healthy HealthyThresholdCount intervals after its
    checks start). `refresh_timeout`: how long an instance refresh that makes no progress keeps
    trying before it fails (AWS: one hour)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, simulate_checks: bool = True,
                 check_interval: float | None = None,
                 refresh_timeout: float = instance_refresh.NO_PROGRESS_TIMEOUT):
        self.clock = clock
        self.simulate_checks = simulate_checks
        self.check_interval = check_interval
        self.lock = threading.RLock()  # one AWS call or tick at a time
        self._boards: dict[tuple[str, str], HealthBoard] = {}
        self._failing: dict[str, CheckResult] = {}  # target id or "*" -> how its checks fail
        self._catching_up = threading.local()  # .at: the instant a catch-up is at, in its thread
        self._caught_up: dict[tuple[str, str], float] = {}  # (account, region) -> last tick's time
        self._wall_offset = time.time() - clock()
        self.scaling = autoscaling_patch.ScalingActivities(self)
        self.refreshes = instance_refresh.InstanceRefreshes(self, refresh_timeout)
        self._patches: list[Patch] = []

    # -- installing ---------------------------------------------------------------------------

    def install(self) -> "AwsModel":
        global _installed
        with _install_lock:
            if _installed is not None:
                raise RuntimeError("an AWS model is already installed; uninstall it first")
            self._patches = (hooks.patches() + elbv2_patch.patches() + ec2_patch.patches()
                             + autoscaling_patch.patches() + launch_templates.patches() + instance_refresh.patches())
            for patch in self._patches:
                patch.apply()
            existing = elbv2_patch.reshape_existing()
            _installed = self
        for account, region in existing:  # health checks of what exists start now
            self.tick(region, account)
        return self

    def uninstall(self) -> None:
        global _installed
        with _install_lock:
            if _installed is not self:
                return
            for patch in reversed(self._patches):
                patch.undo()
            self._patches = []
            _installed = None

    def __enter__(self) -> "AwsModel":
        return self.install()

    def __exit__(self, *exc) -> None:
        self.uninstall()

    def forget_world(self) -> None:
        """Everything the model kept about AWS resources (moto was reset); `fail` settings stay."""
        with self.lock:
            self._boards.clear()
            self._caught_up.clear()
            self.scaling.forget_all()
            self.refreshes.forget_all()

    # -- what tests use ---------------------------------------------------------------------------

    def fail(self, target: str = "*", reason: str = CODE_MISMATCH, description: str | None = None) -> None:
        """From now on the health checks of `target` (an instance id, or "*" for every target)
        fail with `reason` (Target.ResponseCodeMismatch, Target.Timeout or
        Target.FailedHealthChecks): `unhealthy` after UnhealthyThresholdCount failed checks."""
        with self.lock:
            self._catch_up()
            self._failing[target] = CheckResult(False, reason, description or SIMULATED_FAILURE_DESCRIPTIONS.get(reason))

    def recover(self, target: str = "*") -> None:
        """Undo `fail` ("*" undoes every one): `healthy` again after HealthyThresholdCount checks."""
        with self.lock:
            self._catch_up()
            if target == "*":
                self._failing.clear()
            else:
                self._failing.pop(target, None)

    def check_result(self, target_id: str) -> CheckResult:
        """The forced outcome of a target's next check: a failure set by `fail`, else a pass."""
        return self._failing.get(target_id) or self._failing.get("*") or PASSED

    def forced_failure(self, target_id: str) -> CheckResult | None:
        result = self.check_result(target_id)
        return None if result.ok else result

    def board(self, region: str, account: str = ACCOUNT_ID) -> HealthBoard:
        with self.lock:
            key = (account, region)
            if key not in self._boards:
                self._boards[key] = HealthBoard(self.now)
            return self._boards[key]

    # -- time ---------------------------------------------------------------------------------

    def now(self) -> float:
        """The clock's now, or during a catch-up (in the thread doing it) the instant reached."""
        at = getattr(self._catching_up, "at", None)
        return self.clock() if at is None else at

    def wall(self, instant: float) -> datetime:
        """A model instant as the date and time AWS would report."""
        return datetime.fromtimestamp(self._wall_offset + instant, tz=timezone.utc)

    def tick(self, region: str, account: str = ACCOUNT_ID) -> None:
        """Bring one account and region up to now, stopping at every instant something was due
        on the way (a drain or hook timeout, an instance refresh's next step), in order."""
        with self.lock:
            key, target = (account, region), self.clock()
            reached = self._caught_up.get(key, float("-inf"))
            try:
                for _ in range(100_000):  # a bound, not a budget: each step moves time forward
                    due = [moment for moment in (self.scaling.next_due(account, region, reached),
                                                 self.refreshes.next_due(account, region, reached))
                           if moment is not None and moment < target]
                    if not due:
                        break
                    reached = self._catching_up.at = min(due)
                    self._step(account, region)
            finally:
                self._catching_up.at = None
            self._step(account, region)
            self._caught_up[key] = max(target, self._caught_up.get(key, target))

    def _step(self, account: str, region: str) -> None:
        """Due health checks (with what the world looked like since the last step), ended
        drains and waits, what moto holds now, then the instance refreshes' next moves."""
        board = self.board(region, account)
        if self.simulate_checks:
            board.simulate(self.check_result, self.check_interval)
        self.scaling.run_due(account, region, self.now())
        board.sync(moto_state.target_groups(region, account))
        if self.refreshes.advance(account, region):  # instances launched or retired
            board.sync(moto_state.target_groups(region, account))

    def _catch_up(self) -> None:
        for account, region in list(self._boards):
            self.tick(region, account)
