"""How an Application Load Balancer picks the action for one request. Pure functions.

Input is the listener's rules exactly as `describe_rules` returns them (API shape), so the
sandbox evaluates the same data the runner wrote. Semantics follow the ELBv2 documentation:

- rules are tried by priority, lowest number first; the default rule (IsDefault) comes last;
- a rule matches when every condition matches (AND); a condition with several values matches
  when any value matches (OR, at most 3 values);
- http-header: the header name is case-insensitive, values are case-insensitive with `*`
  (zero or more characters) and `?` (exactly one); a header sent several times matches if
  any of its occurrences matches;
- host-header: case-insensitive with wildcards; path-pattern: case-sensitive with wildcards,
  against the path only (no query string); http-request-method: exact, case-sensitive;
- actions run in their Order: authenticate-oidc / authenticate-cognito first ("Authenticate
  users using an Application Load Balancer"): a request that carries the action's session
  cookie (SessionCookieName, default AWSELBAuthSessionCookie, possibly sharded as -0, -1 ...)
  passes; one without it gets what OnUnauthenticatedRequest says: `authenticate` (default) a
  302 redirect to the IdP's authorization endpoint, `deny` 401, `allow` passes. The cookie's
  content is not verified (there is no IdP here). Then the first forward or fixed-response is
  the routing action (a redirect action is not emulated: such a rule answers 500 with the
  reason).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from http.cookies import CookieError, SimpleCookie

from .aws_model import actions as action_rules

MAX_VALUES_PER_CONDITION = 3


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query string
    headers: tuple[tuple[str, str], ...]  # in arrival order, names as sent

    def header_values(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]


@dataclass(frozen=True)
class Forward:
    target_groups: tuple[tuple[str, int], ...]  # (target group ARN, weight)
    rule_arn: str


@dataclass(frozen=True)
class FixedResponse:
    status: int
    content_type: str
    body: str
    rule_arn: str


@dataclass(frozen=True)
class LoginRedirect:
    """An unauthenticated request sent to the identity provider (302)."""
    location: str
    rule_arn: str


Action = Forward | FixedResponse | LoginRedirect
UNAUTHORIZED_BODY = "<html><body><h1>401 Authorization Required</h1></body></html>"


class RuleError(ValueError):
    """A rule the evaluator cannot interpret (not a limitation to hide: it is reported)."""


@lru_cache(maxsize=1024)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern:
    body = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.compile(f"^{body}$", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def wildcard_match(pattern: str, text: str, ignore_case: bool) -> bool:
    return _wildcard(pattern, ignore_case).match(text) is not None


def _condition_values(condition: dict, config_key: str) -> list[str]:
    # The API accepts both the typed config (PathPatternConfig.Values) and the legacy
    # top-level Values; describe_rules may return either or both.
    values = (condition.get(config_key) or {}).get("Values") or condition.get("Values") or []
    if len(values) > MAX_VALUES_PER_CONDITION:
        raise RuleError(f"{condition.get('Field')}: {len(values)} values, ALB allows at most {MAX_VALUES_PER_CONDITION}")
    return list(values)


def condition_matches(condition: dict, request: Request) -> bool:
    field = condition.get("Field")
    if field == "http-header":
        config = condition.get("HttpHeaderConfig") or {}
        name = config.get("HttpHeaderName")
        if not name:
            raise RuleError("http-header condition without HttpHeaderName")
        values = _condition_values(condition, "HttpHeaderConfig")
        sent = request.header_values(name)
        return any(wildcard_match(value, text, ignore_case=True) for value in values for text in sent)
    if field == "path-pattern":
        values = _condition_values(condition, "PathPatternConfig")
        return any(wildcard_match(value, request.path, ignore_case=False) for value in values)
    if field == "host-header":
        values = _condition_values(condition, "HostHeaderConfig")
        host = (request.header_values("host") or [""])[0].split(":")[0]
        return any(wildcard_match(value, host, ignore_case=True) for value in values)
    if field == "http-request-method":
        values = _condition_values(condition, "HttpRequestMethodConfig")
        return request.method in values
    raise RuleError(f"condition field {field!r} is not supported by the sandbox ALB")


def rule_matches(rule: dict, request: Request) -> bool:
    if rule.get("IsDefault"):
        return True
    conditions = rule.get("Conditions") or []
    if not conditions:
        raise RuleError(f"rule {rule.get('RuleArn')} has no condition; only the default rule may")
    return all(condition_matches(condition, request) for condition in conditions)


def ordered(rules: list[dict]) -> list[dict]:
    """Evaluation order: numeric priorities ascending, then the default rule."""
    return sorted(rules, key=lambda rule: (1, 0) if rule.get("IsDefault") else (0, int(rule["Priority"])))


def routing_action(rule: dict, request: Request | None = None) -> Action:
    """The rule's answer to the request: its authenticate actions first (without a request they
    let everything pass), then its first forward or fixed-response."""
    arn = rule.get("RuleArn", "")
    actions = action_rules.ordered(rule.get("Actions") or [])
    for action in actions:
        kind = action.get("Type")
        if kind in action_rules.AUTHENTICATE_TYPES:
            refused = _unauthenticated(action, request, arn)
            if refused is not None:
                return refused
            continue
        if kind == "forward":
            pairs = tuple(action_rules.forward_weights(action))
            if not pairs:
                raise RuleError(f"rule {arn}: forward action without a target group")
            return Forward(pairs, arn)
        if kind == "fixed-response":
            config = action.get("FixedResponseConfig") or {}
            return FixedResponse(int(config.get("StatusCode", 200)), config.get("ContentType") or "text/plain",
                                 config.get("MessageBody") or "", arn)
    kinds = ", ".join(str(action.get("Type")) for action in actions) or "none"
    raise RuleError(f"rule {arn}: actions {kinds}; the sandbox ALB serves forward and fixed-response only")


def _unauthenticated(action: dict, request: Request | None, rule_arn: str) -> Action | None:
    """What an authenticate action answers a request without a session, or None to go on."""
    # "Authenticate users using an Application Load Balancer", https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-authenticate-users.html
    config = action.get("AuthenticateOidcConfig") or action.get("AuthenticateCognitoConfig") or {}
    cookie = config.get("SessionCookieName") or action_rules.AUTHENTICATE_DEFAULTS["SessionCookieName"]
    if request is None or has_session(request, cookie):
        return None
    behaviour = config.get("OnUnauthenticatedRequest") or action_rules.AUTHENTICATE_DEFAULTS["OnUnauthenticatedRequest"]
    if behaviour == "allow":
        return None
    if behaviour == "deny":
        return FixedResponse(401, "text/html", UNAUTHORIZED_BODY, rule_arn)
    return LoginRedirect(login_url(action), rule_arn)


def has_session(request: Request, cookie_name: str) -> bool:
    """The request carries the authentication session cookie, whole or sharded (-0, -1 ...)."""
    names = set()
    for header in request.header_values("cookie"):
        try:
            names.update(SimpleCookie(header).keys())
        except CookieError:
            continue
    return cookie_name in names or any(re.fullmatch(re.escape(cookie_name) + r"-\d+", name) for name in names)


def login_url(action: dict) -> str:
    """Where `authenticate` sends an unauthenticated request: the OIDC authorization endpoint,
    or the Cognito user pool domain's authorize endpoint."""
    if action.get("Type") == "authenticate-oidc":
        return (action.get("AuthenticateOidcConfig") or {}).get("AuthorizationEndpoint", "")
    config = action.get("AuthenticateCognitoConfig") or {}
    domain = config.get("UserPoolDomain", "")
    if "." not in domain:  # a domain prefix: <prefix>.auth.<region>.amazoncognito.com
        region = (config.get("UserPoolArn") or "::::").split(":")[3]
        domain = f"{domain}.auth.{region}.amazoncognito.com"
    return f"https://{domain}/oauth2/authorize"


def evaluate(rules: list[dict], request: Request) -> Action:
    """The action the listener applies to the request. `rules` must include the default rule."""
    for rule in ordered(rules):
        if rule_matches(rule, request):
            return routing_action(rule, request)
    raise RuleError("the listener has no default rule")
