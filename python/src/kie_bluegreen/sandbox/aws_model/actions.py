"""Listener actions as an Application Load Balancer accepts them and reads them back. Pure
functions on API-shaped action dicts, shared by the moto patch and the sandbox's data plane.

Sources (docs/aws-behaviour.md has the table):
- Action, ForwardActionConfig, TargetGroupTuple, AuthenticateOidcActionConfig and
  AuthenticateCognitoActionConfig in the Elastic Load Balancing API Reference;
- "Listeners for your Application Load Balancers" (forward actions, weights 0 to 999) and
  "Quotas for your Application Load Balancers" (5 target groups per action) in the ALB guide;
- "Authenticate users using an Application Load Balancer" (HTTPS listeners only).
"""

from __future__ import annotations

TERMINAL_TYPES = ("forward", "fixed-response", "redirect")
AUTHENTICATE_TYPES = ("authenticate-oidc", "authenticate-cognito")
MAX_TARGET_GROUPS_PER_ACTION = 5
MAX_WEIGHT = 999
MAX_ORDER = 50000
# The documented defaults of AuthenticateOidcActionConfig / AuthenticateCognitoActionConfig,
# which DescribeListeners and DescribeRules report when the caller left them out.
AUTHENTICATE_DEFAULTS = {
    "Scope": "openid",
    "SessionCookieName": "AWSELBAuthSessionCookie",
    "SessionTimeout": 604800,
    "OnUnauthenticatedRequest": "authenticate",
}
OIDC_REQUIRED = ("Issuer", "AuthorizationEndpoint", "TokenEndpoint", "UserInfoEndpoint", "ClientId")
COGNITO_REQUIRED = ("UserPoolArn", "UserPoolClientId", "UserPoolDomain")
# Observed from ELBv2 (ModifyRule), see docs/aws-behaviour.md.
BOTH_SECRETS = "You cannot both specify a client secret and set UseExistingClientSecret to true"


class ActionError(ValueError):
    """An action list ELBv2 refuses: `code` is the API error code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def forward_weights(action: dict) -> list[tuple[str, int]]:
    """(target group ARN, weight) of a forward action: ForwardConfig's groups, else the plain
    TargetGroupArn with weight 1."""
    groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
    if groups:
        return [(group["TargetGroupArn"], int(group.get("Weight", 1))) for group in groups]
    if action.get("TargetGroupArn"):
        return [(action["TargetGroupArn"], 1)]
    return []


def referenced_target_groups(action: dict) -> list[str]:
    """Target groups a listener action references, weight 0 included: those are health-checked
    and cannot be deleted."""
    if action.get("Type") != "forward":
        return []
    arns = [arn for arn, _ in forward_weights(action)]
    if action.get("TargetGroupArn") and action["TargetGroupArn"] not in arns:
        arns.append(action["TargetGroupArn"])
    return arns


def ordered(actions: list[dict]) -> list[dict]:
    """Actions in the order the load balancer performs them (lowest Order first)."""
    return sorted(actions, key=lambda action: int(action.get("Order", 0)))


def check(actions: list[dict], protocol: str, modifying: bool, previous_secret: str | None = None) -> None:
    """Refuse what ELBv2 refuses. `modifying`: the list replaces existing actions (ModifyRule,
    ModifyListener), where an OIDC action may keep `previous_secret` with
    UseExistingClientSecret."""
    # "Action", https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_Action.html
    if not actions:
        raise ActionError("ValidationError", "At least one action must be specified")
    if len(actions) > 1:
        missing = [index + 1 for index, action in enumerate(actions) if action.get("Order") is None]
        if missing:
            raise ActionError(
                "InvalidLoadBalancerAction",
                f"Order is required for every action of a rule with several actions; "
                f"action {', '.join(map(str, missing))} has none",
            )
    orders = [int(action["Order"]) for action in actions if action.get("Order") is not None]
    if any(not 1 <= order <= MAX_ORDER for order in orders):
        raise ActionError("ValidationError", f"Order must be between 1 and {MAX_ORDER}, got {orders}")
    if len(set(orders)) != len(orders):
        raise ActionError("InvalidLoadBalancerAction", f"Action orders must be unique, got {sorted(orders)}")
    sequence = ordered(actions)
    terminal = [action for action in sequence if action.get("Type") in TERMINAL_TYPES]
    if len(terminal) != 1 or sequence[-1] is not terminal[0]:
        kinds = ", ".join(str(action.get("Type")) for action in sequence)
        raise ActionError(
            "InvalidLoadBalancerAction",
            f"A rule must have exactly one forward, fixed-response or redirect action, performed last; got {kinds}",
        )
    for action in sequence:
        kind = action.get("Type")
        if kind == "forward":
            _check_forward(action)
        elif kind in AUTHENTICATE_TYPES:
            # "Authenticate users using an Application Load Balancer", https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-authenticate-users.html
            if (protocol or "").upper() != "HTTPS":
                raise ActionError(
                    "InvalidLoadBalancerAction",
                    f"{kind} actions are supported only on HTTPS listeners, this listener is {protocol}",
                )
            if kind == "authenticate-oidc":
                _check_oidc(action.get("AuthenticateOidcConfig") or {}, modifying, previous_secret)
            else:
                _check_required(kind, action.get("AuthenticateCognitoConfig") or {}, COGNITO_REQUIRED)


def _check_forward(action: dict) -> None:
    # "Quotas for your Application Load Balancers", https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html
    groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
    if len(groups) > MAX_TARGET_GROUPS_PER_ACTION:
        raise ActionError(
            "ValidationError",
            f"A forward action can have at most {MAX_TARGET_GROUPS_PER_ACTION} target groups, got {len(groups)}",
        )
    for group in groups:
        weight = int(group.get("Weight", 1))
        if not 0 <= weight <= MAX_WEIGHT:
            raise ActionError("ValidationError", f"Weight must be between 0 and {MAX_WEIGHT}, got {weight}")
    arn = action.get("TargetGroupArn")
    if arn and groups and [group["TargetGroupArn"] for group in groups] != [arn]:
        raise ActionError(
            "ValidationError",
            "With both TargetGroupArn and ForwardConfig, ForwardConfig must hold that one target group only",
        )
    if not arn and not groups:
        raise ActionError("ValidationError", "A forward action needs TargetGroupArn or ForwardConfig.TargetGroups")


def _check_required(kind: str, config: dict, required: tuple[str, ...]) -> None:
    missing = [key for key in required if not config.get(key)]
    if missing:
        raise ActionError("ValidationError", f"{kind}: missing {', '.join(missing)}")


def _check_oidc(config: dict, modifying: bool, previous_secret: str | None) -> None:
    # "AuthenticateOidcActionConfig", https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_AuthenticateOidcActionConfig.html
    _check_required("authenticate-oidc", config, OIDC_REQUIRED)
    use_existing = bool(config.get("UseExistingClientSecret"))
    given = config.get("ClientSecret")
    if use_existing and given:
        raise ActionError("InvalidLoadBalancerAction", BOTH_SECRETS)
    if given:
        return
    if not modifying:
        raise ActionError(
            "InvalidLoadBalancerAction", "authenticate-oidc: ClientSecret is required when creating a rule"
        )
    if not use_existing:
        raise ActionError(
            "InvalidLoadBalancerAction",
            "authenticate-oidc: give ClientSecret, or UseExistingClientSecret true to keep the existing one",
        )
    if previous_secret is None:
        raise ActionError(
            "InvalidLoadBalancerAction",
            "authenticate-oidc: UseExistingClientSecret is true but the rule has no client secret to keep",
        )


def kept_secret(action: dict, previous_secret: str | None) -> str | None:
    """The client secret an (already checked) OIDC action keeps."""
    config = action.get("AuthenticateOidcConfig") or {}
    return config.get("ClientSecret") or (previous_secret if config.get("UseExistingClientSecret") else None)


def read_back(action: dict, position: int) -> dict:
    """The action as DescribeListeners / DescribeRules return it: with its Order (its position,
    counted from 1, when none was given), a forward always as ForwardConfig (plus
    TargetGroupArn when it has a single target group), authenticate configs with their
    defaults and never a client secret."""
    # "Action", https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_Action.html;
    # the shape as AWS answers it: docs/aws-behaviour.md
    shaped = {key: value for key, value in action.items() if value is not None}
    shaped["Order"] = int(action.get("Order") or position)
    kind = action.get("Type")
    if kind == "forward":
        groups = forward_weights(action)
        config = dict(action.get("ForwardConfig") or {})
        config["TargetGroups"] = [{"TargetGroupArn": arn, "Weight": weight} for arn, weight in groups]
        config["TargetGroupStickinessConfig"] = config.get("TargetGroupStickinessConfig") or {"Enabled": False}
        shaped["ForwardConfig"] = config
        shaped.pop("TargetGroupArn", None)
        if len(groups) == 1:
            shaped["TargetGroupArn"] = groups[0][0]
    elif kind == "authenticate-oidc":
        config = {**AUTHENTICATE_DEFAULTS, **(action.get("AuthenticateOidcConfig") or {})}
        config.pop("ClientSecret", None)
        config.pop("UseExistingClientSecret", None)
        shaped["AuthenticateOidcConfig"] = config
    elif kind == "authenticate-cognito":
        shaped["AuthenticateCognitoConfig"] = {
            **AUTHENTICATE_DEFAULTS,
            **(action.get("AuthenticateCognitoConfig") or {}),
        }
    return shaped
