"""Auto Scaling instance refresh: replace a group's instances in place (single-group topology).

StartInstanceRefresh with a desired configuration (a pinned launch template version, so AWS
can roll it back), DescribeInstanceRefreshes for its progress, RollbackInstanceRefresh while it
is active. AWS documents the behaviour in "Use an instance refresh to update instances in an
Auto Scaling group" and "Undo changes with a rollback" (docs/aws-behaviour.md).
"""

from __future__ import annotations

from ..model import RefreshView
from .api import AwsApi

ENDED_BADLY = frozenset({"Failed", "Cancelled", "RollbackFailed"})


class InstanceRefresh:
    def __init__(self, api: AwsApi):
        self.api = api

    def latest(self, group: str) -> RefreshView | None:
        refreshes = self.api.call(
            "autoscaling", "describe_instance_refreshes", AutoScalingGroupName=group, MaxRecords=1
        ).get("InstanceRefreshes", [])
        if not refreshes:
            return None
        latest = max(refreshes, key=lambda item: str(item.get("StartTime", "")))
        return RefreshView(
            latest["InstanceRefreshId"],
            latest["Status"],
            latest.get("StatusReason", ""),
            int(latest.get("PercentageComplete") or 0),
            int(latest.get("InstancesToUpdate") or 0),
        )

    def start(self, group: str, template: dict, preferences: dict) -> str:
        return self.api.call(
            "autoscaling",
            "start_instance_refresh",
            AutoScalingGroupName=group,
            Strategy="Rolling",
            DesiredConfiguration={"LaunchTemplate": template},
            Preferences=preferences,
        )["InstanceRefreshId"]

    def roll_back(self, group: str) -> str:
        return self.api.call("autoscaling", "rollback_instance_refresh", AutoScalingGroupName=group)[
            "InstanceRefreshId"
        ]


def preferences(capacity, alarms: tuple[str, ...]) -> tuple[dict, str]:
    """Replace one by one keeping every server in service: launch before terminate when the
    group's maximum leaves room for it (minimum healthy 100%), else one at a time. Alarms, when
    configured, roll the refresh back by themselves (AutoRollback)."""
    desired = max(1, capacity.desired)
    if capacity.max > capacity.desired:
        maximum = max(110, min(200, (100 * capacity.max) // desired))
        chosen = {"MinHealthyPercentage": 100, "MaxHealthyPercentage": maximum}
        how = f"launch before terminate (minimum healthy 100%, maximum {maximum}%)"
    else:
        minimum = (100 * (desired - 1)) // desired
        chosen = {"MinHealthyPercentage": minimum, "MaxHealthyPercentage": 100}
        how = (
            f"one server at a time (the group's maximum {capacity.max} leaves no room to launch first;"
            f" minimum healthy {minimum}%)"
        )
    chosen["SkipMatching"] = False
    if alarms:
        chosen["AutoRollback"] = True
        chosen["AlarmSpecification"] = {"Alarms": list(alarms)}
    return chosen, how
