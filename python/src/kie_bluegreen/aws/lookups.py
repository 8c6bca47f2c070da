"""Read-only look-ups for the preflight checks: quotas, counts, subnets, launch templates.

Each method is one cheap describe (or one paginated scan) and answers in domain terms.
"""

from __future__ import annotations

from .api import AwsApi, AwsCallError

# AWS's defaults when DescribeAccountLimits does not list a quota (Elastic Load Balancing quotas).
DEFAULT_LIMITS = {
    "rules-per-application-load-balancer": 100,
    "target-groups-per-application-load-balancer": 100,
    "target-groups": 3000,
}
MISSING_CODES = frozenset(
    {
        "InvalidSubnetID.NotFound",
        "InvalidLaunchTemplateId.NotFound",
        "InvalidLaunchTemplateName.NotFoundException",
        "InvalidLaunchTemplateId.VersionNotFound",
        "InvalidLaunchTemplateId.Malformed",
    }
)


class Lookups:
    def __init__(self, api: AwsApi):
        self.api = api

    def load_balancer_limits(self) -> dict[str, int]:
        """Quota name -> maximum, AWS's defaults filled in for quotas the account does not list."""
        limits = self.api.pages("elbv2", "describe_account_limits", "Limits")
        found = {item["Name"]: int(item["Max"]) for item in limits if str(item.get("Max", "")).isdigit()}
        return {**DEFAULT_LIMITS, **found}

    def rules_on_load_balancer(self, load_balancer_arn: str) -> int:
        """Listener rules across every listener of the load balancer (default rules excluded)."""
        listeners = self.api.pages("elbv2", "describe_listeners", "Listeners", LoadBalancerArn=load_balancer_arn)
        count = 0
        for listener in listeners:
            rules = self.api.pages("elbv2", "describe_rules", "Rules", ListenerArn=listener["ListenerArn"])
            count += sum(1 for rule in rules if not rule.get("IsDefault"))
        return count

    def target_groups_on_load_balancer(self, load_balancer_arn: str) -> set[str]:
        try:
            groups = self.api.pages(
                "elbv2", "describe_target_groups", "TargetGroups", LoadBalancerArn=load_balancer_arn
            )
        except AwsCallError as exc:
            if exc.code != "TargetGroupNotFound":  # some endpoints answer "none" with this error
                raise
            return set()
        return {group["TargetGroupArn"] for group in groups}

    def target_groups_in_region(self) -> int:
        return len(self.api.pages("elbv2", "describe_target_groups", "TargetGroups"))

    def subnets(self, subnet_ids: list[str]) -> tuple[dict[str, tuple[str, str]], list[str]]:
        """({subnet id: (vpc id, availability zone)} of those that exist, [ids that do not])."""
        try:
            subnets = self.api.pages("ec2", "describe_subnets", "Subnets", SubnetIds=list(subnet_ids))
            return {subnet["SubnetId"]: (subnet["VpcId"], subnet.get("AvailabilityZone", "")) for subnet in subnets}, []
        except AwsCallError as exc:
            if exc.code not in MISSING_CODES:
                raise
        found: dict[str, tuple[str, str]] = {}  # AWS fails the whole call on one unknown id: ask one by one
        missing: list[str] = []
        for subnet_id in subnet_ids:
            try:
                subnet = self.api.pages("ec2", "describe_subnets", "Subnets", SubnetIds=[subnet_id])[0]
                found[subnet_id] = (subnet["VpcId"], subnet.get("AvailabilityZone", ""))
            except AwsCallError as exc:
                if exc.code not in MISSING_CODES:
                    raise
                missing.append(subnet_id)
        return found, missing

    def launch_template_version(self, template: dict) -> dict | None:
        """The version a group launches from ({LaunchTemplateId|Name, Version}); None if gone."""
        key = {k: template[k] for k in ("LaunchTemplateId",) if k in template} or {
            "LaunchTemplateName": template["LaunchTemplateName"]
        }
        try:
            versions = self.api.call(
                "ec2", "describe_launch_template_versions", **key, Versions=[str(template.get("Version") or "$Default")]
            )["LaunchTemplateVersions"]
        except AwsCallError as exc:
            if exc.code in MISSING_CODES:
                return None
            raise
        return versions[0] if versions else None
