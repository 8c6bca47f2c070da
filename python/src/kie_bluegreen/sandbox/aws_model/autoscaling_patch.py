"""Auto Scaling where moto differs from AWS (each rule's source is in docs/aws-behaviour.md):

- scale-in drains: the instances a lower desired capacity removes turn `Terminating`, are
  deregistered from the group's target groups at once, and are terminated only once the
  longest deregistration delay of those groups has passed (moto terminates at once);
- only InService instances are registered with the group's target groups: an instance put in
  Standby, or Terminating, is deregistered (moto keeps them registered);
- DeleteAutoScalingGroup without ForceDelete fails while the group has instances
  (ResourceInUse, or ScalingActivityInProgress while they are still terminating); with
  ForceDelete the instances are terminated at once (moto deletes either way);
- an `autoscaling:EC2_INSTANCE_LAUNCHING` lifecycle hook keeps new instances `Pending:Wait`,
  unregistered, until CompleteLifecycleAction or the hook's HeartbeatTimeout; CONTINUE puts
  them InService (then registered), ABANDON terminates them and the group launches others
  (moto has no CompleteLifecycleAction and launches straight to InService).

- DetachLoadBalancerTargetGroups deregisters the instances registered with the target group
  (moto deregisters every instance of the group and fails with InvalidTarget on one already
  deregistered, e.g. draining after a scale-in);
- at most 50 tags per Auto Scaling group (LimitExceeded; moto has no limit);
- DefaultInstanceWarmup and InstanceMaintenancePolicy are kept and read back, and
  HealthCheckGracePeriod defaults to 0 (moto drops the first two and defaults the grace period
  to 300, even when 0 is asked for);
- every launch records the launch template version the instance comes from (read back by
  launch_templates.py); while an instance refresh with a desired configuration runs, the group
  launches from that configuration (instance_refresh.py decides, and refuses launch template
  changes meanwhile).

Not modelled: EC2_INSTANCE_TERMINATING hooks, TerminateInstanceInAutoScalingGroup draining,
mixed instances policies (moto's own scale-in is kept for those), the default termination
policy (moto's order, oldest first, is kept).
"""

from __future__ import annotations

from dataclasses import dataclass

from moto.autoscaling.exceptions import AutoscalingClientError
from moto.autoscaling.models import AutoScalingBackend, FakeAutoScalingGroup
from moto.autoscaling.responses import AutoScalingResponse
from moto.backends import get_backend
from moto.core.responses import EmptyResult

from . import launch_templates
from .patching import Patch, original

IN_SERVICE, STANDBY, TERMINATING, PENDING_WAIT = "InService", "Standby", "Terminating", "Pending:Wait"
ACTIVE = (IN_SERVICE, "Pending", PENDING_WAIT, "Pending:Proceed")  # counted against the desired capacity
LAUNCHING = "autoscaling:EC2_INSTANCE_LAUNCHING"
INSTANCES_LEFT = "You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group."  # noqa: E501 - AWS's message verbatim
ACTIVITIES_LEFT = "You cannot delete an AutoScalingGroup while there are scaling activities in progress for that group."

_set_desired_capacity = original(FakeAutoScalingGroup, "set_desired_capacity")
_replace_instances = original(FakeAutoScalingGroup, "replace_autoscaling_group_instances")
_delete_group_response = original(AutoScalingResponse, "delete_auto_scaling_group")
_create_group_response = original(AutoScalingResponse, "create_auto_scaling_group")
_update_group_response = original(AutoScalingResponse, "update_auto_scaling_group")
_create_group = original(AutoScalingBackend, "create_auto_scaling_group")
_create_or_update_tags = original(AutoScalingBackend, "create_or_update_tags")
# "Tag Auto Scaling groups and instances", https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-tagging.html
TAGS_PER_GROUP = 50


def _model():
    from .model import current

    return current()


@dataclass
class _Pending:
    account: str
    region: str
    group: str
    instance_id: str
    due: float
    hook: str | None = None  # waiting for this lifecycle hook; None: a drain before termination
    default_result: str = "ABANDON"
    heartbeat: float = 3600.0


class ScalingActivities:
    """What Auto Scaling still has to do when the clock reaches it: terminate drained
    instances, end lifecycle hook waits that timed out."""

    def __init__(self, model):
        self.model = model
        self._pending: dict[str, _Pending] = {}  # instance id -> its next step

    def drain_then_terminate(self, group: FakeAutoScalingGroup, states: list) -> None:
        """Scale-in: Terminating, deregistered now, terminated after the deregistration delay."""
        delay = _deregistration_delay(group)
        due = self.model.now() + delay
        for state in states:
            state.lifecycle_state = TERMINATING
            self._pending[state.instance.id] = _Pending(
                group.account_id, group.region, group.name, state.instance.id, due
            )

    def wait_for_hook(self, group: FakeAutoScalingGroup, state, hook) -> None:
        state.lifecycle_state = PENDING_WAIT
        self._pending[state.instance.id] = _Pending(
            group.account_id,
            group.region,
            group.name,
            state.instance.id,
            self.model.now() + float(hook.heartbeat_timeout),
            hook.name,
            hook.default_result,
            float(hook.heartbeat_timeout),
        )

    def waiting(self, instance_id: str, hook_name: str) -> _Pending | None:
        pending = self._pending.get(instance_id)
        return pending if pending is not None and pending.hook == hook_name else None

    def heartbeat(self, pending: _Pending) -> None:
        pending.due = self.model.now() + pending.heartbeat

    def complete(self, pending: _Pending, result: str) -> None:
        del self._pending[pending.instance_id]
        backend = get_backend("autoscaling")[pending.account][pending.region]
        group = backend.autoscaling_groups.get(pending.group)
        state = _state(group, pending.instance_id)
        if group is None or state is None:
            return
        if result == "CONTINUE":
            state.lifecycle_state = IN_SERVICE
            backend.update_attached_target_groups(group.name)
        else:  # ABANDON: terminate it; the group launches another to keep its desired capacity
            _terminate(group, [state])
            group.set_desired_capacity(group.desired_capacity)

    def forget_all(self) -> None:
        self._pending.clear()

    def forget(self, instance_ids: list[str]) -> None:
        for instance_id in instance_ids:
            self._pending.pop(instance_id, None)

    def next_due(self, account: str, region: str, after: float) -> float | None:
        """When the next step in this account and region is due, if later than `after`."""
        return min(
            (
                pending.due
                for pending in self._pending.values()
                if (pending.account, pending.region) == (account, region) and pending.due > after
            ),
            default=None,
        )

    def run_due(self, account: str, region: str, now: float) -> None:
        due = [
            pending
            for pending in self._pending.values()
            if (pending.account, pending.region) == (account, region) and pending.due <= now
        ]
        for pending in sorted(due, key=lambda item: item.due):
            if self._pending.get(pending.instance_id) is not pending:  # settled by an earlier step
                continue
            if pending.hook is not None:
                self.complete(pending, pending.default_result)
                continue
            del self._pending[pending.instance_id]
            backend = get_backend("autoscaling")[account][region]
            group = backend.autoscaling_groups.get(pending.group)
            state = _state(group, pending.instance_id)
            if state is not None:
                _terminate(group, [state])
            else:  # its group was deleted meanwhile
                _terminate_instances(account, region, [pending.instance_id])


def _state(group, instance_id: str):
    if group is None:
        return None
    return next((state for state in group.instance_states if state.instance.id == instance_id), None)


def _terminate(group: FakeAutoScalingGroup, states: list) -> None:
    """Terminate instances that already left the group's capacity (no replacement)."""
    for state in states:
        state.lifecycle_state = TERMINATING
    group.instance_states = [state for state in group.instance_states if state not in states]
    _terminate_instances(group.account_id, group.region, [state.instance.id for state in states])


def _terminate_instances(account: str, region: str, instance_ids: list[str]) -> None:
    """As EC2's TerminateInstances does: the instances stop, and ELB deregisters them."""
    get_backend("ec2")[account][region].terminate_instances(instance_ids)
    get_backend("elbv2")[account][region].notify_terminate_instances(instance_ids)


def _deregistration_delay(group: FakeAutoScalingGroup) -> float:
    elbv2 = get_backend("elbv2")[group.account_id][group.region]
    delays = [
        float(elbv2.target_groups[arn].attributes.get("deregistration_delay.timeout_seconds", 300))
        for arn in group.target_group_arns
        if arn in elbv2.target_groups
    ]
    return max(delays, default=0.0)


# -- patched moto methods ----------------------------------------------------------------------


def active_instances(self) -> list:
    return [state for state in self.instance_states if state.lifecycle_state in ACTIVE]


def set_desired_capacity(self, new_capacity) -> None:
    # "Amazon EC2 Auto Scaling instance lifecycle", https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-lifecycle.html
    model = _model()
    if model is None or _mixed(self):
        return _set_desired_capacity(self, new_capacity)
    desired = self.min_size if new_capacity is None else new_capacity
    surplus = len(self.active_instances()) - (desired or 0)
    if surplus <= 0:
        return _set_desired_capacity(self, new_capacity)
    self.desired_capacity = desired
    leaving = [
        state for state in self.instance_states if state.lifecycle_state in ACTIVE and not state.protected_from_scale_in
    ]
    leaving.sort(key=lambda state: state.lifecycle_state == IN_SERVICE)  # not yet in service goes first
    retire(self, leaving[:surplus])


def retire(group: FakeAutoScalingGroup, states: list) -> None:
    """Take instances out of the group as a scale-in does: those not yet in service (never
    registered) are terminated at once, the others deregistered, drained, then terminated."""
    model = _model()
    waiting = [state for state in states if state.lifecycle_state != IN_SERVICE]
    model.scaling.forget([state.instance.id for state in waiting])
    if waiting:
        _terminate(group, waiting)
    model.scaling.drain_then_terminate(group, [state for state in states if state not in waiting])
    if group.name in group.autoscaling_backend.autoscaling_groups:
        group.autoscaling_backend.update_attached_target_groups(group.name)


def _mixed(group) -> bool:
    policy = group.mixed_instances_policy or {}
    return bool(policy.get("LaunchTemplate", {}).get("Overrides"))


def replace_autoscaling_group_instances(self, count_needed: int, propagated_tags: dict) -> None:
    # "How lifecycle hooks work", https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks-overview.html
    model = _model()
    before = {id(state) for state in self.instance_states}
    source = model.refreshes.launch_source(self) if model is not None else None
    with launch_templates.launching_from(self, source):
        spec = launch_templates.of_group(self)
        _replace_instances(self, count_needed, propagated_tags)
    launched = [state for state in self.instance_states if id(state) not in before]
    for state in launched:
        state.launch_spec = spec
    if model is None:
        return
    hook = next(
        (
            hook
            for hook in self.autoscaling_backend.lifecycle_hooks.values()
            if hook.auto_scaling_group_name == self.name and hook.lifecycle_transition == LAUNCHING
        ),
        None,
    )
    if hook is not None:
        for state in launched:
            model.scaling.wait_for_hook(self, state, hook)
    model.refreshes.launched(self, launched)


def update_attached_target_groups(self, group_name: str) -> None:
    """Only InService instances are registered; the group's instances in any other state are
    deregistered."""
    # "Temporarily remove instances from your Auto Scaling group", https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-enter-exit-standby.html
    group = self.autoscaling_groups[group_name]
    if not group.target_group_arns:
        return
    elbv2 = self.elbv2_backend
    for target_group in elbv2.describe_target_groups(
        target_group_arns=group.target_group_arns, load_balancer_arn=None, names=None
    ):
        joining = [
            {"Id": state.instance.id, "Port": target_group.port}
            for state in group.instance_states
            if state.lifecycle_state == IN_SERVICE and state.instance.id not in target_group.targets
        ]
        leaving = [
            {"Id": state.instance.id}
            for state in group.instance_states
            if state.lifecycle_state != IN_SERVICE and state.instance.id in target_group.targets
        ]
        if joining:
            elbv2.register_targets(target_group.arn, joining)
        if leaving:
            elbv2.deregister_targets(target_group.arn, leaving)


def detach_load_balancer_target_groups(self, group_name: str, target_group_arns: list[str]) -> None:
    # "Detach a target group from your Auto Scaling group" (the instances are deregistered), https://docs.aws.amazon.com/autoscaling/ec2/userguide/attach-load-balancer-asg.html
    group = self.autoscaling_groups[group_name]
    group.target_group_arns = [arn for arn in group.target_group_arns if arn not in target_group_arns]
    ids = {state.instance.id for state in group.instance_states}
    for arn in target_group_arns:
        target_group = self.elbv2_backend.target_groups.get(arn)
        registered = [{"Id": target} for target in (target_group.targets if target_group else {}) if target in ids]
        if registered:
            self.elbv2_backend.deregister_targets(arn, registered)


def create_auto_scaling_group(self, name, *args, **kwargs):
    tags = kwargs.get("tags") if "tags" in kwargs else None
    if _model() is not None and tags is not None:
        _check_tag_count(name, {tag["Key"] for tag in tags})
    return _create_group(self, name, *args, **kwargs)


def create_or_update_tags(self, tags: list[dict]) -> None:
    if _model() is not None:
        keys: dict[str, set[str]] = {}
        for tag in tags:
            group = self.autoscaling_groups.get(tag["ResourceId"])
            if group is not None:
                keys.setdefault(group.name, {existing["Key"] for existing in group.tags}).add(tag["Key"])
        for name, names in keys.items():
            _check_tag_count(name, names)
    return _create_or_update_tags(self, tags)


def create_auto_scaling_group_response(self):
    result = _create_group_response(self)
    if _model() is not None:
        _keep_settings(self, creating=True)
    return result


def update_auto_scaling_group_response(self):
    model = _model()
    if model is not None:
        group = self.autoscaling_backend.autoscaling_groups.get(self._get_param("AutoScalingGroupName"))
        launch_source = any(
            self._get_param(key) for key in ("LaunchTemplate", "LaunchConfigurationName", "MixedInstancesPolicy")
        )
        if group is not None and launch_source:
            model.refreshes.check_launch_source_update(group)
    result = _update_group_response(self)
    if model is not None:
        _keep_settings(self, creating=False)
    return result


def _keep_settings(response, creating: bool) -> None:
    """What moto drops or defaults differently: DefaultInstanceWarmup, InstanceMaintenancePolicy
    (-1 clears a value), HealthCheckGracePeriod (0 unless given)."""
    # "CreateAutoScalingGroup", https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_CreateAutoScalingGroup.html
    # "Set the health check grace period for an Auto Scaling group", https://docs.aws.amazon.com/autoscaling/ec2/userguide/health-check-grace-period.html
    group = response.autoscaling_backend.autoscaling_groups.get(response._get_param("AutoScalingGroupName"))
    if group is None:
        return
    warmup = response._get_int_param("DefaultInstanceWarmup")
    if warmup is not None:
        group.default_instance_warmup = None if warmup < 0 else warmup
    policy = response._get_param("InstanceMaintenancePolicy")
    if policy is not None:
        kept = {key: int(value) for key, value in policy.items() if value is not None and int(value) >= 0}
        group.instance_maintenance_policy = kept or None
    grace = response._get_int_param("HealthCheckGracePeriod")
    if grace is not None or creating:
        group.health_check_grace_period = grace or 0


def _check_tag_count(group_name: str, keys: set[str]) -> None:
    if len(keys) > TAGS_PER_GROUP:
        raise AutoscalingClientError(
            "LimitExceeded",
            f"An Auto Scaling group can have at most {TAGS_PER_GROUP} tags; {group_name} would have {len(keys)}",
        )


def delete_auto_scaling_group_response(self):
    # "DeleteAutoScalingGroup", https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DeleteAutoScalingGroup.html
    model = _model()
    name = self._get_param("AutoScalingGroupName")
    group = self.autoscaling_backend.autoscaling_groups.get(name)
    if model is None or group is None:
        return _delete_group_response(self)
    if group.instance_states and not self._get_bool_param("ForceDelete", False):
        if all(state.lifecycle_state.startswith(TERMINATING) for state in group.instance_states):
            raise AutoscalingClientError("ScalingActivityInProgress", ACTIVITIES_LEFT)
        raise AutoscalingClientError("ResourceInUse", INSTANCES_LEFT)
    states = list(group.instance_states)
    model.scaling.forget([state.instance.id for state in states])
    if states:
        _terminate(group, states)
    model.refreshes.forget(group)
    return _delete_group_response(self)


def complete_lifecycle_action(self):
    pending = _lifecycle_action(self)
    result = self._get_param("LifecycleActionResult")
    if result not in ("CONTINUE", "ABANDON"):
        raise AutoscalingClientError(
            "ValidationError", f"LifecycleActionResult must be CONTINUE or ABANDON, got {result!r}"
        )
    _model().scaling.complete(pending, result)
    return EmptyResult()


def record_lifecycle_action_heartbeat(self):
    _model().scaling.heartbeat(_lifecycle_action(self))
    return EmptyResult()


def _lifecycle_action(response):
    model = _model()
    instance_id = response._get_param("InstanceId")
    hook = response._get_param("LifecycleHookName")
    pending = model.scaling.waiting(instance_id, hook) if model is not None and instance_id else None
    if pending is None or pending.group != response._get_param("AutoScalingGroupName"):
        raise AutoscalingClientError(
            "ValidationError", f"No active Lifecycle Action found with instance ID {instance_id}"
        )
    return pending


def patches() -> list[Patch]:
    return [
        Patch(FakeAutoScalingGroup, "active_instances", active_instances),
        Patch(FakeAutoScalingGroup, "set_desired_capacity", set_desired_capacity),
        Patch(FakeAutoScalingGroup, "replace_autoscaling_group_instances", replace_autoscaling_group_instances),
        Patch(AutoScalingBackend, "update_attached_target_groups", update_attached_target_groups),
        Patch(AutoScalingBackend, "detach_load_balancer_target_groups", detach_load_balancer_target_groups),
        Patch(AutoScalingBackend, "create_auto_scaling_group", create_auto_scaling_group),
        Patch(AutoScalingBackend, "create_or_update_tags", create_or_update_tags),
        Patch(AutoScalingResponse, "delete_auto_scaling_group", delete_auto_scaling_group_response),
        Patch(AutoScalingResponse, "create_auto_scaling_group", create_auto_scaling_group_response),
        Patch(AutoScalingResponse, "update_auto_scaling_group", update_auto_scaling_group_response),
        Patch(AutoScalingResponse, "complete_lifecycle_action", complete_lifecycle_action),
        Patch(AutoScalingResponse, "record_lifecycle_action_heartbeat", record_lifecycle_action_heartbeat),
    ]
