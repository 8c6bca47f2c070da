"""Auto Scaling: find our groups by tag, create a group like the live one, resize, tag, delete."""

from __future__ import annotations

from dataclasses import dataclass

from ..model import TAG_APP, TAG_PREFIX, TAG_STAGE, Capacity
from .api import AwsApi, AwsCallError

# Settings a new generation copies from the live group.
COPIED_SETTINGS = (
    "LaunchConfigurationName",
    "HealthCheckType",
    "HealthCheckGracePeriod",
    "TerminationPolicies",
    "DefaultCooldown",
    "NewInstancesProtectedFromScaleIn",
    "CapacityRebalance",
    "MaxInstanceLifetime",
    "DefaultInstanceWarmup",
    "ServiceLinkedRoleARN",
    "Context",
    "PlacementGroup",
    "InstanceMaintenancePolicy",
    "AvailabilityZoneDistribution",
    "CapacityReservationSpecification",
)


@dataclass(frozen=True)
class Instance:
    id: str
    lifecycle: str  # Pending, InService, Standby, Terminating, ...
    health: str  # Healthy / Unhealthy (the ASG's own view)

    @property
    def in_service(self) -> bool:
        return self.lifecycle == "InService" and self.health == "Healthy"


@dataclass(frozen=True)
class AsgView:
    name: str
    tags: dict
    capacity: Capacity
    target_group_arns: tuple
    instances: tuple
    deleting: bool
    raw: dict

    @classmethod
    def of(cls, raw: dict) -> "AsgView":
        return cls(
            name=raw["AutoScalingGroupName"],
            tags={tag["Key"]: tag["Value"] for tag in raw.get("Tags", [])},
            capacity=Capacity(raw["MinSize"], raw["MaxSize"], raw["DesiredCapacity"]),
            target_group_arns=tuple(raw.get("TargetGroupARNs", [])),
            instances=tuple(
                Instance(i["InstanceId"], i["LifecycleState"], i["HealthStatus"]) for i in raw.get("Instances", [])
            ),
            deleting="Delete" in (raw.get("Status") or ""),
            raw=raw,
        )

    @property
    def launch_template(self) -> dict | None:
        """{LaunchTemplateId|LaunchTemplateName, Version} of the group, wherever it is declared."""
        if "LaunchTemplate" in self.raw:
            return self.raw["LaunchTemplate"]
        mixed = self.raw.get("MixedInstancesPolicy")
        if mixed:
            return mixed["LaunchTemplate"]["LaunchTemplateSpecification"]
        return None


class Asg:
    def __init__(self, api: AwsApi):
        self.api = api

    def find_managed(self, app: str, stage: str) -> list[AsgView]:
        """Every group tagged for this app and stage (one paginated call, filtered by AWS)."""
        raw = self.api.pages(
            "autoscaling",
            "describe_auto_scaling_groups",
            "AutoScalingGroups",
            Filters=[
                {"Name": f"tag:{TAG_APP}", "Values": [app]},
                {"Name": f"tag:{TAG_STAGE}", "Values": [stage]},
            ],
        )
        return [view for view in map(AsgView.of, raw) if not view.deleting]

    def find(self, name: str) -> AsgView | None:
        raw = self.api.call("autoscaling", "describe_auto_scaling_groups", AutoScalingGroupNames=[name])[
            "AutoScalingGroups"
        ]
        views = [view for view in map(AsgView.of, raw) if not view.deleting]
        return views[0] if views else None

    def attached_to(self, target_group_arn: str) -> list[AsgView]:
        """Groups registering into a target group (AWS has no filter for it: one paginated scan)."""
        raw = self.api.pages("autoscaling", "describe_auto_scaling_groups", "AutoScalingGroups")
        return [
            view for view in map(AsgView.of, raw) if target_group_arn in view.target_group_arns and not view.deleting
        ]

    def create_like(
        self,
        name: str,
        source: AsgView,
        capacity: Capacity,
        target_group_arn: str | None,
        tags: dict,
        propagate: set,
        launch_template_version: str | None,
        subnets: tuple,
    ) -> None:
        settings = {key: source.raw[key] for key in COPIED_SETTINGS if key in source.raw}
        if "MixedInstancesPolicy" in source.raw:
            policy = _without_nulls(source.raw["MixedInstancesPolicy"])
            if launch_template_version:
                policy["LaunchTemplate"]["LaunchTemplateSpecification"]["Version"] = launch_template_version
            settings["MixedInstancesPolicy"] = policy
        elif "LaunchTemplate" in source.raw:
            template = dict(source.raw["LaunchTemplate"])
            if "LaunchTemplateId" in template:  # AWS takes the id or the name, not both
                template.pop("LaunchTemplateName", None)
            if launch_template_version:
                template["Version"] = launch_template_version
            settings["LaunchTemplate"] = template
        settings["VPCZoneIdentifier"] = ",".join(subnets) if subnets else source.raw.get("VPCZoneIdentifier", "")
        if not settings["VPCZoneIdentifier"]:
            settings.pop("VPCZoneIdentifier")
            settings["AvailabilityZones"] = source.raw["AvailabilityZones"]
        copied_tags = {
            key: value
            for key, value in source.tags.items()
            if not key.startswith(TAG_PREFIX) and not key.startswith("aws:")
        }
        copied_propagate = {tag["Key"] for tag in source.raw.get("Tags", []) if tag.get("PropagateAtLaunch")}
        self.api.call(
            "autoscaling",
            "create_auto_scaling_group",
            AutoScalingGroupName=name,
            MinSize=capacity.min,
            MaxSize=capacity.max,
            DesiredCapacity=capacity.desired,
            TargetGroupARNs=[target_group_arn] if target_group_arn else [],
            Tags=_tag_list(name, {**copied_tags, **tags}, copied_propagate | propagate),
            **settings,
        )

    def attach(self, name: str, target_group_arn: str) -> None:
        self.api.call(
            "autoscaling",
            "attach_load_balancer_target_groups",
            AutoScalingGroupName=name,
            TargetGroupARNs=[target_group_arn],
        )

    def detach(self, name: str, target_group_arns: list[str]) -> None:
        self.api.call(
            "autoscaling",
            "detach_load_balancer_target_groups",
            AutoScalingGroupName=name,
            TargetGroupARNs=list(target_group_arns),
        )

    def use_template_version(self, name: str, template: dict, version: str) -> None:
        """Launch new servers of the group from this version of its launch template."""
        key = (
            {"LaunchTemplateId": template["LaunchTemplateId"]}
            if "LaunchTemplateId" in template
            else {"LaunchTemplateName": template["LaunchTemplateName"]}
        )
        self.api.call(
            "autoscaling",
            "update_auto_scaling_group",
            AutoScalingGroupName=name,
            LaunchTemplate={**key, "Version": version},
        )

    def set_capacity(self, name: str, capacity: Capacity) -> None:
        self.api.call(
            "autoscaling",
            "update_auto_scaling_group",
            AutoScalingGroupName=name,
            MinSize=capacity.min,
            MaxSize=capacity.max,
            DesiredCapacity=capacity.desired,
        )

    def tag(self, name: str, tags: dict, propagate: frozenset | set = frozenset()) -> None:
        self.api.call("autoscaling", "create_or_update_tags", Tags=_tag_list(name, tags, propagate))

    def untag(self, name: str, keys: list[str]) -> None:
        self.api.call(
            "autoscaling",
            "delete_tags",
            Tags=[{"ResourceId": name, "ResourceType": "auto-scaling-group", "Key": key} for key in keys],
        )

    def delete(self, name: str, force: bool = False) -> None:
        """Delete the group (AWS finishes in the background). Without `force` AWS refuses while the
        group has instances; with it, their termination does not wait for a drain."""
        try:
            self.api.call("autoscaling", "delete_auto_scaling_group", AutoScalingGroupName=name, ForceDelete=force)
        except AwsCallError as exc:
            if not (exc.code == "ValidationError" and "not found" in str(exc).lower()):
                raise


def _tag_list(name: str, tags: dict, propagate: frozenset | set) -> list[dict]:
    return [
        {
            "ResourceId": name,
            "ResourceType": "auto-scaling-group",
            "Key": key,
            "Value": value,
            "PropagateAtLaunch": key in propagate,
        }
        for key, value in tags.items()
    ]


def _without_nulls(value):
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value
