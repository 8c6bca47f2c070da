"""What lives beside an Auto Scaling group and a new generation copies from the live one: scaling
policies, lifecycle hooks, notification configurations, metrics collection, a warm pool,
suspended processes. (Scheduled actions are moved, not copied: only the blue group scales on
a schedule, see `move_schedules`.)

Each copy is idempotent (a put of the same name replaces it), so a run that stopped half-way
copies again. A target tracking policy on ALBRequestCountPerTarget names the target group in
its resource label: the copy names the new group's target group instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .api import AwsApi, AwsCallError

POLICY_FIELDS = (
    "PolicyName",
    "PolicyType",
    "AdjustmentType",
    "MinAdjustmentStep",
    "MinAdjustmentMagnitude",
    "ScalingAdjustment",
    "Cooldown",
    "MetricAggregationType",
    "StepAdjustments",
    "EstimatedInstanceWarmup",
    "TargetTrackingConfiguration",
    "Enabled",
    "PredictiveScalingConfiguration",
)
HOOK_FIELDS = (
    "LifecycleHookName",
    "LifecycleTransition",
    "NotificationTargetARN",
    "RoleARN",
    "NotificationMetadata",
    "HeartbeatTimeout",
    "DefaultResult",
)
WARM_POOL_FIELDS = ("MinSize", "MaxGroupPreparedCapacity", "PoolState", "InstanceReusePolicy")
SCHEDULE_FIELDS = (
    "ScheduledActionName",
    "StartTime",
    "EndTime",
    "Recurrence",
    "MinSize",
    "MaxSize",
    "DesiredCapacity",
    "TimeZone",
)
# Codes of an API this AWS endpoint does not offer (an emulator): the setting is reported as
# not copied instead of failing the deploy.
UNSUPPORTED = frozenset({"InvalidAction", "NotImplemented", "UnknownOperationException"})


@dataclass
class GroupSettings:
    policies: list = field(default_factory=list)
    hooks: list = field(default_factory=list)
    notifications: list = field(default_factory=list)
    metrics: dict | None = None  # {Granularity, Metrics}
    warm_pool: dict | None = None
    suspended: list = field(default_factory=list)
    unreadable: list = field(default_factory=list)  # what the endpoint could not tell


def read(api: AwsApi, group: dict) -> GroupSettings:
    """The settings of a group (its describe_auto_scaling_groups entry)."""
    name = group["AutoScalingGroupName"]
    settings = GroupSettings()
    settings.policies = [
        _present(policy, POLICY_FIELDS)
        for policy in api.pages("autoscaling", "describe_policies", "ScalingPolicies", AutoScalingGroupName=name)
    ]
    settings.hooks = [
        _present(hook, HOOK_FIELDS)
        for hook in api.call("autoscaling", "describe_lifecycle_hooks", AutoScalingGroupName=name)["LifecycleHooks"]
    ]
    try:
        configurations = api.pages(
            "autoscaling",
            "describe_notification_configurations",
            "NotificationConfigurations",
            AutoScalingGroupNames=[name],
        )
        topics: dict[str, list] = {}
        for item in configurations:
            topics.setdefault(item["TopicARN"], []).append(item["NotificationType"])
        settings.notifications = [{"TopicARN": topic, "NotificationTypes": types} for topic, types in topics.items()]
    except AwsCallError as exc:
        if exc.code not in UNSUPPORTED:
            raise
        settings.unreadable.append("notification configurations")
    metrics = group.get("EnabledMetrics") or []
    if metrics:
        settings.metrics = {
            "Granularity": metrics[0].get("Granularity", "1Minute"),
            "Metrics": sorted(metric["Metric"] for metric in metrics),
        }
    if group.get("WarmPoolConfiguration"):
        settings.warm_pool = _present(group["WarmPoolConfiguration"], WARM_POOL_FIELDS)
    settings.suspended = sorted(process["ProcessName"] for process in group.get("SuspendedProcesses") or [])
    return settings


def copy(api: AwsApi, name: str, settings: GroupSettings, labels: dict[str, str]) -> list[str]:
    """Put every setting onto group `name`; `labels` maps the live target group's resource label
    to the new one's. Returns what was copied, in words."""
    copied = []
    for policy in settings.policies:
        api.call("autoscaling", "put_scaling_policy", AutoScalingGroupName=name, **_relabelled(policy, labels))
    if settings.policies:
        copied.append(_count(len(settings.policies), "scaling policy", "scaling policies"))
    for hook in settings.hooks:
        api.call("autoscaling", "put_lifecycle_hook", AutoScalingGroupName=name, **hook)
    if settings.hooks:
        copied.append(_count(len(settings.hooks), "lifecycle hook", "lifecycle hooks"))
    for notification in settings.notifications:
        api.call("autoscaling", "put_notification_configuration", AutoScalingGroupName=name, **notification)
    if settings.notifications:
        copied.append(_count(len(settings.notifications), "notification configuration", "notification configurations"))
    if settings.metrics:
        api.call("autoscaling", "enable_metrics_collection", AutoScalingGroupName=name, **settings.metrics)
        copied.append("metrics collection")
    if settings.warm_pool:
        api.call("autoscaling", "put_warm_pool", AutoScalingGroupName=name, **settings.warm_pool)
        copied.append("warm pool")
    if settings.suspended:
        api.call("autoscaling", "suspend_processes", AutoScalingGroupName=name, ScalingProcesses=settings.suspended)
        copied.append(f"suspended processes ({', '.join(settings.suspended)})")
    return copied


def schedules(api: AwsApi) -> dict[str, list[dict]]:
    """Auto Scaling group name -> its scheduled actions (one paginated call for the region)."""
    found: dict[str, list[dict]] = {}
    for action in api.pages("autoscaling", "describe_scheduled_actions", "ScheduledUpdateGroupActions"):
        found.setdefault(action["AutoScalingGroupName"], []).append(_present(action, SCHEDULE_FIELDS))
    return found


def move_schedules(api: AwsApi, source: str, target: str, actions: list[dict]) -> None:
    """Put the scheduled actions on `target`, then delete them from `source`, so that only one
    group (the blue one) scales on a schedule. A stop in between leaves them on both, and the
    next run moves them again."""
    for action in actions:
        api.call("autoscaling", "put_scheduled_update_group_action", AutoScalingGroupName=target, **action)
    for action in actions:
        api.call(
            "autoscaling",
            "delete_scheduled_action",
            AutoScalingGroupName=source,
            ScheduledActionName=action["ScheduledActionName"],
        )


def relabel_policies(api: AwsApi, name: str, labels: dict[str, str]) -> None:
    """Target tracking policies of the group that count requests of a target group it left now
    count those of the one it joined (updated in place: a put of the same name)."""
    for policy in api.pages("autoscaling", "describe_policies", "ScalingPolicies", AutoScalingGroupName=name):
        present = _present(policy, POLICY_FIELDS)
        moved = _relabelled(present, labels)
        if moved != present:
            api.call("autoscaling", "put_scaling_policy", AutoScalingGroupName=name, **moved)


def label_of(target_group_arn: str) -> str:
    """'targetgroup/<name>/<id>': the target group's part of an ALBRequestCountPerTarget label."""
    return target_group_arn.split(":", 5)[5]


def _relabelled(policy: dict, labels: dict[str, str]) -> dict:
    tracking = policy.get("TargetTrackingConfiguration") or {}
    metric = tracking.get("PredefinedMetricSpecification") or {}
    label = metric.get("ResourceLabel")
    if not label:
        return policy
    for old, new in labels.items():
        if label.endswith(old):
            metric = {**metric, "ResourceLabel": label[: -len(old)] + new}
    return {**policy, "TargetTrackingConfiguration": {**tracking, "PredefinedMetricSpecification": metric}}


def _present(item: dict, fields: tuple) -> dict:
    """The fields that carry a value (describe calls return empty lists and maps for the rest)."""
    return {key: item[key] for key in fields if key in item and item[key] not in (None, [], {}, "")}


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"
