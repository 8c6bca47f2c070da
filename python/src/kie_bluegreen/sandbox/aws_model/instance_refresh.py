"""Auto Scaling instance refresh, which moto does not implement (StartInstanceRefresh,
DescribeInstanceRefreshes, CancelInstanceRefresh and RollbackInstanceRefresh raise
NotImplementedError there). Each rule's source is in docs/aws-behaviour.md and named at its code.

The Rolling strategy, one step at every instant the model catches up with:
- StartInstanceRefresh answers an id; the refresh is Pending, then InProgress from its first step
  (at the end of the same call).
- A step replaces what the bounds allow. Healthy instances stay at least MinHealthyPercentage of
  the desired capacity (rounded up); pending and in-service instances stay at most
  MaxHealthyPercentage of it (rounded down), or exactly the desired capacity when
  MaxHealthyPercentage is not set (terminate and launch together). Healthy: InService, running,
  with HealthCheckType ELB `healthy` in every target group of the group, and for an instance
  launched by the refresh its warmup passed since it entered InService. When the bounds allow no
  step and nothing is on its way, one instance is replaced anyway: launched first when
  MaxHealthyPercentage is set, terminated and launched together when it is not.
- A replaced instance leaves like a scale-in (deregistered, drained, then terminated); new ones
  launch from the desired configuration with the group's propagated tags of that moment.
- Checkpoints pause for CheckpointDelay; the last one ends the refresh; BakeTime is spent
  `Baking`; then Successful, and the group takes the desired configuration.
- No progress for an hour (new instances never healthy; Standby or scale-in protected instances
  with Wait) fails the refresh; so does an alarm of AlarmSpecification in ALARM. With
  AutoRollback a failure rolls back instead.
- A rollback (RollbackInstanceRefresh, or AutoRollback) replaces, the same way, the instances on
  the desired configuration with instances of the group's own configuration: RollbackSuccessful.
- CancelInstanceRefresh starts no new replacement: Cancelling until the launches under way are
  in service, then Cancelled.

Not modelled: the ReplaceRootVolume strategy (refused), warm pools (no ProgressDetails),
instance types in skip matching (only the launch template version is compared), checkpoint
events, scaling activities, the 14-day limit, Auto Scaling's replacement of unhealthy instances.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field

from moto.autoscaling.exceptions import AutoscalingClientError
from moto.autoscaling.responses import AutoScalingResponse
from moto.backends import get_backend
from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError

from . import launch_templates
from .launch_templates import LaunchSpec
from .patching import Patch
from .target_health import HEALTHY, UNHEALTHY

PENDING, IN_PROGRESS, BAKING = "Pending", "InProgress", "Baking"
SUCCESSFUL, FAILED, CANCELLING, CANCELLED = "Successful", "Failed", "Cancelling", "Cancelled"
ROLLBACK_IN_PROGRESS, ROLLBACK_FAILED, ROLLBACK_SUCCESSFUL = "RollbackInProgress", "RollbackFailed", "RollbackSuccessful"
ACTIVE = (PENDING, IN_PROGRESS, BAKING, CANCELLING, ROLLBACK_IN_PROGRESS)
ROLLBACK_ALLOWED = (PENDING, IN_PROGRESS, BAKING)  # "roll back an instance refresh that is still in progress"
REFRESHING, ROLLING_BACK = "refresh", "rollback"  # phases

IN_SERVICE, STANDBY = "InService", "Standby"
CAPACITY = ("Pending", "Pending:Wait", "Pending:Proceed", IN_SERVICE)  # counted against the desired capacity
LAUNCHING = ("Pending", "Pending:Wait", "Pending:Proceed")

# "How an instance refresh works in an Auto Scaling group" (Limitations: one-hour timeout), https://docs.aws.amazon.com/autoscaling/ec2/userguide/instance-refresh-overview.html
NO_PROGRESS_TIMEOUT = 3600.0
# "Understand the default values for an instance refresh", https://docs.aws.amazon.com/autoscaling/ec2/userguide/understand-instance-refresh-default-values.html
DEFAULT_MIN_HEALTHY, DEFAULT_CHECKPOINT_DELAY = 90, 3600
MAX_ALARMS = 10
# "RefreshPreferences", https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_RefreshPreferences.html
MAX_DELAY = 172800

# AWS's answers as quoted by real clients (docs/aws-behaviour.md names them).
ALREADY_IN_PROGRESS = "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh."
# "How an instance refresh works in an Auto Scaling group" (Limitations: update restriction), URL above
UPDATE_RESTRICTED = ("An active instance refresh with a desired configuration exists. All configuration options derived"
                     " from the desired configuration are not available for update while the instance refresh is active.")


def _model():
    from .model import current

    return current()


def _error(code: str, message: str) -> AutoscalingClientError:
    return AutoscalingClientError(code, message)


def _invalid(message: str) -> AutoscalingClientError:
    return _error("ValidationError", message)


def _not_found(group_name: str) -> AutoscalingClientError:
    return _error("ActiveInstanceRefreshNotFound",
                  f"No in progress or pending Instance Refresh found for Auto Scaling group {group_name}")


# -- preferences -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Preferences:
    min_healthy: int
    max_healthy: int | None  # None: not set, terminate and launch together
    warmup: float
    checkpoints: tuple[int, ...]
    checkpoint_delay: float
    skip_matching: bool
    auto_rollback: bool
    protected: str  # ScaleInProtectedInstances: Refresh | Ignore | Wait
    standby: str  # StandbyInstances: Terminate | Ignore | Wait
    alarms: tuple[str, ...]
    bake_time: float
    shown: dict  # as DescribeInstanceRefreshes reads them back


def preferences(raw: dict, group) -> Preferences:
    """The request's preferences with the documented defaults, or a ValidationError."""
    # "RefreshPreferences", https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_RefreshPreferences.html
    # "Understand the default values for an instance refresh", URL above
    policy = getattr(group, "instance_maintenance_policy", None) or {}
    min_healthy = raw.get("MinHealthyPercentage", policy.get("MinHealthyPercentage", DEFAULT_MIN_HEALTHY))
    max_healthy = raw.get("MaxHealthyPercentage", policy.get("MaxHealthyPercentage"))
    if not 0 <= min_healthy <= 100:
        raise _invalid(f"MinHealthyPercentage must be 0 to 100, got {min_healthy}")
    if "MaxHealthyPercentage" in raw and "MinHealthyPercentage" not in raw:
        raise _invalid("MaxHealthyPercentage needs MinHealthyPercentage")
    if max_healthy is not None and not (100 <= max_healthy <= 200 and max_healthy - min_healthy <= 100):
        raise _invalid(f"MaxHealthyPercentage must be 100 to 200 and at most 100 above MinHealthyPercentage,"
                       f" got {max_healthy} with {min_healthy}")
    checkpoints = tuple(raw.get("CheckpointPercentages") or ())
    if list(checkpoints) != sorted(set(checkpoints)) or any(not 1 <= value <= 100 for value in checkpoints):
        raise _invalid(f"CheckpointPercentages must be unique values of 1 to 100 in ascending order, got {list(checkpoints)}")
    if "CheckpointDelay" in raw and not checkpoints:
        raise _invalid("CheckpointDelay needs CheckpointPercentages")
    delay = raw.get("CheckpointDelay", DEFAULT_CHECKPOINT_DELAY)
    bake_time = raw.get("BakeTime", 0)
    for name, value in (("CheckpointDelay", delay), ("BakeTime", bake_time)):
        if not 0 <= value <= MAX_DELAY:
            raise _invalid(f"{name} must be 0 to {MAX_DELAY}, got {value}")
    alarms = tuple((raw.get("AlarmSpecification") or {}).get("Alarms") or ())
    if len(alarms) > MAX_ALARMS:
        raise _invalid(f"AlarmSpecification takes at most {MAX_ALARMS} alarms, got {len(alarms)}")
    warmup = raw.get("InstanceWarmup")
    if warmup is None:  # the group's default instance warmup, else its health check grace period
        warmup = getattr(group, "default_instance_warmup", None)
    if warmup is None:
        warmup = group.health_check_grace_period or 0
    shown = {"MinHealthyPercentage": min_healthy, "InstanceWarmup": int(warmup),
             "SkipMatching": bool(raw.get("SkipMatching", False)), "AutoRollback": bool(raw.get("AutoRollback", False)),
             "ScaleInProtectedInstances": raw.get("ScaleInProtectedInstances", "Wait"),
             "StandbyInstances": raw.get("StandbyInstances", "Wait")}
    if max_healthy is not None:
        shown["MaxHealthyPercentage"] = max_healthy
    if checkpoints:
        shown.update(CheckpointPercentages=list(checkpoints), CheckpointDelay=delay)
    if alarms:
        shown["AlarmSpecification"] = {"Alarms": list(alarms)}
    if "BakeTime" in raw:
        shown["BakeTime"] = bake_time
    return Preferences(min_healthy, max_healthy, float(warmup), checkpoints, float(delay), shown["SkipMatching"],
                       shown["AutoRollback"], shown["ScaleInProtectedInstances"], shown["StandbyInstances"], alarms,
                       float(bake_time), shown)


# -- one refresh -------------------------------------------------------------------------------

@dataclass
class Refresh:
    id: str
    account: str
    region: str
    group: str
    preferences: Preferences
    desired: LaunchSpec | None  # the desired configuration, its version fixed at the start
    desired_request: dict | None  # DesiredConfiguration as asked (read back, applied on success)
    previous: LaunchSpec | None  # the group's configuration at the start
    started_at: float
    to_replace: set[str]  # the instances the refresh phase replaces
    total: int
    status: str = PENDING
    reason: str | None = None
    ended_at: float | None = None
    phase: str = REFRESHING
    percentage: int = 0
    to_update: int = 0
    launched_at: dict[str, float] = field(default_factory=dict)  # launched during this phase
    in_service_at: dict[str, float] = field(default_factory=dict)
    last_progress: float = 0.0
    next_checkpoint: int = 0  # index into preferences.checkpoints
    paused_until: float | None = None
    partial_done: bool = False  # the last checkpoint is below 100 and was reached
    bake_until: float | None = None
    rollback: dict | None = None  # RollbackDetails
    deployed: set[str] = field(default_factory=set)  # launched by the refresh phase: what a rollback replaces
    rollback_total: int = 0

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def finish(self, status: str, now: float, reason: str | None = None) -> None:
        self.status, self.reason, self.ended_at = status, reason, now
        self.paused_until = self.bake_until = None


@dataclass
class _Census:
    """The group's instances as one step of a refresh sees them."""
    capacity: list  # pending or in service
    outdated: list  # in capacity, to be replaced
    blocked: list  # outdated ones the refresh waits for (scale-in protected, Wait)
    standby: list  # Standby instances to replace: Terminate retires them, Wait waits
    current: list  # capacity minus outdated
    launched: list  # current ones launched during this phase
    ready: set  # ids of healthy, warmed-up instances in capacity
    waits: list  # (instance id, why it is not ready) of launched ones
    unhealthy_wait: bool  # one of the launched is not healthy yet (not only warming up)


class InstanceRefreshes:
    """Every instance refresh of the model, stepped on its clock."""

    def __init__(self, model, no_progress_timeout: float = NO_PROGRESS_TIMEOUT):
        self.model = model
        self.no_progress_timeout = no_progress_timeout
        self._refreshes: dict[tuple[str, str, str], list[Refresh]] = {}  # (account, region, group) -> oldest first

    # -- the API -------------------------------------------------------------------------------

    def start(self, group, strategy: str, desired_request: dict | None, raw_preferences: dict) -> Refresh:
        # "StartInstanceRefresh", https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_StartInstanceRefresh.html
        if strategy != "Rolling":
            raise _invalid(f"The AWS model implements the Rolling strategy only, got {strategy!r}")
        if self.active_refresh(group) is not None:
            raise _error("InstanceRefreshInProgress", ALREADY_IN_PROGRESS)
        prefs = preferences(raw_preferences, group)
        desired = _desired_spec(group, desired_request) if desired_request else None
        previous = launch_templates.of_group(group)
        if prefs.auto_rollback:
            # "Undo changes with a manual or auto rollback", https://docs.aws.amazon.com/autoscaling/ec2/userguide/instance-refresh-rollback.html
            if desired is None:
                raise _invalid("AutoRollback needs a DesiredConfiguration")
            problem = _irreversible(group)
            if problem:
                raise _invalid(f"AutoRollback is not available: {problem}")
        self._check_alarms_ok(group, prefs.alarms)
        target = desired or previous
        to_replace = set()
        for state in group.instance_states:
            if state.lifecycle_state not in CAPACITY + (STANDBY,):
                continue
            if prefs.skip_matching and target is not None and launch_templates.of_instance(state) == target:
                continue  # "Use an instance refresh with skip matching"
            if state.lifecycle_state == STANDBY and prefs.standby == "Ignore":
                continue
            if state.protected_from_scale_in and prefs.protected == "Ignore":
                continue
            to_replace.add(state.instance.id)
        now = self.model.now()
        refresh = Refresh(str(uuid.uuid4()), group.account_id, group.region, group.name, prefs, desired,
                          desired_request, previous, now, to_replace, len(to_replace), to_update=len(to_replace),
                          last_progress=now)
        self._refreshes.setdefault(_key(group), []).append(refresh)
        return refresh

    def describe(self, group, ids: list[str] | None) -> list[dict]:
        """Newest first, the active one before the others."""
        # "Monitor an instance refresh", https://docs.aws.amazon.com/autoscaling/ec2/userguide/check-status-instance-refresh.html
        refreshes = [refresh for refresh in self._refreshes.get(_key(group), []) if not ids or refresh.id in ids]
        refreshes.sort(key=lambda refresh: (not refresh.active, -refresh.started_at))
        return [self._read_back(refresh) for refresh in refreshes]

    def cancel(self, group) -> Refresh:
        # "CancelInstanceRefresh", https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_CancelInstanceRefresh.html
        refresh = self.active_refresh(group)
        if refresh is None or refresh.status == CANCELLING:
            raise _not_found(group.name)
        refresh.status, refresh.reason = CANCELLING, None
        refresh.paused_until = refresh.bake_until = None
        return refresh

    def roll_back(self, group) -> Refresh:
        # "RollbackInstanceRefresh", https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_RollbackInstanceRefresh.html
        refresh = self.active_refresh(group)
        if refresh is None or refresh.status not in ROLLBACK_ALLOWED:
            raise _not_found(group.name)
        problem = "there is no desired configuration for the instance refresh" if refresh.desired is None \
            else _irreversible(group)
        if problem:
            raise _error("IrreversibleInstanceRefresh", f"The instance refresh cannot be rolled back: {problem}")
        self._begin_rollback(refresh, group, self.model.now(), "Rollback initiated with RollbackInstanceRefresh.")
        return refresh

    def check_launch_source_update(self, group) -> None:
        """UpdateAutoScalingGroup may not change what the group launches from meanwhile."""
        # "How an instance refresh works in an Auto Scaling group" (Limitations: update restriction), URL above
        refresh = self.active_refresh(group)
        if refresh is not None and refresh.desired is not None:
            raise _invalid(UPDATE_RESTRICTED)

    # -- what the rest of the model asks -------------------------------------------------------

    def forget_all(self) -> None:
        self._refreshes.clear()

    def forget(self, group) -> None:
        """The group is deleted: its refreshes go with it (a new group of that name has none)."""
        now = self.model.now()
        for refresh in self._refreshes.pop(_key(group), []):
            if refresh.active:
                refresh.finish(CANCELLED, now, "The Auto Scaling group was deleted.")

    def active_refresh(self, group) -> Refresh | None:
        return next((refresh for refresh in self._refreshes.get(_key(group), []) if refresh.active), None)

    def launch_source(self, group) -> LaunchSpec | None:
        """What the group launches from now, if not its own configuration: a scale-out during a
        refresh launches from the desired configuration."""
        # "How an instance refresh works in an Auto Scaling group" (Core concepts: desired configuration), URL above
        refresh = self.active_refresh(group)
        if refresh is not None and refresh.phase == REFRESHING and refresh.status != CANCELLING:
            return refresh.desired
        return None

    def launched(self, group, states: list) -> None:
        refresh, now = self.active_refresh(group), self.model.now()
        if refresh is not None:
            for state in states:
                refresh.launched_at[state.instance.id] = now
                if refresh.phase == REFRESHING:
                    refresh.deployed.add(state.instance.id)
                if state.lifecycle_state == IN_SERVICE:  # no launching lifecycle hook
                    refresh.in_service_at[state.instance.id] = now

    def next_due(self, account: str, region: str, after: float) -> float | None:
        """The next instant one of the refreshes of this account and region has something to do."""
        moments = []
        for refresh in self._all(account, region):
            group = _group(refresh)
            if group is None:
                continue
            moments += [refresh.paused_until, refresh.bake_until]
            if refresh.status != BAKING:
                moments.append(refresh.last_progress + self.no_progress_timeout)
            for instance_id, since in refresh.in_service_at.items():
                if instance_id in refresh.launched_at:
                    moments.append(since + refresh.preferences.warmup)
            if self.model.simulate_checks:  # when a new instance may turn healthy
                moments.append(self.model.board(region, account).next_check(set(refresh.launched_at),
                                                                            self.model.check_interval))
        return min((moment for moment in moments if moment is not None and moment > after), default=None)

    def advance(self, account: str, region: str) -> bool:
        """One step of every active refresh here; True when instances were launched or retired."""
        changed = False
        for refresh in self._all(account, region):
            group = _group(refresh)
            if group is None:
                continue
            for _ in range(3):  # a new phase (a rollback) starts in the same instant
                before = refresh.status, refresh.phase
                changed |= self._step(refresh, group, self.model.now())
                if (refresh.status, refresh.phase) == before or not refresh.active:
                    break
        return changed

    # -- one step ------------------------------------------------------------------------------

    def _step(self, refresh: Refresh, group, now: float) -> bool:
        if refresh.status == PENDING:
            refresh.status = IN_PROGRESS
        for state in group.instance_states:
            if state.lifecycle_state == IN_SERVICE:
                refresh.in_service_at.setdefault(state.instance.id, now)
        census = self._census(refresh, group, now)
        if refresh.status == CANCELLING:
            # "Cancellation ... prevents new replacements from being started", DescribeInstanceRefreshes
            if not any(state.lifecycle_state in LAUNCHING for state in census.launched):
                refresh.finish(CANCELLED, now)
            return False
        if refresh.phase == REFRESHING:
            alarm, state = self._alarm_state(refresh)
            if state == "ALARM":
                return self._fail(refresh, group, now, f"CloudWatch alarm {alarm} is in ALARM state.")
        if refresh.status == BAKING:
            if now >= refresh.bake_until:
                self._succeed(refresh, group, now)
            return False
        self._update_progress(refresh, census)
        if refresh.phase == REFRESHING and self._at_checkpoint(refresh, now):
            refresh.last_progress = now
        paused = refresh.paused_until is not None and now < refresh.paused_until
        if not paused:
            refresh.paused_until = None
        holding = refresh.phase == REFRESHING and self._alarm_state(refresh)[1] == "INSUFFICIENT_DATA"
        changed = False if holding else self._replace_some(refresh, group, census, paused)
        if changed:
            census = self._census(refresh, group, now)
            self._update_progress(refresh, census)
        if self._phase_done(refresh, group, census):
            return self._end_phase(refresh, group, now) or changed
        waiting = census.unhealthy_wait or census.blocked or \
            any(state.lifecycle_state == STANDBY and refresh.preferences.standby == "Wait" for state in census.standby) \
            or holding
        if changed or paused or not waiting:
            refresh.last_progress = now
        elif now - refresh.last_progress >= self.no_progress_timeout:
            # "How an instance refresh works in an Auto Scaling group" (Limitations: one-hour timeout), URL above
            return self._fail(refresh, group, now, f"The instance refresh made no progress for"
                                                   f" {self.no_progress_timeout:g} seconds. {refresh.reason or ''}".strip())
        refresh.reason = self._reason(refresh, census, paused, holding)
        return changed

    def _census(self, refresh: Refresh, group, now: float) -> _Census:
        prefs = refresh.preferences
        capacity = [state for state in group.instance_states if state.lifecycle_state in CAPACITY]
        if refresh.phase == REFRESHING:
            replace = lambda state: state.instance.id in refresh.to_replace  # noqa: E731
        else:  # "replaces the instances that have been deployed so far" (also when the desired
            # configuration is the group's own: a refresh that only renews the servers)
            replace = lambda state: state.instance.id in refresh.deployed  # noqa: E731
        outdated = [state for state in capacity if replace(state)
                    and not (state.protected_from_scale_in and prefs.protected == "Ignore")]
        blocked = [state for state in outdated if state.protected_from_scale_in and prefs.protected == "Wait"]
        standby = [state for state in group.instance_states
                   if state.lifecycle_state == STANDBY and replace(state) and prefs.standby != "Ignore"]
        current = [state for state in capacity if state not in outdated]
        launched = [state for state in current if state.instance.id in refresh.launched_at]
        ready, waits, unhealthy_wait = set(), [], False
        for state in capacity:
            why = self._not_ready(refresh, group, state, now)
            if why is None:
                ready.add(state.instance.id)
            elif state in launched:
                waits.append((state.instance.id, why))
                unhealthy_wait |= why != "warming up"
        return _Census(capacity, outdated, blocked, standby, current, launched, ready, waits, unhealthy_wait)

    def _not_ready(self, refresh: Refresh, group, state, now: float) -> str | None:
        """Why the instance does not count as healthy and ready, or None when it does."""
        # "Instance maintenance policy for Auto Scaling group" (healthy and ready: first health check passed, then warmup),
        # https://docs.aws.amazon.com/autoscaling/ec2/userguide/instance-maintenance-policy-overview-and-considerations.html
        instance_id = state.instance.id
        if state.lifecycle_state != IN_SERVICE or state.instance.state != "running":
            return "Amazon EC2"
        new = instance_id in refresh.launched_at
        if group.health_check_type == "ELB":
            # An instance there before is healthy unless a target group reports it unhealthy:
            # "Health checks for instances in an Auto Scaling group", https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-health-checks.html
            # A new one once every target group reports it healthy:
            # "Add Elastic Load Balancing health checks to an Auto Scaling group", https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-add-elb-healthcheck.html
            board = self.model.board(group.region, group.account_id)
            states = [board.health(arn).get(instance_id) for arn in group.target_group_arns]
            states = [health.state if health else None for health in states]
            if UNHEALTHY in states or (new and any(state != HEALTHY for state in states)):
                return "Elastic Load Balancing"
        if new and now < refresh.in_service_at.get(instance_id, now) + refresh.preferences.warmup:
            return "warming up"
        return None

    def _update_progress(self, refresh: Refresh, census: _Census) -> None:
        # "InstanceRefresh" (PercentageComplete, InstancesToUpdate), https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_InstanceRefresh.html
        if not refresh.total:
            refresh.percentage = 100 if refresh.phase == REFRESHING else 0
            return
        if refresh.phase == REFRESHING:
            updated = sum(1 for state in census.launched if state.instance.id in census.ready)
            refresh.percentage = min(100, math.floor(100 * updated / refresh.total))
            refresh.to_update = max(0, refresh.total - len(census.launched))
        else:  # goes back down to zero as the deployed instances are replaced
            deployed = sum(1 for state in census.outdated if state.instance.id in census.ready)
            refresh.percentage = min(refresh.percentage, math.floor(100 * deployed / refresh.total))

    def _at_checkpoint(self, refresh: Refresh, now: float) -> bool:
        """Pause at a checkpoint reached now (the highest one passed; those below are skipped)."""
        # "Add checkpoints to an instance refresh", https://docs.aws.amazon.com/autoscaling/ec2/userguide/asg-adding-checkpoints-instance-refresh.html
        checkpoints = refresh.preferences.checkpoints
        reached = [index for index in range(refresh.next_checkpoint, len(checkpoints))
                   if checkpoints[index] <= refresh.percentage]
        if not reached:
            return False
        refresh.next_checkpoint = reached[-1] + 1
        if refresh.next_checkpoint == len(checkpoints):
            refresh.partial_done = checkpoints[-1] < 100  # the refresh ends at its last checkpoint
            return False
        refresh.paused_until = now + refresh.preferences.checkpoint_delay
        return True

    def _replace_some(self, refresh: Refresh, group, census: _Census, paused: bool) -> bool:
        """Retire outdated instances and launch new ones as far as the bounds allow."""
        # "How an instance refresh works in an Auto Scaling group" (Core concepts), URL above
        # "RefreshPreferences" (MaxHealthyPercentage set or omitted), URL above
        prefs = refresh.preferences
        desired = group.desired_capacity or 0
        retired = False
        if prefs.standby == "Terminate" and census.standby:
            _retire(group, census.standby)
            retired = True
        cap = self._launch_cap(refresh, census, paused)
        terminable = [state for state in census.outdated if state not in census.blocked]
        terminable.sort(key=lambda state: state.instance.id in census.ready)  # the not ready go first
        not_ready = sum(1 for state in terminable if state.instance.id not in census.ready)
        terminations, launches = batch(
            desired=desired, capacity=len(census.capacity), current=len(census.current), healthy=len(census.ready),
            terminable=len(terminable), terminable_not_ready=not_ready,
            min_count=math.ceil(desired * prefs.min_healthy / 100),
            max_count=math.floor(desired * prefs.max_healthy / 100) if prefs.max_healthy is not None else desired,
            max_set=prefs.max_healthy is not None, launch_cap=cap, in_flight=bool(census.waits))
        if terminations:
            _retire(group, terminable[:terminations])
        if launches:
            group.replace_autoscaling_group_instances(launches, group.get_propagated_tags())
            group.autoscaling_backend.update_attached_target_groups(group.name)
        return retired or bool(terminations or launches)

    def _launch_cap(self, refresh: Refresh, census: _Census, paused: bool) -> int:
        """How many more replacements may start before the next checkpoint."""
        if paused or refresh.partial_done:
            return 0
        checkpoints = refresh.preferences.checkpoints
        if refresh.phase != REFRESHING or refresh.next_checkpoint >= len(checkpoints):
            return 1 << 30
        allowed = math.ceil(refresh.total * checkpoints[refresh.next_checkpoint] / 100)
        return max(0, allowed - len(census.launched))

    def _phase_done(self, refresh: Refresh, group, census: _Census) -> bool:
        if census.waits or census.blocked or census.standby:
            return False
        if refresh.partial_done:
            return len(census.capacity) <= (group.desired_capacity or 0)
        return not census.outdated

    def _end_phase(self, refresh: Refresh, group, now: float) -> bool:
        if refresh.phase == REFRESHING and not refresh.partial_done:
            refresh.percentage, refresh.to_update = 100, 0
        if refresh.phase == ROLLING_BACK:
            refresh.percentage = 0
            refresh.finish(ROLLBACK_SUCCESSFUL, now)
        elif refresh.preferences.bake_time > 0:
            refresh.status, refresh.reason = BAKING, None
            refresh.bake_until = now + refresh.preferences.bake_time
        else:
            self._succeed(refresh, group, now)
        return False

    def _succeed(self, refresh: Refresh, group, now: float) -> None:
        """Successful; the group takes the desired configuration."""
        # "How an instance refresh works in an Auto Scaling group" (the group is updated after the refresh succeeds), URL above
        refresh.finish(SUCCESSFUL, now)
        request = refresh.desired_request or {}
        if request.get("LaunchTemplate"):
            group.mixed_instances_policy = None
            group._set_launch_configuration(None, dict(request["LaunchTemplate"]), None)
        elif request.get("MixedInstancesPolicy"):
            group.mixed_instances_policy = request["MixedInstancesPolicy"]
            group._set_launch_configuration(None, {}, group.mixed_instances_policy)

    def _fail(self, refresh: Refresh, group, now: float, reason: str) -> bool:
        if refresh.phase == ROLLING_BACK:
            refresh.finish(ROLLBACK_FAILED, now, reason)
        elif refresh.preferences.auto_rollback:
            # "Undo changes with a manual or auto rollback" (auto rollback), URL above
            self._begin_rollback(refresh, group, now, reason)
        else:
            refresh.finish(FAILED, now, reason)
        return False

    def _begin_rollback(self, refresh: Refresh, group, now: float, reason: str) -> None:
        # "RollbackDetails", https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_RollbackDetails.html
        refresh.rollback = {"RollbackReason": reason, "RollbackStartTime": self.model.wall(now),
                            "PercentageCompleteOnRollback": refresh.percentage,
                            "InstancesToUpdateOnRollback": refresh.to_update}
        refresh.phase, refresh.status, refresh.reason = ROLLING_BACK, ROLLBACK_IN_PROGRESS, None
        refresh.launched_at, refresh.last_progress = {}, now
        refresh.paused_until = refresh.bake_until = None

    def _reason(self, refresh: Refresh, census: _Census, paused: bool, holding: bool) -> str | None:
        # "Monitor an instance refresh" (the warm-up StatusReason of its example), URL above
        if paused:
            return (f"Waiting at checkpoint {refresh.preferences.checkpoints[refresh.next_checkpoint - 1]}% until"
                    f" the checkpoint delay of {refresh.preferences.checkpoint_delay:g} seconds has passed.")
        if holding:
            return "Waiting for the CloudWatch alarms to have enough data."
        for instance_id, why in census.waits:
            if why != "warming up":
                return (f"Waiting for remaining instances to be available. For example: {instance_id} has"
                        f" insufficient data to evaluate its health with {why}.")
        if census.waits:
            return (f"Waiting for instances to warm up before continuing. For example: {census.waits[0][0]}"
                    f" is warming up.")
        if census.blocked:
            return (f"Waiting for remaining instances to be available. For example: {census.blocked[0].instance.id}"
                    f" is protected from scale in.")
        if census.standby:
            return (f"Waiting for remaining instances to be available. For example: {census.standby[0].instance.id}"
                    f" is in Standby.")
        return None

    # -- helpers -------------------------------------------------------------------------------

    def _alarm_state(self, refresh: Refresh) -> tuple[str | None, str | None]:
        """The first watched alarm in ALARM, else the first without data, else (None, None)."""
        # "Undo changes with a manual or auto rollback" (CloudWatch alarms), URL above
        alarms = get_backend("cloudwatch")[refresh.account][refresh.region].alarms
        states = [(name, alarms[name].state_value if name in alarms else "INSUFFICIENT_DATA")
                  for name in refresh.preferences.alarms]
        for wanted in ("ALARM", "INSUFFICIENT_DATA"):
            found = next((name for name, state in states if state == wanted), None)
            if found:
                return found, wanted
        return None, None

    def _check_alarms_ok(self, group, names: tuple[str, ...]) -> None:
        # "Undo changes with a manual or auto rollback" (alarms in INSUFFICIENT_DATA or ALARM: an error at the start), URL above
        alarms = get_backend("cloudwatch")[group.account_id][group.region].alarms
        for name in names:
            if name not in alarms:
                raise _invalid(f"CloudWatch alarm {name} does not exist")
            if alarms[name].state_value != "OK":
                raise _invalid(f"CloudWatch alarm {name} is in {alarms[name].state_value} state; an instance"
                               f" refresh starts only with its alarms in OK state")

    def _all(self, account: str, region: str) -> list[Refresh]:
        return [refresh for (acc, reg, _), refreshes in list(self._refreshes.items()) if (acc, reg) == (account, region)
                for refresh in refreshes if refresh.active]

    def _read_back(self, refresh: Refresh) -> dict:
        # "InstanceRefresh", URL above
        answer = {"InstanceRefreshId": refresh.id, "AutoScalingGroupName": refresh.group, "Status": refresh.status,
                  "StartTime": self.model.wall(refresh.started_at), "PercentageComplete": refresh.percentage,
                  "InstancesToUpdate": refresh.to_update, "Preferences": refresh.preferences.shown,
                  "Strategy": "Rolling"}
        if refresh.reason:
            answer["StatusReason"] = refresh.reason
        if refresh.ended_at is not None:
            answer["EndTime"] = self.model.wall(refresh.ended_at)
        if refresh.desired_request:
            answer["DesiredConfiguration"] = refresh.desired_request
        if refresh.rollback:
            answer["RollbackDetails"] = refresh.rollback
        return answer


def batch(desired: int, capacity: int, current: int, healthy: int, terminable: int, terminable_not_ready: int,
          min_count: int, max_count: int, max_set: bool, launch_cap: int, in_flight: bool) -> tuple[int, int]:
    """(instances to retire, instances to launch) in one step. Retiring an instance that is not
    ready costs no healthy capacity; capacity (pending and in service) stays between the desired
    capacity and `max_count`; at most `desired - current` new instances are wanted."""
    retire = min(terminable, terminable_not_ready + max(0, healthy - min_count), launch_cap + capacity - desired)
    retire = max(retire, 0)
    launch = max(0, min(max_count - capacity + retire, desired - current, launch_cap))
    if not retire and not launch and not in_flight and terminable and launch_cap > 0:
        # "RefreshPreferences" (MaxHealthyPercentage): the bounds leave no room, replace one anyway
        retire, launch = (0, 1) if max_set else (1, 1)
    return retire, launch


def _retire(group, states: list) -> None:
    from . import autoscaling_patch

    autoscaling_patch.retire(group, states)


def _key(group) -> tuple[str, str, str]:
    return group.account_id, group.region, group.name


def _group(refresh: Refresh):
    return get_backend("autoscaling")[refresh.account][refresh.region].autoscaling_groups.get(refresh.group)


def _desired_spec(group, request: dict) -> LaunchSpec:
    """The desired configuration's launch template, its version fixed now."""
    # "DesiredConfiguration", https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DesiredConfiguration.html
    template = request.get("LaunchTemplate")
    if template is None and request.get("MixedInstancesPolicy"):
        template = request["MixedInstancesPolicy"].get("LaunchTemplate", {}).get("LaunchTemplateSpecification")
    if not template:
        raise _invalid("A DesiredConfiguration needs a LaunchTemplate or a MixedInstancesPolicy")
    if bool(template.get("LaunchTemplateId")) == bool(template.get("LaunchTemplateName")):
        raise _invalid("A launch template is named by LaunchTemplateId or LaunchTemplateName, one of them")
    ec2 = group.ec2_backend
    try:
        found = ec2.get_launch_template(template["LaunchTemplateId"]) if template.get("LaunchTemplateId") \
            else ec2.get_launch_template_by_name(template["LaunchTemplateName"])
    except EC2ClientError:
        found = None
    if found is None:
        raise _invalid(f"The launch template {template.get('LaunchTemplateId') or template.get('LaunchTemplateName')}"
                       f" does not exist")
    try:
        return launch_templates.resolve(found, template.get("Version"))
    except EC2ClientError:  # InvalidLaunchTemplateVersionNotFound
        raise _invalid(f"The launch template {found.id} has no version {template.get('Version')}") from None


def _irreversible(group) -> str | None:
    """Why a rollback to the group's configuration is not possible, or None."""
    # "RollbackInstanceRefresh" ("A rollback is not supported in the following situations"), URL above
    if group.ec2_launch_template is None:
        return "the Auto Scaling group has no launch template"
    version = group.launch_template_version
    if not version or str(version).startswith("$"):
        return f"the Auto Scaling group uses the launch template version {version or '$Default'}"
    image = group.ec2_launch_template.get_version(version).image_id or ""
    if image.startswith("resolve:ssm:"):
        return "the launch template takes its AMI from a Systems Manager parameter"
    return None


# -- the API's answers ---------------------------------------------------------------------------

def _named_group(response):
    name = response._get_param("AutoScalingGroupName")
    group = response.autoscaling_backend.autoscaling_groups.get(name)
    if group is None:
        raise _invalid(f"AutoScalingGroup name not found - {name}")
    return group


def start_instance_refresh(self):
    group = _named_group(self)
    refresh = _model().refreshes.start(group, self._get_param("Strategy") or "Rolling",
                                       self._get_param("DesiredConfiguration"), self._get_param("Preferences") or {})
    return ActionResult({"InstanceRefreshId": refresh.id})


def describe_instance_refreshes(self):
    # "DescribeInstanceRefreshes", https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeInstanceRefreshes.html
    group = _named_group(self)
    found = _model().refreshes.describe(group, self._get_param("InstanceRefreshIds") or None)
    limit = self._get_int_param("MaxRecords") or 50
    if not 1 <= limit <= 100:
        raise _invalid(f"MaxRecords must be 1 to 100, got {limit}")
    token = self._get_param("NextToken")
    start = int(token) if token and token.isdigit() else 0
    if token and (not token.isdigit() or start > len(found)):
        raise _error("InvalidNextToken", "The NextToken value is not valid.")
    answer = {"InstanceRefreshes": found[start:start + limit]}
    if start + limit < len(found):
        answer["NextToken"] = str(start + limit)
    return ActionResult(answer)


def cancel_instance_refresh(self):
    refresh = _model().refreshes.cancel(_named_group(self))
    return ActionResult({"InstanceRefreshId": refresh.id})


def rollback_instance_refresh(self):
    refresh = _model().refreshes.roll_back(_named_group(self))
    return ActionResult({"InstanceRefreshId": refresh.id})


def patches() -> list[Patch]:
    return [
        Patch(AutoScalingResponse, "start_instance_refresh", start_instance_refresh),
        Patch(AutoScalingResponse, "describe_instance_refreshes", describe_instance_refreshes),
        Patch(AutoScalingResponse, "cancel_instance_refresh", cancel_instance_refresh),
        Patch(AutoScalingResponse, "rollback_instance_refresh", rollback_instance_refresh),
    ]
