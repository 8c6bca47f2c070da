"""The sandbox ALB's rule evaluation against ELBv2's documented semantics."""

import pytest

from kie_bluegreen.sandbox import alb_rules
from kie_bluegreen.sandbox.alb_rules import FixedResponse, Forward, Request, RuleError, evaluate

BLUE, GREEN, OTHER, DEFAULT = "arn:tg/blue", "arn:tg/green", "arn:tg/other", "arn:tg/default"


def forward(arn):
    return [{"Type": "forward", "TargetGroupArn": arn}]


def header_rule(priority, values, arn, name="x-client-mode"):
    return {"RuleArn": f"rule-{priority}", "Priority": str(priority), "IsDefault": False,
            "Conditions": [{"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": name, "Values": values}}],
            "Actions": forward(arn)}


def default_rule(actions=None):
    return {"RuleArn": "rule-default", "Priority": "default", "IsDefault": True, "Conditions": [],
            "Actions": actions or forward(DEFAULT)}


def request(headers=(), path="/kie-server/services/rest/server/containers/app", method="GET"):
    return Request(method, path, tuple(headers))


def target_of(rules, req):
    action = evaluate(rules, req)
    assert isinstance(action, Forward)
    return action.target_groups[0][0]


def test_lowest_priority_number_wins_whatever_the_listed_order():
    rules = [default_rule(), header_rule(20, ["blue"], OTHER), header_rule(10, ["blue"], BLUE)]
    assert target_of(rules, request([("x-client-mode", "blue")])) == BLUE


def test_priorities_compare_as_numbers_not_strings():
    rules = [default_rule(), header_rule(9, ["blue"], BLUE), header_rule(10, ["blue"], OTHER)]
    assert target_of(rules, request([("x-client-mode", "blue")])) == BLUE


def test_default_rule_applies_when_nothing_matches_and_comes_last():
    rules = [header_rule(1, ["green"], GREEN), default_rule()]
    assert target_of(rules, request()) == DEFAULT
    assert target_of(rules, request([("x-client-mode", "other")])) == DEFAULT


def test_header_name_is_case_insensitive():
    rules = [default_rule(), header_rule(1, ["green"], GREEN, name="X-Client-Mode")]
    assert target_of(rules, request([("x-CLIENT-mode", "green")])) == GREEN


def test_header_value_is_case_insensitive():
    rules = [default_rule(), header_rule(1, ["green"], GREEN)]
    assert target_of(rules, request([("x-client-mode", "GrEeN")])) == GREEN


def test_header_value_must_match_whole_not_a_prefix():
    rules = [default_rule(), header_rule(1, ["green"], GREEN)]
    assert target_of(rules, request([("x-client-mode", "greenish")])) == DEFAULT
    assert target_of(rules, request([("x-client-mode", "gree")])) == DEFAULT


@pytest.mark.parametrize("pattern, value, matches", [
    ("gr*", "green", True),
    ("gr*", "gr", True),  # * matches zero characters
    ("g?een", "green", True),
    ("g?een", "geen", False),  # ? matches exactly one
    ("*-beta", "tester-BETA", True),
    ("a.b", "axb", False),  # '.' is literal, not a regex
    ("(x)", "(x)", True),
])
def test_header_value_wildcards(pattern, value, matches):
    rules = [default_rule(), header_rule(1, [pattern], GREEN)]
    assert (target_of(rules, request([("x-client-mode", value)])) == GREEN) is matches


def test_any_of_the_values_matches():
    rules = [default_rule(), header_rule(1, ["alpha", "beta", "green"], GREEN)]
    assert target_of(rules, request([("x-client-mode", "beta")])) == GREEN


def test_more_than_three_values_is_refused():
    rules = [default_rule(), header_rule(1, ["a", "b", "c", "d"], GREEN)]
    with pytest.raises(RuleError, match="at most 3"):
        evaluate(rules, request([("x-client-mode", "a")]))


def test_a_header_sent_twice_matches_when_any_occurrence_matches():
    rules = [default_rule(), header_rule(1, ["green"], GREEN)]
    assert target_of(rules, request([("x-client-mode", "blue"), ("X-Client-Mode", "green")])) == GREEN


def test_all_conditions_of_a_rule_must_match():
    rule = header_rule(1, ["green"], GREEN)
    rule["Conditions"].append({"Field": "path-pattern", "PathPatternConfig": {"Values": ["/kie-server/*"]}})
    rules = [default_rule(), rule]
    assert target_of(rules, request([("x-client-mode", "green")])) == GREEN
    assert target_of(rules, request([("x-client-mode", "green")], path="/billing/x")) == DEFAULT


def test_path_pattern_is_case_sensitive_with_wildcards_and_legacy_values():
    rules = [default_rule(), {"RuleArn": "r", "Priority": "5", "Conditions": [
        {"Field": "path-pattern", "Values": ["/billing/*"]}], "Actions": forward(OTHER)}]
    assert target_of(rules, request(path="/billing/invoices")) == OTHER
    assert target_of(rules, request(path="/Billing/invoices")) == DEFAULT


def test_host_header_ignores_case_and_port():
    rules = [default_rule(), {"RuleArn": "r", "Priority": "5", "Conditions": [
        {"Field": "host-header", "HostHeaderConfig": {"Values": ["*.example.com"]}}], "Actions": forward(OTHER)}]
    assert target_of(rules, request([("Host", "KIE.Example.com:8080")])) == OTHER
    assert target_of(rules, request([("Host", "example.org")])) == DEFAULT


def test_fixed_response_action():
    rules = [default_rule(), {"RuleArn": "r", "Priority": "101", "Conditions": header_rule(1, ["green"], GREEN)["Conditions"],
                              "Actions": [{"Type": "fixed-response", "FixedResponseConfig": {
                                  "StatusCode": "404", "ContentType": "text/plain", "MessageBody": "no green"}}]}]
    action = evaluate(rules, request([("x-client-mode", "green")]))
    assert action == FixedResponse(404, "text/plain", "no green", "r")


def test_weighted_forward_keeps_every_group_and_weight():
    actions = [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": BLUE, "Weight": 90}, {"TargetGroupArn": GREEN, "Weight": 10}]}}]
    action = evaluate([default_rule(actions)], request())
    assert action.target_groups == ((BLUE, 90), (GREEN, 10))


def test_actions_are_taken_in_their_order():
    actions = [{"Type": "fixed-response", "Order": 2, "FixedResponseConfig": {"StatusCode": "503"}},
               {"Type": "forward", "Order": 1, "TargetGroupArn": BLUE}]
    assert target_of([default_rule(actions)], request()) == BLUE


def test_unsupported_action_is_reported_not_guessed():
    actions = [{"Type": "redirect", "RedirectConfig": {"StatusCode": "HTTP_301"}}]
    with pytest.raises(RuleError, match="redirect"):
        evaluate([default_rule(actions)], request())


def test_wildcard_match_is_anchored():
    assert alb_rules.wildcard_match("a*", "abc", ignore_case=False)
    assert not alb_rules.wildcard_match("b*", "abc", ignore_case=False)


def authenticated(kind="authenticate-oidc", **config):
    key = "AuthenticateOidcConfig" if kind == "authenticate-oidc" else "AuthenticateCognitoConfig"
    base = {"AuthorizationEndpoint": "https://idp.example.com/authorize"} if kind == "authenticate-oidc" else {
        "UserPoolArn": "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_abc", "UserPoolDomain": "orders"}
    return [{"Type": kind, "Order": 1, key: {**base, **config}},
            {"Type": "forward", "Order": 2, "TargetGroupArn": BLUE}]


def test_authenticate_without_a_session_redirects_to_the_identity_provider():
    action = evaluate([default_rule(authenticated())], request())
    assert action == alb_rules.LoginRedirect("https://idp.example.com/authorize", "rule-default")
    cognito = evaluate([default_rule(authenticated("authenticate-cognito"))], request())
    assert cognito.location == "https://orders.auth.eu-west-1.amazoncognito.com/oauth2/authorize"


def test_authenticate_with_deny_answers_401_and_with_allow_passes():
    denied = evaluate([default_rule(authenticated(OnUnauthenticatedRequest="deny"))], request())
    assert isinstance(denied, FixedResponse) and denied.status == 401
    assert target_of([default_rule(authenticated(OnUnauthenticatedRequest="allow"))], request()) == BLUE


def test_a_session_cookie_whole_or_sharded_passes_the_authenticate_action():
    rules = [default_rule(authenticated(SessionCookieName="kie-session"))]
    assert target_of(rules, request([("Cookie", "kie-session-0=a; kie-session-1=b")])) == BLUE
    assert target_of(rules, request([("Cookie", "other=1; kie-session=x")])) == BLUE
    assert isinstance(evaluate(rules, request([("Cookie", "AWSELBAuthSessionCookie-0=x")])), alb_rules.LoginRedirect)
