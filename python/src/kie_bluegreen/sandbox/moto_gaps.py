"""AWS APIs the runner calls that moto does not implement, added to moto's Auto Scaling.

- PutNotificationConfiguration / DescribeNotificationConfigurations /
  DeleteNotificationConfiguration: the SNS notifications of an Auto Scaling group (Amazon EC2
  Auto Scaling API reference). A new generation copies the live group's.
- Scheduled action and scaling policy names are unique per Auto Scaling group on AWS
  (PutScheduledUpdateGroupAction "creates or updates a scheduled scaling action for an Auto
  Scaling group", PutScalingPolicy "creates or updates a scaling policy for an Auto Scaling
  group"); moto keys them by name alone, so the same name on a second group replaced the first
  group's.

- A new CloudWatch alarm starts in INSUFFICIENT_DATA ("This is the initial state of a new alarm",
  "Monitor with CloudWatch alarms"); an update leaves its state unchanged. moto starts it OK.

`install()` is process-wide and idempotent: the sandbox and the tests call it before they use
moto. Only test and sandbox code imports this module.
"""

from __future__ import annotations

from moto.autoscaling.exceptions import ValidationError
from moto.autoscaling.models import AutoScalingBackend
from moto.autoscaling.responses import AutoScalingResponse
from moto.cloudwatch.models import CloudWatchBackend
from moto.core.responses import ActionResult, EmptyResult


def _notifications(backend: AutoScalingBackend) -> dict:
    """(group name, topic ARN) -> notification types, kept on the backend (one per account and region)."""
    if not hasattr(backend, "kie_notification_configurations"):
        backend.kie_notification_configurations = {}
    return backend.kie_notification_configurations


def put_notification_configuration(self) -> ActionResult:
    group = self._get_param("AutoScalingGroupName")
    self.autoscaling_backend.describe_auto_scaling_groups([group])  # the group must exist
    types = self._get_param("NotificationTypes", [])
    _notifications(self.autoscaling_backend)[(group, self._get_param("TopicARN"))] = list(types)
    return EmptyResult()


def describe_notification_configurations(self) -> ActionResult:
    groups = set(self._get_param("AutoScalingGroupNames", []))
    found = [
        {"AutoScalingGroupName": group, "TopicARN": topic, "NotificationType": kind}
        for (group, topic), kinds in sorted(_notifications(self.autoscaling_backend).items())
        if not groups or group in groups
        for kind in kinds
    ]
    return ActionResult({"NotificationConfigurations": found})


def delete_notification_configuration(self) -> ActionResult:
    key = (self._get_param("AutoScalingGroupName"), self._get_param("TopicARN"))
    _notifications(self.autoscaling_backend).pop(key, None)
    return EmptyResult()


_put_schedule = AutoScalingBackend.put_scheduled_update_group_action


def put_scheduled_update_group_action(self, name, *args, **kwargs):
    action = _put_schedule(self, name, *args, **kwargs)
    self.scheduled_actions.pop(action.scheduled_action_name, None)
    self.scheduled_actions[(name, action.scheduled_action_name)] = action
    return action


def delete_scheduled_action(self, auto_scaling_group_name: str, scheduled_action_name: str) -> None:
    if self.scheduled_actions.pop((auto_scaling_group_name, scheduled_action_name), None) is None:
        raise ValidationError("Scheduled action name not found")


_put_policy = AutoScalingBackend.put_scaling_policy


def put_scaling_policy(self, name, *args, **kwargs):
    policy = _put_policy(self, name, *args, **kwargs)
    self.policies.pop(name, None)
    self.policies[(policy.auto_scaling_group_name, name)] = policy
    return policy


_put_alarm = CloudWatchBackend.put_metric_alarm


def put_metric_alarm(self, name, *args, **kwargs):
    existing = self.alarms.get(name)
    state = (
        (existing.state_value, existing.state_reason)
        if existing
        else ("INSUFFICIENT_DATA", "Unchecked: Initial alarm creation")
    )
    alarm = _put_alarm(self, name, *args, **kwargs)
    alarm.state_value, alarm.state_reason = state
    return alarm


def install() -> None:
    for handler in (
        put_notification_configuration,
        describe_notification_configurations,
        delete_notification_configuration,
    ):
        setattr(AutoScalingResponse, handler.__name__, handler)
    AutoScalingBackend.put_scheduled_update_group_action = put_scheduled_update_group_action
    AutoScalingBackend.delete_scheduled_action = delete_scheduled_action
    AutoScalingBackend.put_scaling_policy = put_scaling_policy
    CloudWatchBackend.put_metric_alarm = put_metric_alarm
