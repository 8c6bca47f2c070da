"""Application Load Balancer (ELBv2): the listener's routing, our header rules, target groups.

A listener may carry other teams' rules: we only ever modify the listener's default action
and the two header rules tagged as ours (kie-bluegreen:app/stage/rule).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import FIXED_404, TAG_APP, TAG_LAST_GENERATION, TAG_RULE, TAG_STAGE, Routing, RuleChange
from .api import AwsApi, AwsCallError

FORWARD_TYPES = ("forward", "fixed-response", "redirect")
GREEN_AT_REST_BODY = "no green release is deployed (kie-bluegreen)"

# Settings of a target group that a new generation copies from the blue one.
COPIED_TARGET_GROUP_FIELDS = (
    "Protocol", "ProtocolVersion", "Port", "VpcId", "TargetType", "IpAddressType",
    "HealthCheckProtocol", "HealthCheckPort", "HealthCheckEnabled", "HealthCheckPath",
    "HealthCheckIntervalSeconds", "HealthCheckTimeoutSeconds", "HealthyThresholdCount",
    "UnhealthyThresholdCount", "Matcher",
)
COPIED_TARGET_GROUP_ATTRIBUTES = (
    "deregistration_delay.timeout_seconds", "deregistration_delay.connection_termination.enabled",
    "slow_start.duration_seconds", "load_balancing.algorithm.type", "load_balancing.cross_zone.enabled",
    "stickiness.enabled", "stickiness.type", "stickiness.lb_cookie.duration_seconds",
    "stickiness.app_cookie.cookie_name", "stickiness.app_cookie.duration_seconds",
)
DEREGISTRATION_DELAY = "deregistration_delay.timeout_seconds"


@dataclass(frozen=True)
class HeaderRule:
    route: str  # "blue" or "green"
    arn: str
    priority: int
    target: str | None
    tags: dict


@dataclass(frozen=True)
class ListenerView:
    """The listener as read: its default action, all its rules, and which ones are ours."""

    arn: str
    load_balancer_arn: str
    default_actions: tuple
    rules: tuple  # every non-default rule, raw, other teams' included
    ours: dict  # route ("blue"/"green") -> HeaderRule

    @property
    def routing(self) -> Routing:
        return Routing(
            default=action_target(self.default_actions),
            blue=self.ours["blue"].target if "blue" in self.ours else None,
            green=self.ours["green"].target if "green" in self.ours else None,
        )

    def rules_forwarding_to(self, target_group_arn: str) -> list[str]:
        """Every rule (ours or not, default included) that still sends traffic to the group."""
        found = []
        if target_group_arn in forwarded_groups(self.default_actions):
            found.append("default action")
        for rule in self.rules:
            if target_group_arn in forwarded_groups(rule["Actions"]):
                found.append(f"rule priority {rule['Priority']}")
        return found

    @property
    def last_generation(self) -> int:
        """The highest generation ever provisioned (kept on our rules: groups get deleted)."""
        values = [rule.tags.get(TAG_LAST_GENERATION, "0") for rule in self.ours.values()]
        return max((int(value) for value in values if value.isdigit()), default=0)

    def priorities(self) -> dict[int, str]:
        return {int(rule["Priority"]): rule["RuleArn"] for rule in self.rules}


@dataclass(frozen=True)
class TargetHealth:
    state: str  # initial, healthy, unhealthy, unused, draining, unavailable
    reason: str | None = None

    def describe(self) -> str:
        return f"{self.state} ({self.reason})" if self.reason else self.state


def action_target(actions) -> str | None:
    """What a list of actions routes to: a target group ARN, 'fixed-response:404', or None."""
    terminal = [action for action in actions if action["Type"] in FORWARD_TYPES]
    if not terminal:
        return None
    action = terminal[-1]
    if action["Type"] == "fixed-response":
        return f"fixed-response:{action['FixedResponseConfig']['StatusCode']}"
    if action["Type"] == "redirect":
        return "redirect"
    groups = forwarded_groups([action])
    if len(groups) == 1:
        return groups[0]
    return "weighted:" + ",".join(groups)


def forwarded_groups(actions) -> list[str]:
    """Target groups that receive traffic (weight > 0) from these actions."""
    groups: list[str] = []
    for action in actions:
        if action["Type"] != "forward":
            continue
        weighted = action.get("ForwardConfig", {}).get("TargetGroups")
        if weighted:
            groups += [g["TargetGroupArn"] for g in weighted if g.get("Weight", 1) > 0 and g["TargetGroupArn"] not in groups]
        elif action.get("TargetGroupArn") and action["TargetGroupArn"] not in groups:
            groups.append(action["TargetGroupArn"])
    return groups


def terminal_action(target: str) -> dict:
    if target == FIXED_404:
        return {"Type": "fixed-response", "FixedResponseConfig": {
            "StatusCode": "404", "ContentType": "text/plain", "MessageBody": GREEN_AT_REST_BODY}}
    return {"Type": "forward", "TargetGroupArn": target}


def replace_terminal(actions, target: str) -> list[dict]:
    """Keep authenticate-* actions in front of the default, swap only the routing action."""
    kept = [dict(action) for action in actions if action["Type"] not in FORWARD_TYPES]
    new = terminal_action(target)
    if kept:
        new["Order"] = max(action.get("Order", 1) for action in kept) + 1
    return kept + [new]


class Alb:
    def __init__(self, api: AwsApi):
        self.api = api

    # -- listener ------------------------------------------------------------------------------

    def read_listener(self, listener_arn: str, header: str, app: str, stage: str) -> ListenerView:
        listener = self.api.call("elbv2", "describe_listeners", ListenerArns=[listener_arn])["Listeners"][0]
        rules = self.api.pages("elbv2", "describe_rules", "Rules", ListenerArn=listener_arn)
        default = next((rule for rule in rules if rule.get("IsDefault")), None)
        others = tuple(rule for rule in rules if not rule.get("IsDefault"))
        default_actions = tuple(default["Actions"] if default else listener["DefaultActions"])
        return ListenerView(listener_arn, listener["LoadBalancerArn"], default_actions, others,
                            self._our_rules(others, header, app, stage))

    def _our_rules(self, rules, header: str, app: str, stage: str) -> dict:
        candidates = [rule for rule in rules if _has_header_condition(rule, header)]
        tags = self.tags([rule["RuleArn"] for rule in candidates])
        ours = {}
        for rule in candidates:
            rule_tags = tags.get(rule["RuleArn"], {})
            route = rule_tags.get(TAG_RULE)
            if rule_tags.get(TAG_APP) == app and rule_tags.get(TAG_STAGE) == stage and route in ("blue", "green"):
                ours[route] = HeaderRule(route, rule["RuleArn"], int(rule["Priority"]), action_target(rule["Actions"]), rule_tags)
        return ours

    def apply(self, view: ListenerView, change: RuleChange, header: str, header_value: str,
              priority: int, tags: dict) -> None:
        """Make one route point at its target: one API call."""
        if change.route == "default":
            self.api.call("elbv2", "modify_listener", ListenerArn=view.arn,
                          DefaultActions=replace_terminal(view.default_actions, change.target))
        elif change.route in view.ours:
            self.api.call("elbv2", "modify_rule", RuleArn=view.ours[change.route].arn,
                          Actions=[terminal_action(change.target)])
        else:
            self.api.call(
                "elbv2", "create_rule", ListenerArn=view.arn, Priority=priority,
                Conditions=[{"Field": "http-header",
                             "HttpHeaderConfig": {"HttpHeaderName": header, "Values": [header_value]}}],
                Actions=[terminal_action(change.target)],
                Tags=[{"Key": key, "Value": value} for key, value in {**tags, TAG_RULE: change.route}.items()],
            )

    def load_balancer(self, arn: str) -> dict:
        return self.api.call("elbv2", "describe_load_balancers", LoadBalancerArns=[arn])["LoadBalancers"][0]

    # -- target groups -------------------------------------------------------------------------

    def target_group(self, arn: str) -> dict:
        return self.api.call("elbv2", "describe_target_groups", TargetGroupArns=[arn])["TargetGroups"][0]

    def find_target_group(self, name: str) -> dict | None:
        try:
            return self.api.call("elbv2", "describe_target_groups", Names=[name])["TargetGroups"][0]
        except AwsCallError as exc:
            if exc.code == "TargetGroupNotFound":
                return None
            raise

    def create_target_group_like(self, name: str, source_arn: str, tags: dict, health_check_path: str | None) -> str:
        """A new target group with the health check and protocol settings of `source_arn`."""
        source = self.target_group(source_arn)
        settings = {key: source[key] for key in COPIED_TARGET_GROUP_FIELDS if key in source}
        if health_check_path:
            settings["HealthCheckPath"] = health_check_path
        return self.api.call("elbv2", "create_target_group", Name=name, **settings,
                             Tags=[{"Key": key, "Value": value} for key, value in tags.items()])["TargetGroups"][0]["TargetGroupArn"]

    def copy_attributes(self, source_arn: str, target_arn: str, deregistration_delay: float | None) -> None:
        """Deregistration delay, slow start, stickiness, algorithm... of `source_arn` onto `target_arn`."""
        attributes = self.api.call("elbv2", "describe_target_group_attributes", TargetGroupArn=source_arn)["Attributes"]
        copied = {a["Key"]: a["Value"] for a in attributes if a["Key"] in COPIED_TARGET_GROUP_ATTRIBUTES}
        if deregistration_delay is not None:
            copied[DEREGISTRATION_DELAY] = str(int(deregistration_delay))
        if copied:
            self.api.call("elbv2", "modify_target_group_attributes", TargetGroupArn=target_arn,
                          Attributes=[{"Key": key, "Value": value} for key, value in copied.items()])

    def deregistration_delay(self, arn: str) -> float:
        try:
            attributes = self.api.call("elbv2", "describe_target_group_attributes", TargetGroupArn=arn)["Attributes"]
        except AwsCallError as exc:
            if exc.code == "TargetGroupNotFound":
                return 0.0  # already deleted: nothing left to drain
            raise
        return float(next((a["Value"] for a in attributes if a["Key"] == DEREGISTRATION_DELAY), 300))

    def target_health(self, arn: str) -> dict[str, TargetHealth]:
        described = self.api.call("elbv2", "describe_target_health", TargetGroupArn=arn)["TargetHealthDescriptions"]
        return {
            item["Target"]["Id"]: TargetHealth(item["TargetHealth"]["State"], item["TargetHealth"].get("Reason"))
            for item in described
        }

    def delete_target_group(self, arn: str) -> None:
        self.api.call("elbv2", "delete_target_group", TargetGroupArn=arn)

    # -- tags ----------------------------------------------------------------------------------

    def tags(self, arns: list[str]) -> dict[str, dict[str, str]]:
        found: dict[str, dict[str, str]] = {}
        for start in range(0, len(arns), 20):  # DescribeTags takes at most 20 ARNs
            described = self.api.call("elbv2", "describe_tags", ResourceArns=arns[start:start + 20])
            for item in described["TagDescriptions"]:
                found[item["ResourceArn"]] = {tag["Key"]: tag["Value"] for tag in item.get("Tags", [])}
        return found

    def tag(self, arns: str | list[str], tags: dict[str, str]) -> None:
        arns = [arns] if isinstance(arns, str) else arns
        self.api.call("elbv2", "add_tags", ResourceArns=arns, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


def _has_header_condition(rule: dict, header: str) -> bool:
    for condition in rule.get("Conditions", []):
        config = condition.get("HttpHeaderConfig")
        if condition.get("Field") == "http-header" and config and config.get("HttpHeaderName", "").lower() == header.lower():
            return True
    return False
