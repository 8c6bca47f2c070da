"""CloudWatch: the alarms that stop a release, and the 5xx share of a target group.

An alarm in ALARM during a weighted step or the bake rolls the release back. The 5xx share of
the new target group is HTTPCode_Target_5XX_Count / RequestCount of the AWS/ApplicationELB
namespace, summed over the window, for the load balancer and target group dimensions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from .api import AwsApi


@dataclass(frozen=True)
class AlarmState:
    name: str
    state: str  # OK, ALARM, INSUFFICIENT_DATA
    reason: str


class CloudWatch:
    def __init__(self, api: AwsApi):
        self.api = api

    def alarms(self, names: tuple[str, ...]) -> dict[str, AlarmState]:
        """Name -> state of those alarms that exist (metric and composite alarms)."""
        if not names:
            return {}
        found: dict[str, AlarmState] = {}
        for start in range(0, len(names), 100):  # DescribeAlarms takes at most 100 names
            answer = self.api.call(
                "cloudwatch",
                "describe_alarms",
                AlarmNames=list(names[start : start + 100]),
                AlarmTypes=["MetricAlarm", "CompositeAlarm"],
            )
            for alarm in answer.get("MetricAlarms", []) + answer.get("CompositeAlarms", []):
                found[alarm["AlarmName"]] = AlarmState(
                    alarm["AlarmName"], alarm["StateValue"], alarm.get("StateReason", "")
                )
        return found

    def error_share(
        self, load_balancer_arn: str, target_group_arn: str, since: float, until: float
    ) -> tuple[float, float]:
        """(5xx responses, requests) of the target group between two epoch times."""
        dimensions = [
            {"Name": "LoadBalancer", "Value": load_balancer_arn.split(":loadbalancer/", 1)[1]},
            {"Name": "TargetGroup", "Value": target_group_arn.split(":", 5)[5]},
        ]
        period = 60

        def query(identifier: str, metric: str) -> dict:
            return {
                "Id": identifier,
                "ReturnData": True,
                "MetricStat": {
                    "Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": metric, "Dimensions": dimensions},
                    "Period": period,
                    "Stat": "Sum",
                },
            }

        answer = self.api.call(
            "cloudwatch",
            "get_metric_data",
            MetricDataQueries=[query("errors", "HTTPCode_Target_5XX_Count"), query("requests", "RequestCount")],
            StartTime=datetime.fromtimestamp(since, tz=timezone.utc),
            EndTime=datetime.fromtimestamp(until + period, tz=timezone.utc),
        )
        sums = {result["Id"]: sum(result.get("Values", [])) for result in answer["MetricDataResults"]}
        return sums.get("errors", 0.0), sums.get("requests", 0.0)
