"""ELBv2 where moto differs from AWS (each rule's source is in docs/aws-behaviour.md):

- DescribeTargetHealth answers from the model's HealthBoard (unused while unreferenced,
  initial, healthy, unhealthy, draining), not moto's instant `healthy`;
- an http-header condition cannot name the Host header (ValidationError; moto accepts it);
- at most 100 rules per load balancer, default rules not counted (TooManyRules; moto has no
  limit);
- listener actions are checked as ELBv2 checks them (Order, one final forward/fixed-response/
  redirect, authenticate actions on HTTPS listeners only, the OIDC client secret rules, at most
  5 target groups per forward, weights 0 to 999);
- Describe* (and the Create*/Modify* answers) read actions back in AWS's shape: Order always,
  a forward as ForwardConfig plus TargetGroupArn when it has one target group, authenticate
  configs with their defaults and never the OIDC client secret (kept aside for
  UseExistingClientSecret).

DeleteTargetGroup is moto's own: it already refuses (ResourceInUse) a group any listener action
references, weight 0 and default actions included.
"""

from __future__ import annotations

from moto.backends import get_backend
from moto.elbv2.exceptions import ELBClientError, TargetGroupNotFoundError
from moto.elbv2.models import ELBv2Backend, FakeAction, FakeHealthStatus

from . import actions as action_rules
from .patching import Patch, original
from .target_health import DESCRIPTIONS, NOT_REGISTERED, UNUSED

_describe_target_health = original(ELBv2Backend, "describe_target_health")
_create_listener = original(ELBv2Backend, "create_listener")
_modify_listener = original(ELBv2Backend, "modify_listener")
_create_rule = original(ELBv2Backend, "create_rule")
_modify_rule = original(ELBv2Backend, "modify_rule")
# "Quotas for your Application Load Balancers" (default rules excluded), https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html
RULES_PER_LOAD_BALANCER = 100


def _model():
    from .model import current

    return current()


# -- target health ---------------------------------------------------------------------------

def describe_target_health(self, target_group_arn: str, targets: list[dict]) -> list[FakeHealthStatus]:
    # "TargetHealth", https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetHealth.html
    model = _model()
    if model is None:
        return _describe_target_health(self, target_group_arn, targets)
    group = self.target_groups.get(target_group_arn)
    if group is None:
        raise TargetGroupNotFoundError()
    health = model.board(self.region_name, self.account_id).health(target_group_arn)
    wanted = [target["Id"] for target in targets] if targets else list(health)
    answers = []
    for target_id in wanted:
        known = health.get(target_id)
        port = _port(group, target_id)
        if known is None:  # never registered, or deregistered and drained
            answers.append(FakeHealthStatus(target_id, port, group.health_check_port, UNUSED, NOT_REGISTERED,
                                            DESCRIPTIONS[NOT_REGISTERED]))
        else:
            answers.append(FakeHealthStatus(target_id, port, group.health_check_port, known.state, known.reason,
                                            known.description))
    return answers


def _port(group, target_id: str):
    for registry in (group.targets, group.deregistered_targets, group.terminated_targets):
        if target_id in registry:
            return registry[target_id].get("Port", group.port)
    return group.port


# -- listener actions ------------------------------------------------------------------------

def create_listener(self, load_balancer_arn, protocol, port, ssl_policy, certificate, actions,
                    alpn_policy=None, tags=None):
    if _model() is not None:
        _check(actions, protocol, modifying=False)
    listener = _create_listener(self, load_balancer_arn, protocol, port, ssl_policy, certificate, actions,
                                alpn_policy, tags)
    if _model() is not None:
        _store_default_actions(listener, actions, previous_secret=None)
    return listener


def modify_listener(self, arn, port=None, protocol=None, ssl_policy=None, certificates=None, actions=None):
    if _model() is None or not actions:
        return _modify_listener(self, arn, port, protocol, ssl_policy, certificates, actions)
    listener = self.describe_listeners(load_balancer_arn=None, listener_arns=[arn])[0]
    previous = _secret_of(listener.default_actions)
    _check(actions, protocol or listener.protocol, modifying=True, previous_secret=previous)
    listener = _modify_listener(self, arn, port, protocol, ssl_policy, certificates, actions)
    _store_default_actions(listener, actions, previous)
    return listener


def create_rule(self, listener_arn, conditions, priority, actions, tags=None):
    if _model() is not None:
        _check_conditions(conditions)
        listener = self.describe_listeners(None, [listener_arn])[0]
        _check(actions, listener.protocol, modifying=False)
        balancer = self.load_balancers[listener.load_balancer_arn]
        rules = sum(len(other._non_default_rules) for other in balancer.listeners.values())
        if rules >= RULES_PER_LOAD_BALANCER:
            raise ELBClientError("TooManyRules", "You've reached the limit on the number of rules per load balancer.")
    rule = _create_rule(self, listener_arn, conditions, priority, actions, tags)
    if _model() is not None:
        rule.actions = _shaped(actions, previous_secret=None)
    return rule


def modify_rule(self, rule_arn, conditions, actions):
    if _model() is not None:
        _check_conditions(conditions or [])
    if _model() is None or not actions:
        return _modify_rule(self, rule_arn, conditions, actions)
    rule = self.describe_rules(listener_arn=None, rule_arns=[rule_arn])[0]
    listener = self.describe_listeners(None, [rule.listener_arn])[0]
    previous = _secret_of(rule.actions)
    _check(actions, listener.protocol, modifying=True, previous_secret=previous)
    rule = _modify_rule(self, rule_arn, conditions, actions)
    rule.actions = _shaped(actions, previous)
    if getattr(rule, "is_default", False):
        listener.default_actions = rule.actions
    return rule


def _check_conditions(conditions: list[dict]) -> None:
    """No http-header condition on Host ("You can't use an HTTP header condition to specify the host header")."""
    # "HttpHeaderConditionConfig", https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_HttpHeaderConditionConfig.html
    for condition in conditions:
        name = (condition.get("HttpHeaderConfig") or {}).get("HttpHeaderName", "")
        if condition.get("Field") == "http-header" and name.lower() == "host":
            raise ELBClientError("ValidationError", "An http-header condition cannot match the Host header;"
                                                    " use a host-header condition")


def _check(actions: list[dict], protocol: str, modifying: bool, previous_secret: str | None = None) -> None:
    try:
        action_rules.check(actions, protocol, modifying, previous_secret)
    except action_rules.ActionError as exc:
        raise ELBClientError(exc.code, exc.message) from None


def _shaped(actions: list[dict], previous_secret: str | None) -> list[FakeAction]:
    shaped = []
    for position, action in enumerate(action_rules.ordered(actions), start=1):
        fake = FakeAction(action_rules.read_back(action, position))
        fake._client_secret = action_rules.kept_secret(action, previous_secret)  # never read back
        shaped.append(fake)
    return shaped


def _store_default_actions(listener, actions: list[dict], previous_secret: str | None) -> None:
    shaped = _shaped(actions, previous_secret)
    listener.default_actions = shaped
    listener._default_rule[0].actions = shaped


def _secret_of(fake_actions) -> str | None:
    return next((getattr(action, "_client_secret", None) for action in fake_actions
                 if getattr(action, "_client_secret", None)), None)


def reshape_existing() -> list[tuple[str, str]]:
    """Give the listeners and rules made before the model was installed AWS's read-back shape
    (their client secrets set aside), so installing before or after building a world is alike.
    Returns the (account, region) pairs that hold target groups or load balancers."""
    found = []
    for account, regions in list(get_backend("elbv2").items()):
        for region, backend in list(regions.items()):
            if backend.target_groups or backend.load_balancers:
                found.append((account, region))
            for balancer in list(backend.load_balancers.values()):
                for listener in list(balancer.listeners.values()):
                    for rule in list(listener.rules.values()):
                        rule.actions = _shaped([_with_secret(action) for action in rule.actions], None)
                    listener.default_actions = listener._default_rule[0].actions
    return found


def _with_secret(fake: FakeAction) -> dict:
    secret = getattr(fake, "_client_secret", None)
    if not secret:
        return fake.data
    return {**fake.data, "AuthenticateOidcConfig": {**fake.data["AuthenticateOidcConfig"], "ClientSecret": secret}}


def patches() -> list[Patch]:
    return [
        Patch(ELBv2Backend, "describe_target_health", describe_target_health),
        Patch(ELBv2Backend, "create_listener", create_listener),
        Patch(ELBv2Backend, "modify_listener", modify_listener),
        Patch(ELBv2Backend, "create_rule", create_rule),
        Patch(ELBv2Backend, "modify_rule", modify_rule),
    ]
