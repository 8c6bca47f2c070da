"""The header rules are never a way around the listener's login: every rule of ours runs the
default action's authenticate actions before it routes, through the whole story, and follows
when the default action's login changes. OIDC client secrets are never returned by AWS: the
runner rewrites an OIDC action with UseExistingClientSecret, and refuses (exit 2) to create a
rule it cannot give the secret to."""

from __future__ import annotations

import pytest
from helpers import COGNITO, assert_every_rule_logs_in_first, log_in_first, login_of, routing_generations, snapshot


@pytest.fixture
def world(https_world):
    """AWS accepts authenticate actions on HTTPS listeners only: this module's world has one."""
    return https_world


OIDC = {"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": {
    "Issuer": "https://idp.example.com", "AuthorizationEndpoint": "https://idp.example.com/auth",
    "TokenEndpoint": "https://idp.example.com/token", "UserInfoEndpoint": "https://idp.example.com/userinfo",
    "ClientId": "orders", "ClientSecret": "s3cret-value"}}


def test_a_cognito_login_guards_every_header_rule_through_the_story(run, aws, world, make_config):
    log_in_first(aws, world, COGNITO)
    path = make_config(retire={"keep": 2})
    story = [("init", "--version", "1.0.0"), ("deploy", "--version", "2.0.0"), ("promote",),
             ("deploy", "--version", "3.0.0", "--strategy", "weighted"), ("rollback",),
             ("rollback", "--generation", "1"), ("deploy", "--version", "4.0.0", "--strategy", "all-at-once")]
    for argv in story:
        result = run(path, *argv)
        assert result.code == 0, (argv, result.err)
        assert_every_rule_logs_in_first(aws, world)
        default = aws.elbv2.describe_listeners(ListenerArns=[world.listener_arn])["Listeners"][0]["DefaultActions"]
        (kind, config), = login_of(default)  # the default keeps its login too
        assert (kind, config["UserPoolClientId"]) == ("authenticate-cognito", "client-1"), argv
    assert routing_generations(aws, world.listener_arn) == {"default": 4, "blue": 4, "green": None}


def test_our_rules_follow_when_the_default_login_changes(run, aws, world, config_path):
    log_in_first(aws, world, COGNITO)
    assert run(config_path, "init", "--version", "1.0.0").code == 0
    changed = {**COGNITO, "AuthenticateCognitoConfig": {**COGNITO["AuthenticateCognitoConfig"], "UserPoolClientId": "client-2"}}
    log_in_first(aws, world, changed)
    status = run(config_path, "--output", "json", "status")
    assert [step["kind"] for step in status.json["pending"]] == ["sync-login", "sync-login"]
    result = run(config_path, "deploy", "--version", "2.0.0")
    assert result.code == 0, result.err
    assert_every_rule_logs_in_first(aws, world)


def test_an_oidc_login_cannot_be_given_to_a_new_rule(run, aws, world, config_path):
    log_in_first(aws, world, OIDC)
    before = snapshot(aws, world.listener_arn)
    result = run(config_path, "init", "--version", "1.0.0")
    assert result.code == 2
    assert "authenticate-oidc" in result.err and "never returns the OIDC client secret" in result.err
    assert "s3cret-value" not in result.err
    assert snapshot(aws, world.listener_arn)["rules"] == before["rules"]


def test_rules_that_already_log_in_with_oidc_are_rewritten_with_the_existing_secret(run, aws, world, config_path):
    log_in_first(aws, world, OIDC)
    for route, value, priority in (("blue", "blue", 100), ("green", "green", 101)):  # created by the operator
        aws.elbv2.create_rule(
            ListenerArn=world.listener_arn, Priority=priority,
            Conditions=[{"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "x-client-mode", "Values": [value]}}],
            Actions=[OIDC, {"Type": "fixed-response", "Order": 2, "FixedResponseConfig": {"StatusCode": "404"}}],
            Tags=[{"Key": "kie-bluegreen:app", "Value": "orders"}, {"Key": "kie-bluegreen:stage", "Value": "production"},
                  {"Key": "kie-bluegreen:rule", "Value": route}])
    for argv in (("init", "--version", "1.0.0"), ("deploy", "--version", "2.0.0"), ("promote",)):
        # AWS (and the model) refuse an OIDC rewrite that neither gives the secret nor keeps it
        result = run(config_path, *argv)
        assert result.code == 0, (argv, result.err)
    assert_every_rule_logs_in_first(aws, world)
    assert routing_generations(aws, world.listener_arn) == {"default": 2, "blue": 2, "green": None}


def test_the_default_action_keeps_its_login_when_rewritten(run, aws, world, config_path):
    login = COGNITO
    log_in_first(aws, world, login)
    for argv in (("init", "--version", "1.0.0"), ("deploy", "--version", "2.0.0", "--strategy", "all-at-once")):
        assert run(config_path, *argv).code == 0
    default = aws.elbv2.describe_listeners(ListenerArns=[world.listener_arn])["Listeners"][0]["DefaultActions"]
    assert [a["Type"] for a in sorted(default, key=lambda a: a.get("Order", 0))] == [login["Type"], "forward"]
