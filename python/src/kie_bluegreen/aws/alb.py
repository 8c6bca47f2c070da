"""Application Load Balancer (ELBv2): the listener's routing, our header rules, target groups.

A listener may carry other teams' rules: we only ever modify the listener's default action
and the two header rules tagged as ours (kie-bluegreen:app/stage/rule).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import FIXED_404, TAG_APP, TAG_LAST_GENERATION, TAG_RULE, TAG_STAGE, Routing
from .api import AwsApi, AwsCallError

FORWARD_TYPES = ("forward", "fixed-response", "redirect")
LOGIN_TYPES = ("authenticate-cognito", "authenticate-oidc")
GREEN_AT_REST_BODY = "no green release is deployed (kie-bluegreen)"

# Settings of a target group that a new generation copies from the blue one.
COPIED_TARGET_GROUP_FIELDS = (
    "Protocol",
    "ProtocolVersion",
    "Port",
    "VpcId",
    "TargetType",
    "IpAddressType",
    "HealthCheckProtocol",
    "HealthCheckPort",
    "HealthCheckEnabled",
    "HealthCheckPath",
    "HealthCheckIntervalSeconds",
    "HealthCheckTimeoutSeconds",
    "HealthyThresholdCount",
    "UnhealthyThresholdCount",
    "Matcher",
)
COPIED_TARGET_GROUP_ATTRIBUTES = (
    "deregistration_delay.timeout_seconds",
    "deregistration_delay.connection_termination.enabled",
    "slow_start.duration_seconds",
    "load_balancing.algorithm.type",
    "load_balancing.cross_zone.enabled",
    "stickiness.enabled",
    "stickiness.type",
    "stickiness.lb_cookie.duration_seconds",
    "stickiness.app_cookie.cookie_name",
    "stickiness.app_cookie.duration_seconds",
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
class RuleSpec:
    """How to create one of our header rules: its condition, priority and tags."""

    header: str
    value: str
    priority: int
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
        green = self.ours["green"].target if "green" in self.ours else None
        members = forward_members(self.default_actions)
        return Routing(
            default=default_target(self.default_actions, green),
            blue=self.ours["blue"].target if "blue" in self.ours else None,
            green=green,
            weights=members if len(members) > 1 else (),
        )

    def rules_forwarding_to(self, target_group_arn: str) -> list[str]:
        """Every rule (ours or not, default included) that still sends traffic to the group."""
        return self._rules_naming(target_group_arn, forwarded_groups)

    def rules_referencing(self, target_group_arn: str) -> list[str]:
        """Every rule that names the group in a forward, weight 0 included: AWS health-checks
        such a group, and refuses to delete it (ResourceInUse)."""
        return self._rules_naming(target_group_arn, lambda actions: [arn for arn, _ in forward_members(actions)])

    def _rules_naming(self, target_group_arn: str, groups_of) -> list[str]:
        found = []
        if target_group_arn in groups_of(self.default_actions):
            found.append("default action")
        for rule in self.rules:
            if target_group_arn in groups_of(rule["Actions"]):
                found.append(f"rule priority {rule['Priority']}")
        return found

    @property
    def login(self) -> tuple:
        """The authenticate actions the default action runs before it routes (may be empty)."""
        return login_actions(self.default_actions)

    def tag_value(self, key: str) -> str | None:
        """A tag our header rules carry (the blue rule's when they differ)."""
        values = [rule.tags[key] for route, rule in sorted(self.ours.items()) if key in rule.tags]
        return values[0] if values else None

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


def default_target(actions, green: str | None = None) -> str | None:
    """The group the default route serves. While it splits traffic, the member that is not the
    green candidate (the one with the most weight when that does not decide)."""
    loaded = [(arn, weight) for arn, weight in forward_members(actions) if weight > 0]
    if len(loaded) <= 1:
        return loaded[0][0] if loaded else action_target(actions)
    others = [(arn, weight) for arn, weight in loaded if arn != green] or loaded
    return max(others, key=lambda member: member[1])[0]


def forward_members(actions) -> tuple[tuple[str, int], ...]:
    """(target group ARN, weight) of every group a forward action names, weight 0 included.
    AWS describes a plain forward both as TargetGroupArn and as a one-member ForwardConfig."""
    members: list[tuple[str, int]] = []
    for action in actions:
        if action["Type"] != "forward":
            continue
        weighted = (action.get("ForwardConfig") or {}).get("TargetGroups")
        if weighted:
            members += [(g["TargetGroupArn"], int(g.get("Weight", 1))) for g in weighted]
        elif action.get("TargetGroupArn"):
            members.append((action["TargetGroupArn"], 1))
    return tuple(members)


def forwarded_groups(actions) -> list[str]:
    """Target groups that receive traffic (weight > 0) from these actions."""
    groups: list[str] = []
    for arn, weight in forward_members(actions):
        if weight > 0 and arn not in groups:
            groups.append(arn)
    return groups


def login_actions(actions) -> tuple:
    """The authenticate-* actions of a rule, as they must be written back: AWS never returns an
    OIDC client secret, so a rewrite keeps the one it has (UseExistingClientSecret)."""
    kept = []
    for action in sorted((a for a in actions if a["Type"] in LOGIN_TYPES), key=lambda a: a.get("Order", 0)):
        action = {key: value for key, value in action.items() if key != "Order"}
        if action["Type"] == "authenticate-oidc":
            config = {k: v for k, v in action["AuthenticateOidcConfig"].items() if k != "ClientSecret"}
            action["AuthenticateOidcConfig"] = {**config, "UseExistingClientSecret": True}
        kept.append(action)
    return tuple(kept)


def same_login(left, right) -> bool:
    """Do two rules log users in the same way (secrets aside)?"""
    return _comparable(login_actions(left)) == _comparable(login_actions(right))


def _comparable(actions) -> list:
    return [
        (
            a["Type"],
            sorted(
                (k, str(v))
                for k, v in (a.get("AuthenticateOidcConfig") or a.get("AuthenticateCognitoConfig") or {}).items()
                if k != "UseExistingClientSecret"
            ),
        )
        for a in actions
    ]


def terminal_action(target: str) -> dict:
    if target == FIXED_404:
        return {
            "Type": "fixed-response",
            "FixedResponseConfig": {
                "StatusCode": "404",
                "ContentType": "text/plain",
                "MessageBody": GREEN_AT_REST_BODY,
            },
        }
    return {"Type": "forward", "TargetGroupArn": target}


def forward_action(members, stickiness: dict | None = None) -> dict:
    """A forward to one group (plain) or several (weighted, weight 0 allowed)."""
    if len(members) == 1 and members[0][1] > 0:
        return terminal_action(members[0][0])
    config: dict = {"TargetGroups": [{"TargetGroupArn": arn, "Weight": weight} for arn, weight in members]}
    if stickiness:
        config["TargetGroupStickinessConfig"] = stickiness
    return {"Type": "forward", "ForwardConfig": config}


def with_login(login, terminal: dict) -> list[dict]:
    """Authenticate actions first (in order), then the routing action."""
    if not login:
        return [terminal]
    actions = [dict(action, Order=index) for index, action in enumerate(login, 1)]
    return actions + [dict(terminal, Order=len(actions) + 1)]


def stickiness_of(actions) -> dict | None:
    for action in actions:
        config = (action.get("ForwardConfig") or {}).get("TargetGroupStickinessConfig")
        if action["Type"] == "forward" and config and config.get("Enabled"):
            return config
    return None


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
        return ListenerView(
            listener_arn,
            listener["LoadBalancerArn"],
            default_actions,
            others,
            self._our_rules(others, header, app, stage),
        )

    def _our_rules(self, rules, header: str, app: str, stage: str) -> dict:
        candidates = [rule for rule in rules if _has_header_condition(rule, header)]
        tags = self.tags([rule["RuleArn"] for rule in candidates])
        ours = {}
        for rule in candidates:
            rule_tags = tags.get(rule["RuleArn"], {})
            route = rule_tags.get(TAG_RULE)
            if rule_tags.get(TAG_APP) == app and rule_tags.get(TAG_STAGE) == stage and route in ("blue", "green"):
                ours[route] = HeaderRule(
                    route, rule["RuleArn"], int(rule["Priority"]), action_target(rule["Actions"]), rule_tags
                )
        return ours

    def route(self, view: ListenerView, route: str, target: str, rule: "RuleSpec") -> None:
        """Make one route point at its target: one API call. The default route becomes a plain
        forward (weight-0 members included are dropped); our header rules carry the default
        action's login in front of their own action, so a header never skips the login."""
        login = view.login
        if route == "default":
            self.set_default(view, ((target, 1),))
        elif route in view.ours:
            self.api.call(
                "elbv2", "modify_rule", RuleArn=view.ours[route].arn, Actions=with_login(login, terminal_action(target))
            )
        else:
            self.api.call(
                "elbv2",
                "create_rule",
                ListenerArn=view.arn,
                Priority=rule.priority,
                Conditions=[
                    {
                        "Field": "http-header",
                        "HttpHeaderConfig": {"HttpHeaderName": rule.header, "Values": [rule.value]},
                    }
                ],
                Actions=with_login(login, terminal_action(target)),
                Tags=[{"Key": key, "Value": value} for key, value in {**rule.tags, TAG_RULE: route}.items()],
            )

    def set_default(self, view: ListenerView, members) -> None:
        """The default action forwards to these (target group, weight) members, login kept."""
        action = forward_action(tuple(members), stickiness_of(view.default_actions))
        self.api.call("elbv2", "modify_listener", ListenerArn=view.arn, DefaultActions=with_login(view.login, action))

    def sync_login(self, view: ListenerView, route: str) -> None:
        """Give one of our rules the default action's login again (its routing unchanged)."""
        rule = view.ours[route]
        self.api.call(
            "elbv2", "modify_rule", RuleArn=rule.arn, Actions=with_login(view.login, terminal_action(rule.target))
        )

    def load_balancer(self, arn: str) -> dict:
        return self.api.call("elbv2", "describe_load_balancers", LoadBalancerArns=[arn])["LoadBalancers"][0]

    # -- target groups -------------------------------------------------------------------------

    def target_group(self, arn: str) -> dict:
        return self.api.call("elbv2", "describe_target_groups", TargetGroupArns=[arn])["TargetGroups"][0]

    def existing_target_groups(self, arns) -> dict[str, dict]:
        """ARN -> description of those that exist (a deletion that stopped half-way leaves an
        Auto Scaling group naming a target group that is gone)."""
        arns = sorted(set(arns))
        if not arns:
            return {}
        try:
            found = self.api.call("elbv2", "describe_target_groups", TargetGroupArns=arns)["TargetGroups"]
        except AwsCallError as exc:
            if exc.code != "TargetGroupNotFound":
                raise
            # AWS fails the whole call on one missing ARN: ask one by one
            found = [group for arn in arns for group in self._one_target_group(arn)]
        return {group["TargetGroupArn"]: group for group in found}

    def _one_target_group(self, arn: str) -> list[dict]:
        try:
            return self.api.call("elbv2", "describe_target_groups", TargetGroupArns=[arn])["TargetGroups"]
        except AwsCallError as exc:
            if exc.code == "TargetGroupNotFound":
                return []
            raise

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
        return self.api.call(
            "elbv2",
            "create_target_group",
            Name=name,
            **settings,
            Tags=[{"Key": key, "Value": value} for key, value in tags.items()],
        )["TargetGroups"][0]["TargetGroupArn"]

    def copy_attributes(self, source_arn: str, target_arn: str, deregistration_delay: float | None) -> None:
        """Deregistration delay, slow start, stickiness, algorithm... of `source_arn` onto `target_arn`."""
        attributes = self.api.call("elbv2", "describe_target_group_attributes", TargetGroupArn=source_arn)["Attributes"]
        copied = {a["Key"]: a["Value"] for a in attributes if a["Key"] in COPIED_TARGET_GROUP_ATTRIBUTES}
        if deregistration_delay is not None:
            copied[DEREGISTRATION_DELAY] = str(int(deregistration_delay))
        if copied:
            self.api.call(
                "elbv2",
                "modify_target_group_attributes",
                TargetGroupArn=target_arn,
                Attributes=[{"Key": key, "Value": value} for key, value in copied.items()],
            )

    def deregistration_delay(self, arn: str) -> float:
        try:
            attributes = self.api.call("elbv2", "describe_target_group_attributes", TargetGroupArn=arn)["Attributes"]
        except AwsCallError as exc:
            if exc.code == "TargetGroupNotFound":
                return 0.0  # already deleted: nothing left to drain
            raise
        return float(next((a["Value"] for a in attributes if a["Key"] == DEREGISTRATION_DELAY), 300))

    def target_health(self, arn: str) -> dict[str, TargetHealth]:
        """Instance id -> health; empty when the target group is gone."""
        try:
            described = self.api.call("elbv2", "describe_target_health", TargetGroupArn=arn)["TargetHealthDescriptions"]
        except AwsCallError as exc:
            if exc.code == "TargetGroupNotFound":
                return {}
            raise
        return {
            item["Target"]["Id"]: TargetHealth(item["TargetHealth"]["State"], item["TargetHealth"].get("Reason"))
            for item in described
        }

    def delete_target_group(self, arn: str) -> None:
        """Delete it; a target group already gone is fine (a re-run after a crash)."""
        try:
            self.api.call("elbv2", "delete_target_group", TargetGroupArn=arn)
        except AwsCallError as exc:
            if exc.code != "TargetGroupNotFound":
                raise

    # -- tags ----------------------------------------------------------------------------------

    def tags(self, arns: list[str]) -> dict[str, dict[str, str]]:
        found: dict[str, dict[str, str]] = {}
        for start in range(0, len(arns), 20):  # DescribeTags takes at most 20 ARNs
            described = self.api.call("elbv2", "describe_tags", ResourceArns=arns[start : start + 20])
            for item in described["TagDescriptions"]:
                found[item["ResourceArn"]] = {tag["Key"]: tag["Value"] for tag in item.get("Tags", [])}
        return found

    def tag(self, arns: str | list[str], tags: dict[str, str]) -> None:
        arns = [arns] if isinstance(arns, str) else arns
        self.api.call("elbv2", "add_tags", ResourceArns=arns, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


def _has_header_condition(rule: dict, header: str) -> bool:
    for condition in rule.get("Conditions", []):
        config = condition.get("HttpHeaderConfig")
        if (
            condition.get("Field") == "http-header"
            and config
            and config.get("HttpHeaderName", "").lower() == header.lower()
        ):
            return True
    return False
